"""Delivery reports (RFC 3464 bounces) and read receipts (RFC 8098) as status updates of our messages."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import HeaderParser
from email.utils import parsedate_to_datetime

from xuyen.channels.base import Contact, ContactIdentifier, DeliveryState, StatusUpdate
from xuyen.channels.email.compose import normalise_message_id
from xuyen.channels.email.headers import fix_8bit, raw_header

STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
DISPOSITION_TYPES = frozenset({"message/disposition-notification", "message/global-disposition-notification"})
ORIGINAL_TYPES = frozenset({"message/rfc822", "message/global"})
ORIGINAL_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_ACTIONS = {"failed": DeliveryState.FAILED, "delivered": DeliveryState.DELIVERED}


def _fields(block: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in block.raw_items():
        out.setdefault(name.lower(), " ".join(fix_8bit(str(value)).split()))
    return out


def _text_blocks(body: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for chunk in body.replace("\r\n", "\n").split("\n\n"):
        if chunk.strip():
            blocks.append(_fields(HeaderParser(policy=policy.default).parsestr(chunk.strip("\n") + "\n")))
    return blocks


def _blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a report part: the per-message block first, then one per recipient."""
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for sub in payload:
            if not isinstance(sub, Message):
                continue
            blocks.append(_fields(sub))
            inner = sub.get_payload()
            if isinstance(inner, str) and inner.strip():
                blocks.extend(_text_blocks(inner))
    elif isinstance(payload, str):
        blocks.extend(_text_blocks(payload))
    return [block for block in blocks if block]


def _returned_headers(part: Message) -> Message | None:
    """The header of the returned message in a report part, when the part is one."""
    content_type = part.get_content_type()
    if content_type in ORIGINAL_TYPES:
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
    elif content_type in ORIGINAL_HEADER_TYPES:
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            return HeaderParser(policy=policy.default).parsestr(payload.decode("utf-8", "replace"))
    return None


def _original_message_id(parts: list[Message]) -> str | None:
    for part in parts:
        with suppress(Exception):  # a broken returned copy: try the next part
            headers = _returned_headers(part)
            found = normalise_message_id(raw_header(headers, "Message-ID")) if headers is not None else None
            if found:
                return found
    return None


def _when(*candidates: str | None, fallback: datetime) -> datetime:
    for value in candidates:
        if not value:
            continue
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            continue
        if moment is not None:
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return fallback


def _recipient(block: dict[str, str]) -> str | None:
    value = block.get("final-recipient") or block.get("original-recipient")
    if not value:
        return None
    address = value.partition(";")[2].strip() if ";" in value else value.strip()
    address = address.strip("<>").lower()
    return address if "@" in address else None


def read_report(message: Message, *, now: datetime) -> list[StatusUpdate] | None:
    """Status updates a report carries, [] for a report about nothing of ours, None when not a report."""
    if message.get_content_type() != "multipart/report" or not message.is_multipart():
        return None
    parts = [part for part in message.get_payload() if isinstance(part, Message)]
    status_part = next((part for part in parts if part.get_content_type() in STATUS_TYPES), None)
    disposition_part = next((part for part in parts if part.get_content_type() in DISPOSITION_TYPES), None)
    if status_part is None and disposition_part is None:
        return None
    sent = raw_header(message, "Date")
    if status_part is not None:
        original = _original_message_id(parts)
        blocks = _blocks(status_part)
        per_message = blocks[0] if blocks and "action" not in blocks[0] else {}
        updates: list[StatusUpdate] = []
        for block in blocks:
            state = _ACTIONS.get(block.get("action", "").split()[0].lower() if block.get("action") else "")
            if state is None or original is None:
                continue
            recipient = _recipient(block)
            contact = Contact(identifiers=(ContactIdentifier("email", recipient),)) if recipient else None
            error = None
            if state is DeliveryState.FAILED:
                details = [item for item in (block.get("status"), block.get("diagnostic-code")) if item]
                error = ("Delivery failed: " + " ".join(details)) if details else "Delivery failed."
            at = _when(block.get("last-attempt-date"), per_message.get("arrival-date"), sent, fallback=now)
            updates.append(StatusUpdate(state=state, at=at, provider_message_id=original, contact=contact,
                                        error=error[:1000] if error else None))
        return updates
    assert disposition_part is not None
    fields: dict[str, str] = {}
    for block in _blocks(disposition_part):
        for name, value in block.items():
            fields.setdefault(name, value)
    original = normalise_message_id(fields.get("original-message-id")) or _original_message_id(parts)
    disposition = fields.get("disposition", "").rpartition(";")[2].strip().lower()
    if original is None or not disposition.startswith("displayed"):
        return []
    return [StatusUpdate(state=DeliveryState.READ, at=_when(sent, fallback=now), provider_message_id=original)]
