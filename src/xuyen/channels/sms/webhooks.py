"""Inbound webhooks: the signature and its replay window, customers' replies (MO) and delivery reports (DLR)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from xuyen.channels.base import (
    Contact,
    ContactEvent,
    ContactEventKind,
    ContactIdentifier,
    Inbound,
    InboundMessage,
    PayloadInvalid,
    SignatureInvalid,
    StatusUpdate,
    WebhookRequest,
)
from xuyen.channels.sms.config import GatewayConfig
from xuyen.channels.sms.encoding import keyword_form
from xuyen.channels.sms.phones import PhoneInvalid, to_e164

REPLAY_WINDOW = timedelta(minutes=5)
MAX_BODY_BYTES = 256 * 1024
MAX_EVENTS = 500
MAX_TEXT_CHARS = 5000
_MILLISECONDS_FROM = 10**11  # a Unix time this large is in milliseconds
_DAY_FIRST_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d-%m-%Y %H:%M:%S")


def sign(body: bytes, secret: str, *, timestamp: str, payload: str = "body") -> str:
    """The HMAC-SHA256 hex signature of a webhook: over the raw body, or over ``timestamp.body``."""
    signed = body if payload == "body" else timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(config: GatewayConfig, secret: str | None, request: WebhookRequest) -> None:
    """Raise SignatureInvalid unless the request is signed with ``secret`` and was sent within the replay window."""
    if not secret:
        raise SignatureInvalid("This SMS channel has no webhook secret, so its webhooks cannot be trusted; add "
                               "webhook_secret in the channel's settings and give the same secret to the gateway.")
    signature = request.headers.get(config.signature_header, "").strip().lower()
    stamp = request.headers.get(config.timestamp_header, "").strip()
    if not signature:
        raise SignatureInvalid(f"The webhook has no {config.signature_header} header; the gateway must sign it.")
    if not stamp:
        raise SignatureInvalid(f"The webhook has no {config.timestamp_header} header; the gateway must send the time "
                               "it signed the request.")
    signature = signature.removeprefix("sha256=")
    expected = sign(request.body, secret, timestamp=stamp, payload=config.signature_payload)
    if not hmac.compare_digest(expected, signature):
        raise SignatureInvalid("The webhook's signature does not match; check that the gateway signs with this "
                               "channel's webhook secret.")
    try:
        sent = _epoch(float(stamp))
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureInvalid(f"The webhook's {config.timestamp_header} {stamp!r} is not a Unix time.") from exc
    now = _aware(request.received_at)
    if now - sent > REPLAY_WINDOW:
        raise SignatureInvalid("The webhook was signed more than 5 minutes ago: a replay, or a clock far off. Check "
                               "the gateway's clock.")
    if sent - now > REPLAY_WINDOW:
        raise SignatureInvalid("The webhook is dated more than 5 minutes ahead; check the gateway's clock.")


def parse(config: GatewayConfig, request: WebhookRequest) -> list[Inbound]:
    """The replies, opt-outs and delivery reports a webhook body carries (one JSON object, or a list of them)."""
    if len(request.body) > MAX_BODY_BYTES:
        raise PayloadInvalid(f"The webhook body is {len(request.body)} bytes; at most {MAX_BODY_BYTES} are taken.")
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError) as exc:
        raise PayloadInvalid("The webhook body is not JSON.") from exc
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_EVENTS:
        raise PayloadInvalid(f"The webhook carries {len(items)} events; at most {MAX_EVENTS} are taken at once.")
    received = _aware(request.received_at)
    out: list[Inbound] = []
    for item in items:
        if not isinstance(item, dict):
            raise PayloadInvalid("Each webhook event must be a JSON object.")
        kind = _text(item, config.webhook_type_field).lower()
        if kind in config.webhook_mo_values:
            out.extend(_mo(config, item, received))
        elif kind in config.webhook_dlr_values:
            update = _dlr(config, item, received)
            if update is not None:
                out.append(update)
    return out


def _mo(config: GatewayConfig, item: Mapping[str, Any], received: datetime) -> list[Inbound]:
    """A customer's message, and an opt-out when its text is a stop keyword."""
    message_id = _text(item, config.webhook_message_id_field)
    if not message_id:
        raise PayloadInvalid(f"A customer's message has no {config.webhook_message_id_field}; without it replies "
                             "cannot be told apart from redeliveries.")
    sender = _text(item, config.webhook_from_field)
    try:
        phone = to_e164(sender, region=config.default_region)
    except PhoneInvalid as exc:
        raise PayloadInvalid(f"A customer's message comes from {sender!r}, which is not a phone number.") from exc
    text = _text(item, config.webhook_text_field, strip=False)
    if len(text) > MAX_TEXT_CHARS:
        raise PayloadInvalid(f"A customer's message is {len(text)} characters long; at most {MAX_TEXT_CHARS} are "
                             "taken.")
    at = _when(config, item, received)
    contact = Contact(identifiers=(ContactIdentifier("phone", phone),))
    out: list[Inbound] = [InboundMessage(provider_message_id=message_id, contact=contact, sent_at=at, text=text)]
    if is_opt_out(text, config.opt_out_keywords):
        out.append(ContactEvent(kind=ContactEventKind.OPT_OUT, contact=contact, at=at,
                                provider_event_id=f"{message_id}:opt_out"))
    return out


def _dlr(config: GatewayConfig, item: Mapping[str, Any], received: datetime) -> StatusUpdate | None:
    """A delivery report; None for a status the channel does not know (left out, not an error)."""
    message_id = _text(item, config.webhook_message_id_field)
    if not message_id:
        raise PayloadInvalid(f"A delivery report has no {config.webhook_message_id_field}, so it names no message.")
    status = _text(item, config.webhook_status_field).lower()
    if not status:
        raise PayloadInvalid(f"A delivery report has no {config.webhook_status_field}.")
    state = config.dlr_statuses.get(status)
    if state is None:
        return None
    contact = None
    recipient = _text(item, config.webhook_to_field)
    if recipient:
        try:
            contact = Contact(identifiers=(ContactIdentifier("phone", to_e164(recipient,
                                                                             region=config.default_region)),))
        except PhoneInvalid:
            contact = None
    error = _text(item, config.webhook_error_field) or (status if state.value == "failed" else "")
    return StatusUpdate(state=state, at=_when(config, item, received), provider_message_id=message_id,
                        contact=contact, error=error or None)


def is_opt_out(text: str, keywords: tuple[str, ...]) -> bool:
    """Whether a reply is one of the stop keywords, whole (``Hủy``, ``tu choi!``): a reply that merely starts
    with one (``Huy đây, …`` from a customer named Huy) is a message, not an opt-out."""
    return keyword_form(text) in keywords


def _text(item: Mapping[str, Any], path: str, *, strip: bool = True) -> str:
    """The string (or number) at a dotted path of an event, ``""`` when absent; PayloadInvalid for other types."""
    value: Any = item
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return ""
        value = value[key]
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PayloadInvalid(f"The webhook field {path} must be text, not {type(value).__name__}.")
    return str(value).strip() if strip else str(value)


def _when(config: GatewayConfig, item: Mapping[str, Any], received: datetime) -> datetime:
    """The event's time as an aware UTC datetime; the time it was received when the gateway gives none."""
    raw = _text(item, config.webhook_timestamp_field)
    if not raw:
        return received
    try:
        return _epoch(float(raw))
    except ValueError:
        pass
    except (OverflowError, OSError) as exc:
        raise PayloadInvalid(f"The webhook time {raw!r} is out of range.") from exc
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        for layout in _DAY_FIRST_FORMATS:
            try:
                parsed = datetime.strptime(raw, layout)  # naive: the gateway's own zone is set below
                break
            except ValueError:
                continue
    if parsed is None:
        raise PayloadInvalid(f"The webhook time {raw!r} is neither a Unix time nor an ISO 8601 date and time.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=config.webhook_timezone)
    return parsed.astimezone(UTC)


def _epoch(seconds: float) -> datetime:
    """A Unix time (seconds, or milliseconds when that large) as an aware UTC datetime."""
    if abs(seconds) >= _MILLISECONDS_FROM:
        seconds /= 1000
    return datetime.fromtimestamp(seconds, UTC)


def _aware(moment: datetime) -> datetime:
    """A datetime in UTC, a naive one taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
