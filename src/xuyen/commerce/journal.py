"""The event-log side of commerce: every commerce change is also a Segment e-commerce event on the customer.

Orders, returns and stock-facing changes call ``record`` with the customer's identifiers (phone, email,
marketplace buyer id…); the identity graph resolves them to one profile, so journeys and analytics see the change
on the customer's timeline like any tracked event. Each sales channel writes through a source of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xuyen.commerce.channels import SalesChannel
from xuyen.events.models import ChannelType
from xuyen.events.service import channel_call, internal_source_id, record_channel_calls

# Segment's e-commerce spec names (https://segment.com/docs/connections/spec/ecommerce/v2/).
ORDER_COMPLETED = "Order Completed"
ORDER_UPDATED = "Order Updated"
ORDER_CANCELLED = "Order Cancelled"
ORDER_REFUNDED = "Order Refunded"
CHECKOUT_STARTED = "Checkout Started"
PRODUCT_ADDED = "Product Added"
COUPON_APPLIED = "Coupon Applied"

_SOURCE_NAMES = {
    SalesChannel.web: "Bán hàng · Website",
    SalesChannel.app: "Bán hàng · Ứng dụng",
    SalesChannel.pos: "Bán hàng · Cửa hàng (POS)",
    SalesChannel.chat: "Bán hàng · Chat",
    SalesChannel.shopee: "Bán hàng · Shopee",
    SalesChannel.lazada: "Bán hàng · Lazada",
    SalesChannel.tiktok_shop: "Bán hàng · TikTok Shop",
}
_EVENT_CHANNELS = {SalesChannel.chat: ChannelType.api}

Identifier = tuple[str, str, str | None]


def sales_source_id(session: Session, *, channel: SalesChannel) -> int:
    """The event source commerce writes the channel's events through, created on first use (helper: no commit)."""
    event_channel = _EVENT_CHANNELS[channel] if channel in _EVENT_CHANNELS else ChannelType(channel.value)
    return internal_source_id(session, name=_SOURCE_NAMES[channel], channel=event_channel)


def record(session: Session, *, channel: SalesChannel, event: str, message_id: str,
           identifiers: Sequence[Identifier], properties: dict[str, Any], timestamp: datetime) -> int | None:
    """Store one e-commerce event in the event log and return the customer's profile id (helper: no commit).

    ``message_id`` makes the call idempotent: recording the same change twice stores it once and answers the
    profile it was stored with. With no identifiers the event is kept with no profile (a walk-in sale).
    """
    call = channel_call(event=event, message_id=message_id, identifiers=identifiers, timestamp=timestamp,
                        properties=properties)
    return record_channel_calls(session, calls=[(sales_source_id(session, channel=channel), call)])[0]
