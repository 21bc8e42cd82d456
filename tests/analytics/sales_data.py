"""A small shop with known sales, shared by the sales dashboard's tests (rollups, page, browser): five customers
(one merged into another), two stores, orders on known local days in Hà Nội (UTC+7), one cancelled, one still
waiting for payment, one walk-in, one placed at 23:30 local time, and events from a few channels.

Rows are written in the shape the orders, identity and events domains write them; the expected figures in the
tests are worked out by hand from the table in ``ORDERS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderLine, OrderStatus
from xuyen.events.models import ChannelType, Event, EventType, Source
from xuyen.identity.models import Profile
from xuyen.stores.models import Store

LOCAL = timedelta(hours=7)  # Asia/Ho_Chi_Minh


def local(text: str) -> datetime:
    """A local Hà Nội time written as ``YYYY-MM-DD HH:MM``, as a UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) - LOCAL


@dataclass
class Shop:
    """The ids of what was made."""

    profiles: dict[str, int]
    stores: dict[str, int]
    orders: dict[str, int]


# name: (customer, channel, store, local time placed, total, items, status); customer None: a walk-in
ORDERS: dict[str, tuple[str | None, str, str | None, str | None, int, int, OrderStatus]] = {
    "o1": ("A", "web", None, "2026-01-10 10:00", 100_000, 1, OrderStatus.completed),
    "o2": ("B", "pos", "S1", "2026-01-20 09:00", 200_000, 2, OrderStatus.completed),
    "o3": ("D", "shopee", None, "2026-02-25 12:00", 150_000, 1, OrderStatus.completed),
    "o4": ("A", "pos", "S1", "2026-03-01 10:00", 300_000, 3, OrderStatus.completed),
    "o5": ("C", "web", None, "2026-03-01 23:30", 120_000, 1, OrderStatus.placed),
    "o6": ("C", "web", None, "2026-03-02 00:30", 80_000, 2, OrderStatus.shipped),
    "o7": ("E", "pos", "S2", "2026-03-03 15:00", 500_000, 5, OrderStatus.completed),
    "o8": ("E", "web", None, "2026-03-04 10:00", 999_000, 9, OrderStatus.cancelled),
    "o9": (None, "pos", "S1", "2026-03-05 11:00", 50_000, 1, OrderStatus.completed),
    "o10": ("D", "pos", "S2", "2026-03-06 10:00", 200_000, 2, OrderStatus.completed),
    "o11": ("B", "web", None, None, 70_000, 1, OrderStatus.pending_payment),
}

# (customer, channel, local time)
EVENTS: list[tuple[str, ChannelType, str]] = [
    ("A", ChannelType.zalo, "2026-03-02 09:00"),
    ("D", ChannelType.messenger, "2026-03-04 20:00"),
    ("C", ChannelType.web, "2026-03-03 08:00"),
    ("C", ChannelType.api, "2026-03-02 08:00"),
    ("E", ChannelType.shopee, "2026-02-20 08:00"),
]


def build(session: Session) -> Shop:
    """Write the shop and commit."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    profiles = {name: Profile(first_seen_at=now, last_seen_at=now) for name in "ABCDE"}
    session.add_all(profiles.values())
    session.flush()
    profiles["D"].merged_into_id = profiles["A"].id
    stores = {"S1": Store(code="HN1", name="Cửa hàng Hà Nội", province="Hà Nội"),
              "S2": Store(code="SG1", name="Cửa hàng Sài Gòn", province="TP Hồ Chí Minh")}
    session.add_all(stores.values())
    session.flush()
    orders: dict[str, int] = {}
    for name, (customer, channel, store, placed, total, items, status) in ORDERS.items():
        orders[name] = add_order(session, profile_id=profiles[customer].id if customer else None,
                                 channel=SalesChannel(channel), store_id=stores[store].id if store else None,
                                 placed_at=local(placed) if placed else None, total=total, items=items,
                                 status=status)
    source = Source(name="Kênh thử", channel=ChannelType.api, write_key_prefix="salestest",
                    write_key_hash="x" * 64)
    session.add(source)
    session.flush()
    for number, (customer, channel, moment) in enumerate(EVENTS):
        at = local(moment)
        session.add(Event(source_id=source.id, channel=channel.value, type=EventType.track, event="Page Viewed",
                          message_id=f"sales-test-{number}", profile_id=profiles[customer].id, timestamp=at,
                          received_at=at))
    session.commit()
    return Shop(profiles={name: profile.id for name, profile in profiles.items()},
                stores={name: store.id for name, store in stores.items()}, orders=orders)


def add_order(session: Session, *, profile_id: int | None, channel: SalesChannel, store_id: int | None,
              placed_at: datetime | None, total: int, items: int, status: OrderStatus) -> int:
    """One order of ``items`` units in one line (helper: no commit)."""
    created = placed_at or datetime(2026, 3, 7, 3, 0, tzinfo=UTC)
    order = Order(channel=channel, status=status, store_id=store_id, profile_id=profile_id, total=total,
                  subtotal=total, placed_at=placed_at, created_at=created, updated_at=created,
                  cancelled_at=created if status is OrderStatus.cancelled else None)
    session.add(order)
    session.flush()
    order.number = f"T-{order.id:06d}"
    session.add(OrderLine(order_id=order.id, position=0, sku="AO-1", name="Áo thun", quantity=items,
                          unit_price=total // max(items, 1), total=total))
    return order.id
