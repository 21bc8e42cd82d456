"""The e-mail channel: SMTP to send, IMAP to fetch, signed reply addresses to thread the answers."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import ClassVar
from urllib.parse import unquote, urlsplit

import httpx

from xuyen.channels.base import (
    Attachment,
    AttachmentKind,
    Capabilities,
    ChannelAdapter,
    ChannelError,
    Inbound,
    OutboundMessage,
    PayloadInvalid,
    PolledItem,
    PollResult,
    SendFailed,
    SendResult,
    SignatureInvalid,
    WebhookRequest,
)
from xuyen.channels.email import compose, imap, reading, smtp, tokens

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": {"ssl": 465, "starttls": 587, "none": 25}, "imap": {"ssl": 993, "starttls": 143, "none": 143}}
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # all files of one message; base64 makes it ~27 MB, under common limits
MIN_SECRET_LENGTH = 16
_YES = frozenset({"yes", "true", "1", "on"})
_NO = frozenset({"no", "false", "0", "off", ""})


def _flag(settings: Mapping[str, str], name: str, default: bool) -> bool:
    value = (settings.get(name) or "").strip().lower()
    if not value:
        return default
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ChannelError(f"The {name} setting takes yes or no, not {value!r}.")


def _security(settings: Mapping[str, str], name: str, default: str) -> str:
    value = (settings.get(name) or default).strip().lower()
    if value not in smtp.SECURITY:
        raise ChannelError(f"The {name} setting takes ssl, starttls or none, not {value!r}.")
    return value


def _port(settings: Mapping[str, str], name: str, default: int) -> int:
    value = (settings.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ChannelError(f"The {name} setting takes a port number (1-65535), not {value!r}.")
    return int(value)


def _idna(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ChannelError(f"The domain {domain!r} of the channel's address is not a valid domain name.") from exc


class EmailAdapter(ChannelAdapter):
    """A shop mailbox: replies go out over SMTP, customer mail is fetched over IMAP.

    Every reply carries a Reply-To address with a signed token of its conversation (``cskh+r-…@shop.vn``), so
    the customer's answer finds its thread even when their mail program drops In-Reply-To.
    """

    kind: ClassVar[str] = "email"
    label: ClassVar[str] = "E-mail"
    capabilities: ClassVar[Capabilities] = Capabilities(text=True, attachments=True, templates=False, subject=True,
                                                        polled=True, address_types=("email",), html=True)
    settings_fields: ClassVar[Mapping[str, str]] = {
        "address": "The shop's mailbox customers write to, e.g. cskh@shop.vn",
        "display_name": "The sender name customers see, e.g. Shop Áo Dài Hà Nội",
        "smtp_host": "Outgoing mail (SMTP) server, e.g. smtp.gmail.com",
        "smtp_port": "SMTP port; empty: 465 for ssl, 587 for starttls, 25 for none",
        "smtp_security": "SMTP security: ssl, starttls or none (default starttls)",
        "imap_host": "Incoming mail (IMAP) server, e.g. imap.gmail.com",
        "imap_port": "IMAP port; empty: 993 for ssl, 143 for starttls or none",
        "imap_security": "IMAP security: ssl, starttls or none (default ssl)",
        "imap_folder": "The folder to fetch from (default INBOX)",
        "username": "The login name for SMTP and IMAP (default: the address)",
        "mark_seen": "yes to mark fetched mail as read in the mailbox (default no)",
        "import_existing": "yes (default) to bring in the mail already in the folder; no for new mail only",
        "max_message_mb": "Larger e-mails are fetched as their header only (default 40)",
    }
    secret_fields: ClassVar[Mapping[str, str]] = {
        "password": "The mailbox password (for Gmail: an app password)",
        "reply_token_secret": "A long random string that signs reply addresses; keep it unchanged",
    }

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        super().__init__(settings=settings, secrets=secrets, http=http)
        raw_address = self.settings["address"].strip()
        local, at, domain = raw_address.rpartition("@")
        if not at or not local or not domain or any(char in raw_address for char in " <>\r\n"):
            raise ChannelError(f"The address setting {raw_address!r} is not an e-mail address such as cskh@shop.vn.")
        self.address = f"{local}@{_idna(domain)}"
        self.domain = _idna(domain)
        self.display_name = (self.settings.get("display_name") or "").strip()
        secret = self.secrets["reply_token_secret"]
        if len(secret) < MIN_SECRET_LENGTH:
            raise ChannelError(f"The reply_token_secret must be at least {MIN_SECRET_LENGTH} characters long; use a "
                               "long random string.")
        self._secret = secret.encode("utf-8")
        username = (self.settings.get("username") or "").strip() or self.address
        password = self.secrets["password"]
        smtp_security = _security(self.settings, "smtp_security", "starttls")
        imap_security = _security(self.settings, "imap_security", "ssl")
        max_mb = _port(self.settings, "max_message_mb", 40)
        self.smtp_server = smtp.SmtpServer(
            host=self.settings["smtp_host"].strip(), security=smtp_security, username=username, password=password,
            port=_port(self.settings, "smtp_port", DEFAULT_PORTS["smtp"][smtp_security]))
        self.imap_server = imap.ImapServer(
            host=self.settings["imap_host"].strip(), security=imap_security, username=username, password=password,
            port=_port(self.settings, "imap_port", DEFAULT_PORTS["imap"][imap_security]),
            folder=(self.settings.get("imap_folder") or "INBOX").strip() or "INBOX",
            mark_seen=_flag(self.settings, "mark_seen", False),
            import_existing=_flag(self.settings, "import_existing", True),
            max_message_bytes=max_mb * 1024 * 1024)

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """Settings a connection may leave empty."""
        return frozenset({"display_name", "smtp_port", "smtp_security", "imap_port", "imap_security", "imap_folder",
                          "username", "mark_seen", "import_existing", "max_message_mb"})

    # Reply addresses ---------------------------------------------------------------------------------

    def reply_address(self, thread_key: str) -> str:
        """The Reply-To address that brings answers back to ``thread_key`` (``cskh+r-<token>@shop.vn``)."""
        try:
            return tokens.reply_address(self._secret, self.address, thread_key)
        except (tokens.TokenTooLong, ValueError) as exc:
            raise ChannelError(f"No reply address can carry the thread key {thread_key!r}: {exc}. Use shorter "
                               "thread keys (a UUID or a number).") from exc

    def thread_key_from(self, address: str) -> str | None:
        """The thread key an address carries when its reply token is genuine, else None."""
        token = tokens.token_of(address)
        return tokens.read_token(self._secret, token) if token is not None else None

    # Webhooks: none ----------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        """E-mail takes no webhooks: every request is refused."""
        raise SignatureInvalid("An e-mail channel receives no webhooks; its mail is fetched from the mailbox over "
                               "IMAP.")

    def parse(self, request: WebhookRequest) -> list[Inbound]:
        """E-mail takes no webhooks."""
        raise PayloadInvalid("An e-mail channel receives no webhooks; its mail is fetched from the mailbox over IMAP.")

    # Sending -----------------------------------------------------------------------------------------

    def message_id_for(self, idempotency_key: str) -> str:
        """The Message-ID (normalised, without brackets) a send with ``idempotency_key`` carries."""
        return compose.message_id_for(self._secret, idempotency_key, self.domain)

    def _reply_to(self, thread_key: str | None) -> compose.Address | None:
        if not thread_key:
            return None
        try:
            return compose.address(self.reply_address(thread_key), self.display_name)
        except ChannelError as exc:
            log.warning("sending without a reply token: %s", exc.message)
            return None

    def _download(self, attachment: Attachment, budget: int) -> compose.FileToAttach:
        if attachment.content is not None:
            return self._inline(attachment, budget)
        url = attachment.url or ""
        if urlsplit(url).scheme not in ("http", "https"):
            raise SendFailed(f"The attachment {attachment.name or url!r} has no web address to fetch it from.",
                             code="attachment_unavailable")
        name = attachment.name or unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or "attachment"
        try:
            with self.http.stream("GET", url) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise SendFailed(f"The attachment {name!r} cannot be fetched now (HTTP {response.status_code}); "
                                     "the message is tried again later.", code="attachment_unavailable",
                                     retryable=True, provider_code=str(response.status_code))
                if response.status_code >= 400:
                    raise SendFailed(f"The attachment {name!r} is gone (HTTP {response.status_code}); send the "
                                     "message again without it or with the file uploaded anew.",
                                     code="attachment_unavailable", provider_code=str(response.status_code))
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > budget:
                        raise SendFailed(f"The attachments are larger than {MAX_ATTACHMENT_BYTES // 1_048_576} MB, "
                                         "more than mail servers take; send a link to the file instead.",
                                         code="attachment_too_large")
                    chunks.append(chunk)
                served_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        except httpx.HTTPError as exc:
            raise SendFailed(f"The attachment {name!r} cannot be fetched ({type(exc).__name__}); the message is "
                             "tried again later.", code="attachment_unavailable", retryable=True) from exc
        mime_type = (attachment.mime_type or served_type or mimetypes.guess_type(name)[0]
                     or "application/octet-stream")
        return compose.FileToAttach(name=name, mime_type=mime_type, content=b"".join(chunks))

    @staticmethod
    def _inline(attachment: Attachment, budget: int) -> compose.FileToAttach:
        """A file whose bytes came with the message."""
        content = attachment.content or b""
        name = attachment.name or "attachment"
        if len(content) > budget:
            raise SendFailed(f"The attachments are larger than {MAX_ATTACHMENT_BYTES // 1_048_576} MB, more than "
                             "mail servers take; send a link to the file instead.", code="attachment_too_large")
        mime_type = attachment.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        return compose.FileToAttach(name=name, mime_type=mime_type, content=content)

    def _files_and_links(self, message: OutboundMessage) -> tuple[list[compose.FileToAttach], list[str]]:
        files: list[compose.FileToAttach] = []
        links: list[str] = []
        budget = MAX_ATTACHMENT_BYTES
        for attachment in message.attachments:
            if attachment.kind in (AttachmentKind.LINK, AttachmentKind.LOCATION):
                target = attachment.url or ", ".join(f"{key}={value}" for key, value in attachment.meta.items())
                links.append(f"{attachment.name}: {target}" if attachment.name else target)
                continue
            item = self._download(attachment, budget)
            budget -= len(item.content)
            files.append(item)
        return files, links

    def send(self, message: OutboundMessage) -> SendResult:
        """Send ``message`` over SMTP; the Message-ID follows from its idempotency key, so a retry repeats it."""
        if message.to.type != "email":
            raise SendFailed(f"An e-mail channel sends to e-mail addresses, not to a {message.to.type}.",
                             code="bad_recipient")
        if message.template is not None:
            raise SendFailed("E-mail has no provider templates; send the text itself.", code="template_unsupported")
        message_id = self.message_id_for(message.idempotency_key)
        headers = {name.lower(): value for name, value in message.headers.items()}
        thread_key = headers.get(compose.THREAD_HEADER.lower(), "").strip() or None
        in_reply_to, references = compose.references_for(message.reply_to_provider_id or headers.get("in-reply-to"),
                                                          headers.get("references"))
        subject = " ".join((message.subject or self.display_name or self.address).split())
        try:
            recipient = compose.address(message.to.value.strip())
            sender = compose.address(self.address, self.display_name)
            extra = compose.extra_headers(message.headers)
        except compose.ComposeError as exc:
            raise SendFailed(f"The message cannot be written as an e-mail: {exc}.", code="bad_message") from exc
        files, links = self._files_and_links(message)
        text = message.text
        if links:
            text = (text.rstrip() + "\n\n" + "\n".join(links)).strip()
        try:
            email_message = compose.build_message(
                sender=sender, recipient=recipient, reply_to=self._reply_to(thread_key), subject=subject, text=text,
                message_id=message_id, in_reply_to=in_reply_to, references=references, headers=extra, files=files,
                html=message.html or None)
        except (ValueError, TypeError) as exc:
            raise SendFailed(f"The message cannot be written as an e-mail: {exc}.", code="bad_message") from exc
        smtp.deliver(self.smtp_server, email_message, sender=self.address, recipient=recipient.addr_spec)
        return SendResult(provider_message_id=message_id)

    # Fetching ----------------------------------------------------------------------------------------

    def poll(self, *, cursor: str | None) -> PollResult:
        """The mail that arrived in the folder since ``cursor`` (at most 100 messages or 64 MB a poll).

        Raises ``SendFailed``: ``credentials_revoked`` when the login is refused, ``retryable`` when the server
        cannot be reached or is busy.
        """
        return imap.poll_mailbox(self.imap_server, cursor, id_of=reading.provider_id_of)

    def parse_polled(self, item: PolledItem) -> list[Inbound]:
        """The customer message (or delivery report) one fetched e-mail carries; PayloadInvalid when unreadable."""
        try:
            return reading.read_message(item.body, provider_id=item.provider_id or None, our_address=self.address,
                                        secret=self._secret, now=datetime.now(UTC))
        except ChannelError:
            raise
        except Exception as exc:  # the last guard: a broken e-mail must never stop the poll
            raise PayloadInvalid(f"The e-mail cannot be read ({type(exc).__name__}: {exc}); it is left in the "
                                 "mailbox for someone to read there.") from exc

    def attachment_content(self, raw: bytes, section: str) -> bytes | None:
        """The decoded bytes of the attachment at ``section`` (its ``meta["section"]``) of a fetched e-mail."""
        message = BytesParser(policy=policy.default).parsebytes(raw)
        part = reading.find_part(message, section)
        if part is None:
            return None
        if part.get_content_maintype() == "message":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0].as_bytes()
            return None
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else None
