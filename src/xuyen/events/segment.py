"""The Segment spec: validating incoming calls and computing their timestamps.

Pure functions, no database: an item of a request becomes either a ``ValidEvent`` ready to store or an
``InvalidItem`` with a reason, never an exception.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from xuyen import jsonio
from xuyen.events.models import EventType

MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 200

# The Segment e-commerce spec (v2) event names, recognised as such in queries and analytics.
ECOMMERCE_EVENTS = frozenset({
    "Products Searched", "Product List Viewed", "Product List Filtered", "Promotion Viewed",
    "Promotion Clicked", "Product Clicked", "Product Viewed", "Product Added", "Product Removed",
    "Cart Viewed", "Checkout Started", "Checkout Step Viewed", "Checkout Step Completed",
    "Payment Info Entered", "Order Updated", "Order Completed", "Order Refunded", "Order Cancelled",
    "Coupon Entered", "Coupon Applied", "Coupon Denied", "Coupon Removed", "Product Added to Wishlist",
    "Product Removed from Wishlist", "Wishlist Product Added to Cart", "Product Shared", "Cart Shared",
    "Product Reviewed",
})


@dataclass(frozen=True)
class ValidEvent:
    """A call that passed validation, with Segment's four timestamps worked out."""

    type: EventType
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    event: str | None
    name: str | None
    previous_id: str | None
    group_id: str | None
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    integrations: dict[str, Any]
    timestamp: datetime
    original_timestamp: datetime | None
    sent_at: datetime | None
    received_at: datetime


@dataclass(frozen=True)
class InvalidItem:
    """A call that cannot be stored, with its position in the request and why."""

    position: int
    reason: str
    detail: str
    payload: dict[str, Any] | None


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse_time(value: Any, field: str) -> datetime | None:
    """An ISO-8601 time (``Z`` or an offset; naive means UTC), None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Invalid("bad_timestamp", f"{field} must be an ISO-8601 string, got {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _Invalid("bad_timestamp", f"{field} is not an ISO-8601 time: {value[:60]!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_time(*, original: datetime | None, sent_at: datetime | None, received_at: datetime) -> datetime:
    """When the event happened: the client's time corrected for its clock skew, as Segment defines it.

    ``timestamp = receivedAt - (sentAt - originalTimestamp)`` when the client said both when it happened and
    when it sent; its own time when it said only that; the time of receipt otherwise.
    """
    if original is not None and sent_at is not None:
        return received_at - (sent_at - original)
    return original or received_at


def _identifier(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Invalid("bad_type", f"{field} must be a string or a number, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > MAX_ID_LENGTH:
        raise _Invalid("bad_type", f"{field} is longer than {MAX_ID_LENGTH} characters")
    return text or None


def _text(raw: dict[str, Any], field: str) -> str | None:
    value = raw.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid("bad_type", f"{field} must be a string, got {type(value).__name__}")
    if len(value) > MAX_NAME_LENGTH:
        raise _Invalid("bad_type", f"{field} is longer than {MAX_NAME_LENGTH} characters")
    return value.strip() or None


def _object(raw: dict[str, Any], field: str) -> dict[str, Any]:
    value = raw.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Invalid("bad_type", f"{field} must be an object, got {type(value).__name__}")
    return value


def _check_required(call: EventType, *, user_id: str | None, anonymous_id: str | None, event: str | None,
                    group_id: str | None, previous_id: str | None) -> None:
    if call == EventType.alias:
        if not (previous_id and user_id):
            raise _Invalid("missing_id", "alias needs both previousId and userId")
        return
    if not (user_id or anonymous_id):
        raise _Invalid("missing_id", f"{call.value} needs a userId or an anonymousId")
    if call == EventType.track and not event:
        raise _Invalid("missing_event", "track needs an event name")
    if call == EventType.group and not group_id:
        raise _Invalid("missing_group_id", "group needs a groupId")


def parse_call(raw: Any, *, call: str | None, received_at: datetime, batch_sent_at: datetime | None = None,
               defaults: dict[str, Any] | None = None, max_bytes: int) -> ValidEvent:
    """Validate one call; ``call`` is the endpoint's type (None in a batch: the item's ``type`` says it).

    ``defaults`` are a batch's top-level ``context`` and ``integrations``, merged under the item's own.
    Raises ``_Invalid`` (use ``parse_item`` to get an ``InvalidItem`` instead).
    """
    if not isinstance(raw, dict):
        raise _Invalid("bad_type", f"a call must be a JSON object, got {type(raw).__name__}")
    if len(jsonio.dumps(raw)) > max_bytes:
        raise _Invalid("event_too_large", f"the call is larger than {max_bytes:,} bytes")
    type_name = call or raw.get("type")
    try:
        call_type = EventType(str(type_name).lower())
    except ValueError:
        raise _Invalid("bad_type", f"unknown call type {str(type_name)[:40]!r}") from None
    user_id, anonymous_id = _identifier(raw, "userId"), _identifier(raw, "anonymousId")
    previous_id, group_id = _identifier(raw, "previousId"), _identifier(raw, "groupId")
    event_name = _text(raw, "event")
    _check_required(call_type, user_id=user_id, anonymous_id=anonymous_id, event=event_name,
                    group_id=group_id, previous_id=previous_id)
    context = {**(defaults or {}).get("context", {}), **_object(raw, "context")}
    integrations = {**(defaults or {}).get("integrations", {}), **_object(raw, "integrations")}
    original = parse_time(raw.get("originalTimestamp"), "originalTimestamp") or parse_time(
        raw.get("timestamp"), "timestamp")
    sent_at = parse_time(raw.get("sentAt"), "sentAt") or batch_sent_at
    traits = _object(raw, "traits") if call_type in (EventType.identify, EventType.group) else {}
    if not traits and isinstance(context.get("traits"), dict):
        traits = context["traits"]
    return ValidEvent(
        type=call_type,
        message_id=_identifier(raw, "messageId") or f"xuyen-{uuid.uuid4()}",
        user_id=user_id,
        anonymous_id=anonymous_id,
        event=event_name if call_type == EventType.track else None,
        name=_text(raw, "name") if call_type in (EventType.page, EventType.screen) else None,
        previous_id=previous_id,
        group_id=group_id,
        properties=_object(raw, "properties"),
        traits=traits,
        context=context,
        integrations=integrations,
        timestamp=event_time(original=original, sent_at=sent_at, received_at=received_at),
        original_timestamp=original,
        sent_at=sent_at,
        received_at=received_at,
    )


def parse_item(raw: Any, *, position: int, call: str | None, received_at: datetime,
               batch_sent_at: datetime | None = None, defaults: dict[str, Any] | None = None,
               max_bytes: int) -> ValidEvent | InvalidItem:
    """``parse_call`` that turns a refusal into an ``InvalidItem`` at ``position``."""
    try:
        return parse_call(raw, call=call, received_at=received_at, batch_sent_at=batch_sent_at,
                          defaults=defaults, max_bytes=max_bytes)
    except _Invalid as exc:
        payload = raw if isinstance(raw, dict) and exc.reason != "event_too_large" else None
        return InvalidItem(position=position, reason=exc.reason, detail=exc.detail, payload=payload)


def batch_sent_at(body: dict[str, Any]) -> datetime | None:
    """A batch's top-level ``sentAt`` (an unreadable one is ignored: each item is judged on its own)."""
    try:
        return parse_time(body.get("sentAt"), "sentAt")
    except _Invalid:
        return None
