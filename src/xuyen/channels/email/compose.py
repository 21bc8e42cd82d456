"""Outbound e-mail: the MIME message, our Message-IDs, and the threading headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

# Headers the adapter writes itself; an outbound message's own headers may not set them.
PROTECTED_HEADERS = frozenset({
    "from", "sender", "to", "cc", "bcc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding", "content-disposition", "return-path",
})
PRIVATE_PREFIX = "x-xuyen-"
THREAD_HEADER = "X-Xuyen-Thread"
MAX_REFERENCES = 20
# 7-bit output: non-ASCII headers become encoded words, bodies quoted-printable or base64 (whichever is
# shorter), so the message passes any relay, with or without 8BITMIME.
SEND_POLICY = policy.SMTP.clone(cte_type="7bit")
_MESSAGE_ID_LABEL = b"xuyen/email/message-id/v1\x00"
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable US-ASCII but the colon
_MSG_ID = re.compile(r"<([^<>]+)>")


class ComposeError(ValueError):
    """The outbound message cannot be written as an e-mail (a bad address or header)."""


@dataclass(frozen=True)
class FileToAttach:
    """One downloaded attachment: its name, MIME type and bytes."""

    name: str
    mime_type: str
    content: bytes


def normalise_message_id(value: str | None) -> str | None:
    """A Message-ID as the inbox stores it: the text inside the angle brackets, no whitespace."""
    if not value:
        return None
    found = _MSG_ID.search(value)
    text = found.group(1) if found else value.strip().split()[0] if value.strip() else ""
    text = re.sub(r"\s+", "", text)
    return text[:995] or None


def message_ids(value: str | None) -> list[str]:
    """Every Message-ID in an In-Reply-To or References value, in order, each once."""
    if not value:
        return []
    found = [normalise_message_id(f"<{inner}>") for inner in _MSG_ID.findall(value)]
    if not found:
        found = [normalise_message_id(word) for word in value.split()]
    seen: dict[str, None] = {}
    for item in found:
        if item and "@" in item:
            seen.setdefault(item, None)
    return list(seen)[:100]


def message_id_for(secret: bytes, idempotency_key: str, domain: str) -> str:
    """Our Message-ID (normalised, without brackets) for a send; the same key always gives the same id."""
    digest = hmac.new(secret, _MESSAGE_ID_LABEL + idempotency_key.encode("utf-8"), hashlib.sha256).digest()
    token = base64.b32encode(digest[:20]).decode("ascii").rstrip("=").lower()
    return f"xuyen.{token}@{domain}"


def references_for(reply_to: str | None, earlier: str | None) -> tuple[str | None, list[str]]:
    """In-Reply-To and References for a reply: the earlier chain, then the message answered, trimmed."""
    chain = message_ids(earlier)
    parent = normalise_message_id(reply_to)
    if parent:
        chain = [item for item in chain if item != parent] + [parent]
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1):]
    return parent, chain


def extra_headers(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The outbound message's own headers that go out as they are: not ours, not private, well formed."""
    out: list[tuple[str, str]] = []
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(PRIVATE_PREFIX) or lowered in PROTECTED_HEADERS:
            continue
        if not _HEADER_NAME.match(name):
            raise ComposeError(f"the header name {name!r} is not valid")
        if "\r" in value or "\n" in value:
            raise ComposeError(f"the header {name} has a line break in its value")
        out.append((name, value))
    return out


def address(addr_spec: str, display_name: str = "") -> Address:
    """An address header value; ComposeError when ``addr_spec`` is not a usable address."""
    if "\r" in addr_spec or "\n" in addr_spec or "\r" in display_name or "\n" in display_name:
        raise ComposeError("an address has a line break in it")
    try:
        parsed = Address(display_name=display_name, addr_spec=addr_spec)
    except (ValueError, IndexError, TypeError) as exc:
        raise ComposeError(f"{addr_spec!r} is not an e-mail address") from exc
    if not parsed.username or not parsed.domain or parsed.addr_spec != addr_spec:
        raise ComposeError(f"{addr_spec!r} is not an e-mail address")
    return parsed


def build_message(*, sender: Address, recipient: Address, reply_to: Address | None, subject: str, text: str,
                  message_id: str, in_reply_to: str | None, references: Iterable[str],
                  headers: Iterable[tuple[str, str]] = (), files: Iterable[FileToAttach] = (),
                  now: datetime | None = None, html: str | None = None) -> EmailMessage:
    """The MIME message: text/plain in UTF-8 (with ``html``: multipart/alternative, the plain text first, then the
    HTML), attachments after it, our headers in order."""
    message = EmailMessage(policy=SEND_POLICY)
    message["From"] = sender
    message["To"] = recipient
    if reply_to is not None:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    chain = list(references)
    if chain:
        message["References"] = " ".join(f"<{item}>" for item in chain)
    for name, value in headers:
        message[name] = value
    message.set_content(text.replace("\r\n", "\n").replace("\r", "\n"), subtype="plain", charset="utf-8")
    if html:
        message.add_alternative(html.replace("\r\n", "\n").replace("\r", "\n"), subtype="html", charset="utf-8")
    for item in files:
        maintype, _, subtype = item.mime_type.partition("/")
        if not subtype or maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.name)
    return message
