"""Customers' events as the funnel and attribution read them: whose (merged customer), what, on which channel,
when, and in which store.

An event's channel is ``events.channel`` (the channel of the source that sent it: web, app, pos, shopee, zalo,
messenger, …). A sales-channel filter keeps the events of the matching event channels (``chat`` means the chat
apps, e-mail, SMS and the orders taken in a conversation, which commerce records through the ``api`` channel).
An event's store is its source's store (a store's POS), or, for an order event recorded by commerce, the store of
that order (``properties.checkout_id`` is the order's number in the ``orders`` table).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.analytics.filters import Filters
from xuyen.analytics.owners import merged_roots, owner_id
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order
from xuyen.events.models import Event, EventType, Source

EVENT_CHANNELS: dict[SalesChannel, frozenset[str]] = {
    SalesChannel.web: frozenset({"web"}), SalesChannel.app: frozenset({"app"}), SalesChannel.pos: frozenset({"pos"}),
    SalesChannel.chat: frozenset({"messenger", "zalo", "whatsapp", "email", "sms", "api"}),
    SalesChannel.shopee: frozenset({"shopee"}), SalesChannel.lazada: frozenset({"lazada"}),
    SalesChannel.tiktok_shop: frozenset({"tiktok_shop"}),
}
ORDER_EVENTS = frozenset({"Order Completed", "Order Updated", "Order Cancelled", "Order Refunded"})
CHUNK = 500


@dataclass(frozen=True)
class Touch:
    """One event of a customer."""

    customer: int
    kind: str
    event: str | None
    channel: str
    at: datetime
    properties: dict[str, Any]
    store_id: int | None

    def passes(self, filters: Filters) -> bool:
        """Whether the event is within the filters' days, channel and store."""
        return self.in_period(filters) and self.on_channel(filters) and self.in_store(filters)

    def in_period(self, filters: Filters) -> bool:
        """Whether the event happened within the filters' days."""
        return filters.start <= self.at < filters.end

    def on_channel(self, filters: Filters) -> bool:
        """Whether the event is on the filters' sales channel (or there is none)."""
        return filters.channel is None or self.channel in EVENT_CHANNELS[filters.channel]

    def in_store(self, filters: Filters) -> bool:
        """Whether the event is in the filters' store (or there is none)."""
        return filters.store_id is None or self.store_id == filters.store_id


def load(session: Session, *, end: datetime, start: datetime, names: Collection[str] | None = None,
         kinds: Collection[str] = (), history_names: Collection[str] = (),
         customers: Collection[int] | None = None) -> list[Touch]:
    """Customers' events before ``end`` and from ``start`` (the events named ``history_names`` from the very
    first), in time order. ``names`` (tracked events) and ``kinds`` (call types) choose which; ``names=None``
    takes every event but aliases and groups. ``customers`` keeps only those customers' events."""
    roots = merged_roots()
    customer = owner_id(Event.profile_id, roots)
    query = (select(customer, Event.type, Event.event, Event.channel, Event.timestamp, Event.properties,
                    Source.store_id)
             .join(Source, Source.id == Event.source_id)
             .outerjoin(roots, roots.c.profile_id == Event.profile_id)
             .where(Event.profile_id.is_not(None), Event.timestamp < end)
             .order_by(Event.timestamp, Event.id))
    since = Event.timestamp >= start
    query = query.where(or_(since, and_(Event.type == EventType.track, Event.event.in_(sorted(history_names))))
                        if history_names else since)
    if names is None:
        query = query.where(Event.type.not_in([EventType.alias, EventType.group]))
    else:
        query = query.where(or_(and_(Event.type == EventType.track, Event.event.in_(sorted(names))),
                                Event.type.in_(sorted(kinds))))
    wanted = None if customers is None else set(customers)
    rows = [(int(row[0]), row) for row in session.execute(query)]
    kept = [row for owner, row in rows if wanted is None or owner in wanted]
    stores = _order_stores(session, kept)
    return [Touch(customer=int(row[0]), kind=str(row[1].value if hasattr(row[1], "value") else row[1]),
                  event=row[2], channel=str(row[3]), at=row[4], properties=dict(row[5] or {}),
                  store_id=row[6] if row[6] is not None else stores.get(_checkout(row)))
            for row in kept]


def _checkout(row: Any) -> int | None:
    if row[2] not in ORDER_EVENTS:
        return None
    value = (row[5] or {}).get("checkout_id")
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 10 else None


def _order_stores(session: Session, rows: Iterable[Any]) -> dict[int | None, int | None]:
    numbers = sorted({number for row in rows if row[6] is None and (number := _checkout(row)) is not None})
    found: dict[int | None, int | None] = {}
    for index in range(0, len(numbers), CHUNK):
        chunk = numbers[index:index + CHUNK]
        query = select(Order.id, Order.store_id).where(Order.id.in_(chunk))
        found.update((row[0], row[1]) for row in session.execute(query))
    return found


def order_value(properties: dict[str, Any]) -> int:
    """What an ``Order Completed`` event says the customer paid: ``total``, else ``revenue``, else 0 (whole đồng)."""
    for key in ("total", "revenue"):
        value = properties.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return round(value)
        if isinstance(value, str):
            try:
                return round(float(value))
            except ValueError:
                continue
    return 0
