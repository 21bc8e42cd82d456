"""Inbound e-mail: from the raw RFC 5322 bytes to the message, contact and threading hints the inbox stores."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime
from typing import Any

from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    Contact,
    ContactIdentifier,
    Inbound,
    InboundMessage,
    PayloadInvalid,
)
from xuyen.channels.email import headers as fields
from xuyen.channels.email.compose import message_ids, normalise_message_id
from xuyen.channels.email.reports import read_report
from xuyen.channels.email.text import clean, html_to_text, split_reply, squeeze_blank_lines, without_marks
from xuyen.channels.email.tokens import TOKEN_MARK, read_token, token_of

MAX_TEXT_CHARS = 100_000
TRUNCATED_FIELD = b"X-Xuyen-Truncated:"
# Fields that name the address a message was delivered to, most telling first.
RECIPIENT_FIELDS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|auto[- ]?response|out of (the )?office|(thư )?trả lời tự động)\b",
    re.IGNORECASE,
)
_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster"})
_AUTO_PRECEDENCE = frozenset({"bulk", "auto_reply", "junk", "list"})


def synthetic_message_id(raw: bytes) -> str:
    """The id of a message that has no Message-ID: a digest of its bytes, stable however often it is fetched."""
    return f"sha256.{hashlib.sha256(raw).hexdigest()[:40]}@xuyen.invalid"


def provider_id_of(raw: bytes) -> str:
    """The normalised Message-ID of raw mail, read from its header alone, or the synthetic id."""
    try:
        head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        found = normalise_message_id(fields.raw_header(head, "Message-ID"))
    except Exception:  # unreadable header: fall back to the digest
        found = None
    return found or synthetic_message_id(raw)


def _leaves(part: Message, section: str = "", parent: str = "") -> Iterator[tuple[str, Message, str]]:
    """Every leaf part with its IMAP section number and its parent's multipart subtype; attached messages are
    leaves, not opened."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        subtype = part.get_content_subtype()
        subs = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        for index, sub in enumerate(subs, start=1):
            yield from _leaves(sub, f"{section}.{index}" if section else str(index), subtype)
    else:
        yield section or "1", part, parent


def find_part(message: Message, section: str) -> Message | None:
    """The leaf part at an IMAP section number (as ``Attachment.meta["section"]`` gives it)."""
    for number, leaf, _parent in _leaves(message):
        if number == section:
            return leaf
    return None


def _content(part: Message) -> str:
    with suppress(Exception):  # unknown charsets or broken encodings: decode by hand below
        value = part.get_content()  # type: ignore[attr-defined]
        if isinstance(value, str):
            return fields.fix_8bit(value)
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    raw = part.get_payload()
    return raw if isinstance(raw, str) else ""


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed text joined back into paragraphs."""
    out: list[str] = []
    held: str | None = None
    held_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        body = line[depth:]
        if body.startswith(" "):
            body = body[1:]
        if held is not None and depth != held_depth:
            out.append(held)
            held = None
        if held is None:
            held, held_depth = (">" * depth + (" " if depth else "")) + body, depth
        else:
            held += body
        if body.endswith(" ") and body != "-- ":
            if delsp:
                held = held[:-1]
            continue
        out.append(held)
        held = None
    if held is not None:
        out.append(held)
    return "\n".join(out)


def _part_text(part: Message) -> str:
    content = _content(part)
    if part.get_content_subtype() == "html":
        return clean(html_to_text(content))
    content = clean(content)
    if (part.get_param("format") or "").lower() == "flowed":  # type: ignore[union-attr]
        content = _unflow(content, (part.get_param("delsp") or "").lower() == "yes")  # type: ignore[union-attr]
    return content


def _kind(content_type: str) -> AttachmentKind:
    maintype = content_type.partition("/")[0]
    return {"image": AttachmentKind.IMAGE, "video": AttachmentKind.VIDEO,
            "audio": AttachmentKind.AUDIO}.get(maintype, AttachmentKind.FILE)


def _size(part: Message) -> int | None:
    try:
        if part.get_content_maintype() == "message":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return len(inner[0].as_bytes())
            return None
        payload = part.get_payload(decode=True)
        return len(payload) if isinstance(payload, bytes) else None
    except Exception:  # size unknown
        return None


def _name(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a broken filename parameter
        name = None
    if name:
        return clean(fields.fix_8bit(name)).strip() or None
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        subject = fields.text(inner[0], "Subject") if isinstance(inner, list) and inner and isinstance(
            inner[0], Message) else None
        return f"{subject or 'message'}.eml"
    return None


def _body_and_attachments(message: Message) -> tuple[str, list[Attachment]]:
    try:
        body = message.get_body(preferencelist=("plain", "html"))  # type: ignore[attr-defined]
    except Exception:  # a broken structure: no preferred body
        body = None
    texts: list[str] = []
    attachments: list[Attachment] = []
    for section, part, parent in _leaves(message):
        content_type = part.get_content_type()
        disposition = part.get_content_disposition()
        name = _name(part)
        if part is body:
            texts.insert(0, _part_text(part))
            continue
        is_text = content_type in ("text/plain", "text/html") or part.get_content_maintype() == "multipart"
        if is_text and disposition != "attachment" and not part.get_filename():
            if parent != "alternative" and (content_type == "text/plain" or body is None):
                texts.append(_part_text(part))
            continue
        meta: dict[str, Any] = {"section": section}
        if disposition == "inline":
            meta["inline"] = True
        content_id = fields.raw_header(part, "Content-ID")
        if content_id:
            meta["content_id"] = content_id.strip().strip("<>")
        attachments.append(Attachment(kind=_kind(content_type), name=name, mime_type=content_type,
                                      size_bytes=_size(part), meta=meta))
    return squeeze_blank_lines("\n\n".join(text for text in texts if text.strip())), attachments


def _sent_at(message: Message, now: datetime) -> datetime:
    moment: datetime | None = None
    try:
        header = message.get("Date")
        moment = getattr(header, "datetime", None)
    except Exception:  # fall back to the raw value
        moment = None
    if moment is None:
        raw = fields.raw_header(message, "Date")
        try:
            moment = parsedate_to_datetime(raw) if raw else None
        except (TypeError, ValueError, IndexError):
            moment = None
    if moment is None:
        return now
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def auto_reply_reason(message: Message, sender: str, subject: str | None) -> str | None:
    """Why a message was written by a machine (RFC 3834 and the common conventions), or None."""
    auto_submitted = (fields.raw_header(message, "Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = (fields.raw_header(message, "Precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Failed-Recipients"):
        value = fields.raw_header(message, name)
        if value is not None and value.strip().lower() != "no":
            return name
    if fields.raw_header(message, "List-Id") is not None or fields.raw_header(message, "List-Unsubscribe") is not None:
        return "mailing list"
    return_path = fields.raw_header(message, "Return-Path")
    if return_path is not None and return_path.replace(" ", "") == "<>":
        return "null sender (Return-Path: <>)"
    if sender.partition("@")[0].split("+")[0] in _SYSTEM_SENDERS:
        return "mail system sender"
    if subject and _AUTO_SUBJECT.match(subject):
        return "automatic reply subject"
    return None


def _token_hints(message: Message, secret: bytes) -> dict[str, Any]:
    candidates: list[str] = []
    for name in RECIPIENT_FIELDS:
        for _display, spec in fields.addresses(message, name):
            if token_of(spec) is not None and spec not in candidates:
                candidates.append(spec)
    for spec in candidates:
        token = token_of(spec)
        thread_key = read_token(secret, token) if token is not None else None
        if thread_key is not None:
            return {"thread_key": thread_key, "reply_token": "valid"}
    return {"reply_token": "invalid"} if candidates else {}


def _base(address: str) -> str:
    local, _, domain = address.lower().rpartition("@")
    if TOKEN_MARK in local:
        local = local.rpartition(TOKEN_MARK)[0]
    return f"{local}@{domain}"


def _truncated_size(raw: bytes) -> int | None:
    if not raw.startswith(TRUNCATED_FIELD):
        return None
    line = raw[len(TRUNCATED_FIELD):raw.find(b"\n")]
    try:
        return int(line.strip())
    except ValueError:
        return None


def _limit(text: str) -> tuple[str, bool]:
    if len(text) <= MAX_TEXT_CHARS:
        return text, False
    return text[:MAX_TEXT_CHARS].rstrip() + "\n[…]", True


def read_message(raw: bytes, *, provider_id: str | None, our_address: str, secret: bytes,
                 now: datetime) -> list[Inbound]:
    """What one raw e-mail carries: an InboundMessage, or the status updates of a delivery report."""
    if not raw or not raw.strip():
        raise PayloadInvalid("The e-mail is empty; there is nothing to read. It is left in the mailbox as it is.")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    report = read_report(message, now=now)
    if report is not None:
        return list(report)
    senders = fields.addresses(message, "From") or fields.addresses(message, "Sender")
    if not senders:
        raise PayloadInvalid("The e-mail has no sender address (no usable From field), so it cannot be answered; "
                             "it is left in the mailbox for someone to read there.")
    display_name, sender = senders[0]
    message_id = normalise_message_id(fields.raw_header(message, "Message-ID"))
    hints: dict[str, Any] = {}
    if message_id is None:
        message_id = provider_id or synthetic_message_id(raw)
        hints["synthetic_message_id"] = True
    subject = fields.text(message, "Subject") or None
    hints.update(_token_hints(message, secret))
    in_reply_to = message_ids(fields.raw_header(message, "In-Reply-To"))
    references = message_ids(" ".join(fields.raw_headers(message, "References")))
    if in_reply_to:
        hints["in_reply_to"] = in_reply_to
    if references:
        hints["references"] = references
    reason = auto_reply_reason(message, sender, subject)
    if reason:
        hints["auto_reply"] = True
        hints["auto_reply_reason"] = reason
    if _base(sender) == _base(our_address):
        hints["from_self"] = True
    body, attachments = _body_and_attachments(message)
    reply = split_reply(body)
    full = without_marks(body)
    truncated_size = _truncated_size(raw)
    if truncated_size is not None:
        hints["truncated_bytes"] = truncated_size
        note = (f"[This e-mail is {truncated_size / 1_048_576:.1f} MB, more than the channel fetches; only its "
                "header was read. Open it in the mailbox to see the rest.]")
        reply = f"{reply}\n\n{note}".strip()
    reply, cut = _limit(reply)
    if full != reply and truncated_size is None:
        full, _ = _limit(full)
        hints["full_text"] = full
    if cut:
        hints["text_truncated"] = True
    traits: dict[str, Any] = {}
    reply_to = fields.addresses(message, "Reply-To")
    if reply_to and reply_to[0][1] != sender:
        traits["reply_to"] = reply_to[0][1]
    contact = Contact(identifiers=(ContactIdentifier("email", sender),), name=display_name or None, traits=traits)
    return [InboundMessage(
        provider_message_id=message_id,
        contact=contact,
        sent_at=_sent_at(message, now),
        text=reply,
        attachments=tuple(attachments),
        subject=subject,
        thread_hints=hints,
        reply_to_provider_id=in_reply_to[0] if in_reply_to else None,
    )]
