"""The customer mix of a range up to today reads each customer's summary (first and last order days, orders, the
latest day on another channel) instead of the range's customer-days. On random shops its answers must equal the
ones worked out here straight from the orders and events, for every first day, before and after an incremental
refresh, with every channel and with one chosen; a range that ends earlier reads the customer-days and must agree
too."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.analytics.sales_data import add_order, local
from xuyen.analytics import filters, rollups, sales
from xuyen.analytics.sales_models import SalesCustomer
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderStatus
from xuyen.events.models import ChannelType, Event, EventType, Source
from xuyen.identity.models import Profile

FIRST_DAY = date(2026, 3, 1)
DAYS = 12
SALES_CHANNELS = [SalesChannel.web, SalesChannel.pos, SalesChannel.shopee]
EVENT_CHANNELS = [ChannelType.web, ChannelType.zalo, ChannelType.messenger, ChannelType.api]


@dataclass(frozen=True)
class Expected:
    """The mix worked out from the raw rows: (customers, revenue) per group, and the repeat buyers."""

    new: tuple[int, int]
    returning: tuple[int, int]
    multi: tuple[int, int]
    single: tuple[int, int]
    repeat: int


def _profile() -> Profile:
    seen = datetime(2026, 1, 1, tzinfo=UTC)
    return Profile(first_seen_at=seen, last_seen_at=seen)


def _day(offset: int) -> date:
    return FIRST_DAY + timedelta(days=offset)


def _at(day: date, rng: random.Random) -> str:
    return f"{day.isoformat()} {rng.randint(7, 22):02d}:{rng.choice(['00', '30'])}"


def _add_random_orders(session: Session, rng: random.Random, customers: list[int], *, days: range,
                       count: int) -> None:
    for _ in range(count):
        day = _day(rng.choice(days))
        add_order(session, profile_id=rng.choice(customers), channel=rng.choice(SALES_CHANNELS), store_id=None,
                  placed_at=local(_at(day, rng)), total=rng.randint(1, 20) * 10_000, items=1,
                  status=OrderStatus.cancelled if rng.random() < 0.1 else OrderStatus.completed)


def _add_random_events(session: Session, rng: random.Random, customers: list[int], source_id: int, *,
                       days: range, count: int) -> None:
    for _ in range(count):
        moment = local(_at(_day(rng.choice(days)), rng))
        session.add(Event(source_id=source_id, channel=rng.choice(EVENT_CHANNELS).value, type=EventType.track,
                          event="Page Viewed", message_id=f"mix-{rng.random()}", profile_id=rng.choice(customers),
                          timestamp=moment, received_at=moment))


def _expected(session: Session, first: date, last: date, channel: str | None = None) -> Expected:
    """The mix of ``first``..``last`` from the orders and events themselves (no rollup read)."""
    def day_of(moment: datetime) -> date:
        return filters.local_day(moment, "Asia/Ho_Chi_Minh")

    orders = [(customer, channel_, day_of(placed), total) for customer, channel_, placed, total in session.execute(
        select(Order.profile_id, Order.channel, Order.placed_at, Order.total)
        .where(Order.status != OrderStatus.cancelled, Order.placed_at.is_not(None), Order.profile_id.is_not(None)))]
    events = [(customer, channel_, day_of(moment)) for customer, channel_, moment in session.execute(
        select(Event.profile_id, Event.channel, Event.timestamp).where(Event.channel != "api"))]
    in_range = [order for order in orders if first <= order[2] <= last]
    buyers = {customer for customer, channel_, _, _ in in_range if channel is None or channel_ == channel}
    new_, returning, multi, single = [0, 0], [0, 0], [0, 0], [0, 0]
    repeat = 0
    for customer in buyers:
        own = [order for order in in_range if order[0] == customer]
        spent = sum(total for _, channel_, _, total in own if channel is None or channel_ == channel)
        is_new = min(day for who, _, day, _ in orders if who == customer) >= first
        channels = {str(channel_) for _, channel_, _, _ in own} | {
            str(channel_) for who, channel_, day in events if who == customer and first <= day <= last}
        for group, member in ((new_, is_new), (returning, not is_new), (multi, len(channels) >= 2),
                              (single, len(channels) < 2)):
            if member:
                group[0] += 1
                group[1] += spent
        repeat += not is_new or len(own) >= 2
    return Expected(new=tuple(new_), returning=tuple(returning), multi=tuple(multi),  # type: ignore[arg-type]
                    single=tuple(single), repeat=repeat)


def _mix(session: Session, first: date, last: date, channel: str | None = None) -> Expected:
    found = sales.customer_mix(session, filters=filters.parse(first=first.isoformat(), last=last.isoformat(),
                                                             channel=channel, timezone="Asia/Ho_Chi_Minh"))
    return Expected(new=(found.new.customers, found.new.revenue),
                    returning=(found.returning.customers, found.returning.revenue),
                    multi=(found.multi_channel.customers, found.multi_channel.revenue),
                    single=(found.single_channel.customers, found.single_channel.revenue), repeat=found.repeat)


def _assert_every_range_agrees(session: Session, last: date) -> None:
    for offset in range(DAYS):
        first = _day(offset)
        if first > last:
            break
        for channel in (None, *SALES_CHANNELS):
            chosen = None if channel is None else channel.value
            assert _mix(session, first, last, chosen) == _expected(session, first, last, chosen), (
                f"{first}..{last} {chosen}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_mix_of_a_range_up_to_today_equals_the_one_from_the_raw_rows(session: Session, seed: int) -> None:
    rng = random.Random(seed)
    profiles = [_profile() for _ in range(14)]
    source = Source(name="Web", channel=ChannelType.web, write_key_prefix=f"mix{seed}", write_key_hash="x" * 64)
    session.add_all([*profiles, source])
    session.flush()
    customers = [profile.id for profile in profiles]
    _add_random_orders(session, rng, customers, days=range(DAYS - 2), count=40)
    _add_random_events(session, rng, customers, source.id, days=range(DAYS - 2), count=40)
    session.commit()
    rollups.rebuild(session, first=_day(0), last=_day(DAYS - 1))
    _assert_every_range_agrees(session, last=_day(DAYS - 1))  # past every rollup day: the customers' summaries

    # a later day's orders and events, refreshed alone: the summaries of only the customers concerned change
    _add_random_orders(session, rng, customers, days=range(DAYS - 2, DAYS - 1), count=6)
    _add_random_events(session, rng, customers, source.id, days=range(DAYS - 2, DAYS - 1), count=8)
    session.commit()
    rollups.refresh_days(session, days=[_day(DAYS - 2)])
    session.commit()
    _assert_every_range_agrees(session, last=_day(DAYS - 1))
    _assert_every_range_agrees(session, last=_day(DAYS - 3))  # ends before the newest day: the customer-days


def test_an_event_alone_makes_a_one_channel_buyer_multi_channel_from_its_day(session: Session) -> None:
    profile = _profile()
    source = Source(name="Zalo", channel=ChannelType.zalo, write_key_prefix="mixzalo", write_key_hash="x" * 64)
    session.add_all([profile, source])
    session.flush()
    for day in (_day(0), _day(4)):
        add_order(session, profile_id=profile.id, channel=SalesChannel.web, store_id=None,
                  placed_at=local(f"{day.isoformat()} 10:00"), total=100_000, items=1, status=OrderStatus.completed)
    session.commit()
    rollups.rebuild(session, first=_day(0), last=_day(6))
    summary = session.scalars(select(SalesCustomer)).one()
    assert (summary.last_day, summary.elsewhere_day) == (_day(4), None)
    assert _mix(session, _day(0), _day(6)).single == (1, 200_000)
    moment = local(f"{_day(5).isoformat()} 09:00")
    session.add(Event(source_id=source.id, channel="zalo", type=EventType.track, event="Message Sent",
                      message_id="mix-zalo", profile_id=profile.id, timestamp=moment, received_at=moment))
    session.commit()
    rollups.refresh_days(session, days=[_day(5)])  # no order that day: only the reach changed
    session.commit()
    session.expire_all()
    assert session.scalars(select(SalesCustomer)).one().elsewhere_day == _day(5)
    assert _mix(session, _day(0), _day(6)).multi == (1, 200_000)
    assert _mix(session, _day(5), _day(6)) == Expected(new=(0, 0), returning=(0, 0), multi=(0, 0), single=(0, 0),
                                                       repeat=0)
