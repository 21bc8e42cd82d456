"""The daily sales rollups and the figures the sales dashboard reads from them, on a small shop whose answers were
worked out by hand (tests/analytics/sales_data.py): days in Hà Nội time, merged customers as one, cancelled and
unpaid orders left out, new vs returning, multi-channel share, repeat rate, cohorts; rebuilding is idempotent and
order events update the rollups through the job."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.analytics import sales_data
from tests.analytics.sales_data import Shop
from xuyen.analytics import filters, rollups, sales
from xuyen.analytics.sales_models import CohortMonth, CustomerDay, CustomerReach, SalesCustomer, SalesDay, TouchDay
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import service as orders_service
from xuyen.commerce.orders.external import ExternalLine, ExternalOrder, ExternalStatus
from xuyen.events.models import Event, EventType
from xuyen.worker import Worker

MARCH = filters.parse(first="2026-03-01", last="2026-03-10", timezone="Asia/Ho_Chi_Minh")


@pytest.fixture
def shop(session: Session) -> Shop:
    built = sales_data.build(session)
    rollups.rebuild(session, first=date(2026, 1, 1), last=date(2026, 3, 10))
    return built


def _dump(session: Session) -> list[list[tuple[object, ...]]]:
    return [sorted(tuple(row) for row in session.execute(select(*model.__table__.columns)))
            for model in (SalesDay, CustomerDay, TouchDay, SalesCustomer, CohortMonth)]


def _cohort_cells(session: Session) -> dict[tuple[date, date], int]:
    return {(row.first_month, row.month): row.customers for row in session.scalars(select(CohortMonth))}


def _cohort_cells_recounted(session: Session) -> dict[tuple[date, date], int]:
    """The cohort cells counted afresh from the customer-days, as the rollup must hold them."""
    return {(first_month, month): count for first_month, month, count in session.execute(
        select(SalesCustomer.first_month, CustomerDay.month, func.count(func.distinct(CustomerDay.customer_id)))
        .join(SalesCustomer, SalesCustomer.customer_id == CustomerDay.customer_id)
        .group_by(SalesCustomer.first_month, CustomerDay.month))}


def test_the_period_totals_count_placed_orders_on_their_local_day(session: Session, shop: Shop) -> None:
    totals = sales.totals(session, filters=MARCH)
    assert (totals.orders, totals.revenue, totals.items, totals.customers) == (6, 1_250_000, 14, 3)
    assert totals.average_order == 208_333  # 1,250,000 / 6 rounded to the đồng
    before = sales.totals(session, filters=MARCH.previous())  # 19–28 February: the merged profile's Shopee order
    assert (before.orders, before.revenue, before.customers) == (1, 150_000, 1)


def test_days_channels_and_stores(session: Session, shop: Shop) -> None:
    days = {day.key: (day.orders, day.revenue) for day in sales.per_day(session, filters=MARCH)}
    assert len(days) == 10
    # 23:30 on 1 March (16:30 UTC) stays on 1 March; 00:30 on 2 March (17:30 UTC on the 1st) goes to 2 March
    assert days["2026-03-01"] == (2, 420_000) and days["2026-03-02"] == (1, 80_000)
    assert days["2026-03-04"] == (0, 0)  # the cancelled order
    assert days["2026-03-07"] == (0, 0)  # the unpaid order has no day
    channels = {row.key: (row.orders, row.revenue, row.average_order)
                for row in sales.by_channel(session, filters=MARCH)}
    assert channels == {"pos": (4, 1_050_000, 262_500), "web": (2, 200_000, 100_000)}
    stores = {row.key: (row.orders, row.revenue) for row in sales.by_store(session, filters=MARCH)}
    assert stores == {str(shop.stores["S2"]): (2, 700_000), str(shop.stores["S1"]): (2, 350_000), "0": (2, 200_000)}


def test_filters_by_channel_and_store(session: Session, shop: Shop) -> None:
    pos = sales.totals(session, filters=filters.parse(first="2026-03-01", last="2026-03-10", channel="pos"))
    assert (pos.orders, pos.revenue, pos.customers) == (4, 1_050_000, 2)  # A and E; the walk-in is no customer
    saigon = filters.parse(first="2026-03-01", last="2026-03-10", store=str(shop.stores["S2"]))
    south = sales.totals(session, filters=saigon)
    assert (south.orders, south.revenue, south.customers) == (2, 700_000, 2)
    mix = sales.customer_mix(session, filters=saigon)
    assert (mix.new.customers, mix.returning.customers) == (1, 1)  # E new, A (through D) returning


def test_customer_mix_new_returning_channels_and_repeat(session: Session, shop: Shop) -> None:
    mix = sales.customer_mix(session, filters=MARCH)
    assert (mix.new.customers, mix.new.revenue) == (2, 700_000)  # C and E first bought in March
    assert (mix.returning.customers, mix.returning.revenue) == (1, 500_000)  # A, with D's order as A's
    # A: POS + Zalo + Messenger (D's event); C: web (the API event is no channel); E: POS (Shopee was in February)
    assert (mix.multi_channel.customers, mix.multi_channel.revenue, mix.multi_channel.average_spend) == (
        1, 500_000, 500_000)
    assert (mix.single_channel.customers, mix.single_channel.average_spend) == (2, 350_000)
    assert mix.multi_channel_share == pytest.approx(1 / 3)
    assert mix.repeat == 2 and mix.repeat_rate == pytest.approx(2 / 3)  # A (ordered before) and C (two orders)


def test_monthly_cohorts(session: Session, shop: Shop) -> None:
    cohorts = sales.cohorts(session, filters=MARCH)
    assert cohorts.months == [date(2026, 1, 1), date(2026, 3, 1)] and cohorts.sizes == [2, 2]
    january, march = cohorts.shares
    assert january[:3] == [1.0, 0.5, 0.5] and january[3] is None  # A (D's Shopee order) in Feb, A in March
    assert march[0] == 1.0 and march[1] is None
    assert _cohort_cells(session) == {(date(2026, 1, 1), date(2026, 1, 1)): 2, (date(2026, 1, 1), date(2026, 2, 1)): 1,
                                      (date(2026, 1, 1), date(2026, 3, 1)): 1, (date(2026, 3, 1), date(2026, 3, 1)): 2}


def test_rebuilding_twice_gives_the_same_rows(session: Session, shop: Shop) -> None:
    first = _dump(session)
    assert len(first[3]) == 4  # A, B, C, E: D counts as A
    result = rollups.rebuild(session, first=date(2026, 1, 1), last=date(2026, 3, 10))
    assert _dump(session) == first
    assert (result.days, result.customer_days, result.touch_days) == (69, len(first[1]), len(first[2]))
    assert len(first[1]) == 9 and len(first[2]) == 4  # o8 cancelled, o11 unpaid; the API event is no channel
    rollups.rebuild(session, first=date(2026, 3, 2), last=date(2026, 3, 3))
    assert _dump(session) == first


def _shopee(status: ExternalStatus, placed: datetime, updated: datetime) -> ExternalOrder:
    return ExternalOrder(channel=SalesChannel.shopee, account="220314588", external_id="2603080NEW", status=status,
                         placed_at=placed, updated_at=updated, payment_method="cod", total=90_000,
                         lines=[ExternalLine(external_item_id="999", quantity=3, unit_price=30_000, name="Tất")],
                         buyer_identifiers=[("shopee_buyer", "55667788", "220314588")], buyer_name="m***h")


def test_order_events_update_the_rollups_through_the_job(session: Session, engine: Engine, shop: Shop) -> None:
    placed = sales_data.local("2026-03-08 21:00")
    orders_service.upsert_external_order(session, order=_shopee(ExternalStatus.to_ship, placed, placed))
    session.commit()
    Worker(engine=engine).run_until_idle()
    session.rollback()
    totals = sales.totals(session, filters=MARCH)
    assert (totals.orders, totals.revenue, totals.items, totals.customers) == (7, 1_340_000, 17, 4)
    assert sales.customer_mix(session, filters=MARCH).new.customers == 3
    assert sales.cohorts(session, filters=MARCH).sizes == [2, 3]  # the new Shopee buyer joins March's cohort
    assert _cohort_cells(session) == _cohort_cells_recounted(session)
    orders_service.upsert_external_order(session, order=_shopee(ExternalStatus.cancelled, placed,
                                                                placed + timedelta(hours=1)))
    session.commit()
    Worker(engine=engine).run_until_idle()
    session.rollback()
    again = sales.totals(session, filters=MARCH)
    assert (again.orders, again.revenue, again.customers) == (6, 1_250_000, 3)
    assert sales.cohorts(session, filters=MARCH).sizes == [2, 2]
    assert _cohort_cells(session) == _cohort_cells_recounted(session)


def test_a_merge_moves_the_absorbed_customers_orders_to_the_survivor(session: Session, shop: Shop) -> None:
    # E merged into C after the rollups were built: the profiles recompute gives C both histories
    from xuyen.identity.models import Profile

    absorbed = session.get(Profile, shop.profiles["E"])
    assert absorbed is not None
    absorbed.merged_into_id = shop.profiles["C"]
    session.commit()
    rollups.refresh_profiles(session, profile_ids=[shop.profiles["C"], shop.profiles["E"]])
    mix = sales.customer_mix(session, filters=MARCH)
    assert (mix.customers, mix.new.customers, mix.new.revenue) == (2, 1, 700_000)
    assert session.get(SalesCustomer, shop.profiles["E"]) is None
    assert _cohort_cells(session) == _cohort_cells_recounted(session)


def test_a_first_order_cancelled_moves_the_customer_to_a_later_cohort(session: Session, shop: Shop) -> None:
    # A ordered in January (o1), February (D's o3) and March (o4); o1 cancelled makes February A's first month, and
    # the March cells of both cohorts change though only January's days are recomputed for the order itself
    from xuyen.commerce.orders.models import Order, OrderStatus

    first = session.get(Order, shop.orders["o1"])
    assert first is not None
    first.status = OrderStatus.cancelled
    session.commit()
    rollups.refresh_orders(session, order_ids=[shop.orders["o1"]])
    cells = _cohort_cells(session)
    assert cells == _cohort_cells_recounted(session)
    assert cells[(date(2026, 1, 1), date(2026, 1, 1))] == 1  # B alone
    assert (date(2026, 1, 1), date(2026, 3, 1)) not in cells
    assert cells[(date(2026, 2, 1), date(2026, 2, 1))] == 1 and cells[(date(2026, 2, 1), date(2026, 3, 1))] == 1
    cohorts = sales.cohorts(session, filters=MARCH)
    assert cohorts.months == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert cohorts.sizes == [1, 1, 2] and cohorts.shares[1][:2] == [1.0, 1.0]


def test_two_order_channels_make_a_customer_multi_channel_and_filters_keep_every_channel(session: Session,
                                                                                          shop: Shop) -> None:
    winter = sales.customer_mix(session, filters=filters.parse(first="2026-01-01", last="2026-02-28",
                                                               timezone="Asia/Ho_Chi_Minh"))
    # A: a web order (o1) and a Shopee one (D's o3), no events then; B: one POS order
    assert (winter.multi_channel.customers, winter.multi_channel.revenue) == (1, 250_000)
    assert (winter.single_channel.customers, winter.single_channel.revenue) == (1, 200_000)
    at_the_till = sales.customer_mix(session, filters=filters.parse(first="2026-03-01", last="2026-03-10",
                                                                    channel="pos", timezone="Asia/Ho_Chi_Minh"))
    # POS buyers: A (o4 and D's o10, in touch on Zalo and Messenger) and E (Shopee event in February: outside)
    assert (at_the_till.multi_channel.customers, at_the_till.multi_channel.revenue) == (1, 500_000)
    assert (at_the_till.single_channel.customers, at_the_till.single_channel.revenue) == (1, 500_000)
    assert at_the_till.repeat == 1  # A had ordered before March


def _reach(session: Session) -> dict[int, tuple[object, ...]]:
    return {row.customer_id: (row.channel, row.last_day, row.other_channel, row.other_last_day)
            for row in session.scalars(select(CustomerReach))}


def test_each_customer_s_two_latest_event_channels_are_kept_through_merges(session: Session, shop: Shop,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    a, c, e = shop.profiles["A"], shop.profiles["C"], shop.profiles["E"]
    # A: Zalo on 2 March and D's Messenger on 4 March; C: web (the API event is no channel); E: Shopee in February
    built = {a: ("messenger", date(2026, 3, 4), "zalo", date(2026, 3, 2)), c: ("web", date(2026, 3, 3), None, None),
             e: ("shopee", date(2026, 2, 20), None, None)}
    assert _reach(session) == built
    monkeypatch.setattr(rollups, "FULL_RECOMPUTE_AT", 1)  # more customers than that: everyone's reach at once
    rollups.rebuild(session, first=date(2026, 2, 20), last=date(2026, 3, 4))
    assert _reach(session) == built
    monkeypatch.undo()
    from xuyen.identity.models import Profile

    absorbed = session.get(Profile, e)
    assert absorbed is not None
    absorbed.merged_into_id = c
    session.commit()
    rollups.refresh_profiles(session, profile_ids=[c, e])
    assert _reach(session) == {a: ("messenger", date(2026, 3, 4), "zalo", date(2026, 3, 2)),
                               c: ("web", date(2026, 3, 3), "shopee", date(2026, 2, 20))}


def _mix_channels(session: Session, first: str, last: str) -> tuple[int, int]:
    mix = sales.customer_mix(session, filters=filters.parse(first=first, last=last, timezone="Asia/Ho_Chi_Minh"))
    return mix.multi_channel.customers, mix.single_channel.customers


def test_an_event_from_another_channel_counts_only_inside_the_range(session: Session, shop: Shop) -> None:
    # C orders on the web (1 and 2 March) and browses the web on 3 March; a Zalo message on 1 March is C's older
    # event channel. Ranges up to 10 March run past the newest touch-day (4 March) and read the latest channels;
    # a range to 3 March reads its touch-days. Either way: the same answers.
    source_id = session.scalar(select(Event.source_id).limit(1))
    moment = sales_data.local("2026-03-01 08:00")
    session.add(Event(source_id=source_id, channel="zalo", type=EventType.track, event="Message Sent",
                      message_id="sales-test-zalo-c", profile_id=shop.profiles["C"], timestamp=moment,
                      received_at=moment))
    session.commit()
    rollups.rebuild(session, first=date(2026, 3, 1), last=date(2026, 3, 10))
    assert _reach(session)[shop.profiles["C"]] == ("web", date(2026, 3, 3), "zalo", date(2026, 3, 1))
    # A (POS; Zalo and Messenger) and C (web; Zalo) multi-channel, E (POS; Shopee in February) single
    assert _mix_channels(session, "2026-03-01", "2026-03-10") == (2, 1)
    assert _mix_channels(session, "2026-03-01", "2026-03-03") == (2, 1)
    # from 2 March C's Zalo message is outside: C buys (o6) and browses on the web only
    assert _mix_channels(session, "2026-03-02", "2026-03-10") == (1, 2)
    assert _mix_channels(session, "2026-03-02", "2026-03-03") == (0, 2)  # C and E; A bought on 1 and 6 March
    # A's D ordered on 6 March; the Messenger message on 4 March counts from 4 March, not from 5 March
    assert _mix_channels(session, "2026-03-04", "2026-03-10") == (1, 0)
    assert _mix_channels(session, "2026-03-05", "2026-03-10") == (0, 1)
