"""The daily sales rollups: what the sales and customers dashboard reads instead of the raw orders and events.

A day's rows are always recomputed whole from the orders and events (delete then insert, in the caller's
transaction), so recomputing a day twice gives the same rows, and a day can be recomputed at any time:

- ``analytics_customer_days``: per local day × customer × sales channel × store, the placed, non-cancelled orders,
  their revenue (``Order.total``) and items (quantities ordered);
- ``analytics_touch_days``: per local day × customer × channel, how many events the customer sent from it;
- ``analytics_sales_customers``: per customer, the first and last order day, lifetime orders and revenue, and the
  latest day they bought or were in touch on a channel other than their latest order's (what the customer mix of
  a range up to today reads instead of the range's customer-days);
- ``analytics_sales_days``: per local day × sales channel × store, the sums of the customer-days, with the
  customers who ordered, and of them those for whom it is their first order day (new) or not (returning);
- ``analytics_cohort_months``: per first-order month × month, how many of the customers whose first order fell in
  that month ordered in the month (the retention cohorts);
- ``analytics_customer_reach``: per customer in touch, their two most recent event channels and the last day of
  each (the customer mix of a range up to today reads it instead of the range's touch-days).

An order counts on the local day of ``placed_at`` (the shop's time zone) unless it is cancelled; returns and
refunds do not change it (revenue is what was sold). Orders of merged profiles count for the surviving customer.
A row's local day is worked out in SQL from each day's UTC start (computed in Python for the shop's time zone,
daylight saving included), so the same statements run on SQLite and PostgreSQL and no row leaves the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Select, case, delete, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from xuyen.analytics.filters import business_timezone, local_day, local_midnight, today
from xuyen.analytics.owners import merged_roots, owner_id
from xuyen.analytics.sales_models import (
    NO_CUSTOMER,
    NO_STORE,
    CohortMonth,
    CustomerDay,
    CustomerReach,
    SalesCustomer,
    SalesDay,
    TouchDay,
)
from xuyen.commerce.orders.models import Order, OrderLine, OrderStatus
from xuyen.db import is_postgres
from xuyen.events.models import Event
from xuyen.identity.models import Profile

CHUNK_DAYS = 31  # days read from the orders and events in one pass
# More customers named than this: recompute every customer's reach and summary at once. Near where the two cost the
# same with a million customers; below it a day's refresh (some 13,000 customers in touch) stays a few seconds.
FULL_RECOMPUTE_AT = 100_000
IN_LIST = 500
RECENT_DAYS = 3  # the hourly job rebuilds today and the days before it (late events, late marketplace updates)
NOT_A_CUSTOMER_CHANNEL = "api"  # server-to-server imports: not a channel the customer chose
ROLLUP_LOCK_KEY = 7_283_349_032  # the PostgreSQL advisory lock that makes one rollup refresh run at a time

Progress = Callable[[date, date], None]


@dataclass(frozen=True)
class RollupResult:
    """What one refresh recomputed."""

    days: int
    customer_days: int
    touch_days: int
    customers: int


def refresh_days(session: Session, *, days: Iterable[date], timezone: str | None = None,
                 progress: Progress | None = None) -> RollupResult:
    """Recompute every rollup row of ``days`` (helper: the caller commits)."""
    zone = timezone or business_timezone()
    runs = list(_runs(sorted(set(days))))
    if not runs:
        return RollupResult(days=0, customer_days=0, touch_days=0, customers=0)
    _one_at_a_time(session)
    touched: set[int] = set()
    in_touch: set[int] | None = set()  # None: too many to name, recompute everyone's reach
    written = touches = 0
    for first, last in runs:
        touched |= _customers_on(session, first, last)
        in_touch = _in_touch_on(session, first, last, adding_to=in_touch)
        written += _rebuild_customer_days(session, first=first, last=last, timezone=zone)
        touches += _rebuild_touch_days(session, first=first, last=last, timezone=zone)
        touched |= _customers_on(session, first, last)
        in_touch = _in_touch_on(session, first, last, adding_to=in_touch)
        if progress is not None:
            progress(first, last)
    touched.discard(NO_CUSTOMER)
    _refresh_reach(session, customers=in_touch)
    summarised = None if in_touch is None else (touched | in_touch) - {NO_CUSTOMER}  # reach feeds elsewhere_day
    moved_days = _refresh_customers(session, customers=summarised)
    all_days = {day for first, last in runs for day in each_day(first, last)} | moved_days
    for first, last in _runs(sorted(all_days)):
        _rebuild_sales_days(session, first=first, last=last)
    _rebuild_cohorts(session, months={day.replace(day=1) for day in all_days},
                     cohorts={day.replace(day=1) for day in moved_days})
    return RollupResult(days=len(all_days), customer_days=written, touch_days=touches, customers=len(touched))


def rebuild(session: Session, *, first: date | None = None, last: date | None = None,
            progress: Progress | None = None) -> RollupResult:
    """Recompute the rollups of ``first``..``last`` (default: from the first order's day to today), and commit."""
    zone = business_timezone()
    start = first or first_order_day(session, timezone=zone) or today(zone)
    end = last or today(zone)
    result = refresh_days(session, days=each_day(start, end), timezone=zone, progress=progress)
    session.commit()
    return result


def rebuild_recent(session: Session, *, days: int = RECENT_DAYS) -> RollupResult:
    """Recompute today and the ``days - 1`` days before it, and commit."""
    end = today()
    return rebuild(session, first=end - timedelta(days=days - 1), last=end)


def refresh_orders(session: Session, *, order_ids: Sequence[int]) -> RollupResult:
    """Recompute the days the given orders were placed on, and commit (for order events)."""
    zone = business_timezone()
    days: set[date] = set()
    for chunk in _chunks(sorted(set(order_ids)), IN_LIST):
        placed = session.scalars(select(Order.placed_at).where(Order.id.in_(chunk), Order.placed_at.is_not(None)))
        days |= {local_day(moment, zone) for moment in placed if moment is not None}
    result = refresh_days(session, days=days, timezone=zone)
    session.commit()
    return result


def refresh_profiles(session: Session, *, profile_ids: Sequence[int]) -> RollupResult:
    """Recompute the days any of the given profiles (and the profiles merged into them) ordered or were in touch
    on, and commit (for merges and unmerges)."""
    zone = business_timezone()
    ids = sorted(set(profile_ids))
    days: set[date] = set()
    for chunk in _chunks(ids, IN_LIST):
        absorbed = select(Profile.id).where(Profile.merged_into_id.in_(chunk))
        placed = session.scalars(select(Order.placed_at).where(
            Order.placed_at.is_not(None), Order.profile_id.in_(chunk) | Order.profile_id.in_(absorbed)))
        days |= {local_day(moment, zone) for moment in placed if moment is not None}
        days |= set(session.scalars(select(CustomerDay.day).where(CustomerDay.customer_id.in_(chunk)).distinct()))
        days |= set(session.scalars(select(TouchDay.day).where(TouchDay.customer_id.in_(chunk)).distinct()))
    result = refresh_days(session, days=days, timezone=zone)
    session.commit()
    return result


def first_order_day(session: Session, *, timezone: str | None = None) -> date | None:
    """The local day of the first placed order, if any."""
    first = session.scalar(select(func.min(Order.placed_at)))
    return None if first is None else local_day(first, timezone or business_timezone())


def _one_at_a_time(session: Session) -> None:
    """Serialise refreshes until the transaction ends: two workers recomputing the same day at once would each
    insert rows the other's delete could not see. (SQLite has one writer at a time already.)"""
    if is_postgres(session):
        session.execute(select(func.pg_advisory_xact_lock(ROLLUP_LOCK_KEY)))


def _rebuild_customer_days(session: Session, *, first: date, last: date, timezone: str) -> int:
    """Replace the customer-days of ``first``..``last`` with sums of that range's placed, non-cancelled orders."""
    bounds = _bounds(first, last, timezone)
    roots = merged_roots()
    items = (select(func.coalesce(func.sum(OrderLine.quantity), 0)).where(OrderLine.order_id == Order.id)
             .scalar_subquery())
    placed = (select(_local_day(Order.placed_at, bounds, first).label("day"),
                     _local_month(Order.placed_at, bounds, first).label("month"),
                     func.coalesce(owner_id(Order.profile_id, roots), NO_CUSTOMER).label("customer_id"),
                     Order.channel.label("channel"), func.coalesce(Order.store_id, NO_STORE).label("store_id"),
                     Order.total.label("total"), items.label("quantity"))
              .select_from(Order).outerjoin(roots, roots.c.profile_id == Order.profile_id)
              .where(Order.placed_at >= bounds[0], Order.placed_at < bounds[-1],
                     Order.status != OrderStatus.cancelled).subquery("placed"))
    sums = (select(placed.c.day, placed.c.customer_id, placed.c.channel, placed.c.store_id, placed.c.month,
                   func.count(), func.sum(placed.c.total), func.sum(placed.c.quantity))
            .group_by(placed.c.day, placed.c.customer_id, placed.c.channel, placed.c.store_id, placed.c.month))
    session.execute(delete(CustomerDay).where(CustomerDay.day.between(first, last)))
    session.execute(insert(CustomerDay).from_select(
        ["day", "customer_id", "channel", "store_id", "month", "orders", "revenue", "items"], sums))
    return _count(session, CustomerDay, first, last)


def _rebuild_touch_days(session: Session, *, first: date, last: date, timezone: str) -> int:
    """Replace the touch-days of ``first``..``last`` with the channels customers sent events from."""
    bounds = _bounds(first, last, timezone)
    roots = merged_roots()
    sent = (select(_local_day(Event.timestamp, bounds, first).label("day"),
                   owner_id(Event.profile_id, roots).label("customer_id"), Event.channel.label("channel"))
            .select_from(Event).outerjoin(roots, roots.c.profile_id == Event.profile_id)
            .where(Event.timestamp >= bounds[0], Event.timestamp < bounds[-1], Event.profile_id.is_not(None),
                   Event.channel != NOT_A_CUSTOMER_CHANNEL).subquery("sent"))
    counts = (select(sent.c.day, sent.c.customer_id, sent.c.channel, func.count())
              .group_by(sent.c.day, sent.c.customer_id, sent.c.channel))
    session.execute(delete(TouchDay).where(TouchDay.day.between(first, last)))
    session.execute(insert(TouchDay).from_select(["day", "customer_id", "channel", "events"], counts))
    return _count(session, TouchDay, first, last)


def _count(session: Session, model: Any, first: date, last: date) -> int:
    """How many rows of ``model`` the days ``first``..``last`` hold (the driver may not say how many it wrote)."""
    return int(session.scalar(select(func.count()).select_from(model).where(model.day.between(first, last))) or 0)


def _local_day(moment: Any, bounds: list[datetime], first: date) -> Any:
    """The local day of ``moment`` (already within ``bounds``), worked out in SQL from the days' UTC starts, so the
    same statement runs on SQLite and PostgreSQL and follows any time zone's daylight saving."""
    return case(*[(moment < bounds[index + 1], literal(first + timedelta(days=index), Date))
                  for index in range(len(bounds) - 1)])


def _local_month(moment: Any, bounds: list[datetime], first: date) -> Any:
    """The first day of the month of ``moment``'s local day."""
    return case(*[(moment < bounds[index + 1], literal((first + timedelta(days=index)).replace(day=1), Date))
                  for index in range(len(bounds) - 1)])


def _refresh_customers(session: Session, *, customers: set[int] | None) -> set[date]:
    """Recompute the summaries of ``customers`` (None: everyone's); the days whose new / returning counts changed
    with them. Reads the customers' reach, so it runs after ``_refresh_reach``."""
    if customers is not None and not customers:
        return set()
    full = customers is None or len(customers) > FULL_RECOMPUTE_AT
    before = _first_days(session, None if full else customers)
    if full:
        session.execute(delete(SalesCustomer))
        session.execute(insert(SalesCustomer).from_select(SUMMARY_COLUMNS, summaries_of(None)))
    else:
        for chunk in _chunks(sorted(customers or ()), IN_LIST):
            session.execute(delete(SalesCustomer).where(SalesCustomer.customer_id.in_(chunk)))
            session.execute(insert(SalesCustomer).from_select(SUMMARY_COLUMNS, summaries_of(chunk)))
    after = _first_days(session, None if full else customers)
    return {day for customer in before.keys() | after.keys()
            if before.get(customer) != after.get(customer)
            for day in (before.get(customer), after.get(customer)) if day is not None}


SUMMARY_COLUMNS = ["customer_id", "first_day", "first_month", "last_day", "orders", "revenue", "elsewhere_day"]


def summaries_of(customers: Sequence[int] | None) -> Select[Any]:
    """The rows of ``analytics_sales_customers`` for ``customers`` (None: everyone), from their customer-days and
    reach. ``elsewhere_day``: the latest day they bought, or were in touch, on a channel other than their latest
    order's (of two on the latest day, the one that sorts first)."""
    day = CustomerDay
    rows = select(day.customer_id, day.day, day.month, day.channel, day.orders, day.revenue,
                  func.first_value(day.channel).over(partition_by=day.customer_id,
                                                     order_by=(day.day.desc(), day.channel)).label("last_channel"))
    rows = rows.where(day.customer_id != NO_CUSTOMER)
    if customers is not None:
        rows = rows.where(day.customer_id.in_(customers))
    each = rows.subquery("each_day")
    summary = (select(each.c.customer_id, func.min(each.c.day).label("first_day"),
                      func.min(each.c.month).label("first_month"), func.max(each.c.day).label("last_day"),
                      func.sum(each.c.orders).label("orders"), func.sum(each.c.revenue).label("revenue"),
                      func.max(case((each.c.channel != each.c.last_channel, each.c.day))).label("bought_elsewhere"),
                      func.max(each.c.last_channel).label("last_channel"))
               .group_by(each.c.customer_id).subquery("summary"))
    reach = CustomerReach
    touched_elsewhere = case((reach.channel != summary.c.last_channel, reach.last_day), else_=reach.other_last_day)
    return (select(summary.c.customer_id, summary.c.first_day, summary.c.first_month, summary.c.last_day,
                   summary.c.orders, summary.c.revenue,
                   _later(summary.c.bought_elsewhere, touched_elsewhere))
            .outerjoin(reach, reach.customer_id == summary.c.customer_id))


def _later(one: Any, other: Any) -> Any:
    """The later of two dates, either of which may be NULL (NULL when both are)."""
    return case((one.is_(None), other), (other.is_(None), one), (one >= other, one), else_=other)


def _rebuild_sales_days(session: Session, *, first: date, last: date) -> None:
    """Replace the sales-days of ``first``..``last`` with the sums of their customer-days."""
    known = case((CustomerDay.customer_id != NO_CUSTOMER, 1), else_=0)
    new = case((SalesCustomer.first_day == CustomerDay.day, 1), else_=0)
    returning = case((SalesCustomer.first_day < CustomerDay.day, 1), else_=0)
    sums = (select(CustomerDay.day, CustomerDay.channel, CustomerDay.store_id, func.sum(CustomerDay.orders),
                   func.sum(CustomerDay.revenue), func.sum(CustomerDay.items), func.sum(known), func.sum(new),
                   func.sum(returning))
            .select_from(CustomerDay)
            .outerjoin(SalesCustomer, SalesCustomer.customer_id == CustomerDay.customer_id)
            .where(CustomerDay.day.between(first, last))
            .group_by(CustomerDay.day, CustomerDay.channel, CustomerDay.store_id))
    session.execute(delete(SalesDay).where(SalesDay.day.between(first, last)))
    session.execute(insert(SalesDay).from_select(
        ["day", "channel", "store_id", "orders", "revenue", "items", "customers", "new_customers",
         "returning_customers"], sums))


def _rebuild_cohorts(session: Session, *, months: set[date], cohorts: set[date]) -> None:
    """Recount the cohort cells of ``months`` (whose customer-days changed) in every cohort, and every cell of
    ``cohorts`` (whose customers changed: a first order moved in or out of them)."""
    if not months and not cohorts:
        return
    counts = (select(SalesCustomer.first_month, CustomerDay.month, func.count(func.distinct(CustomerDay.customer_id)))
              .join(SalesCustomer, SalesCustomer.customer_id == CustomerDay.customer_id)
              .where(or_(CustomerDay.month.in_(sorted(months)), SalesCustomer.first_month.in_(sorted(cohorts))))
              .group_by(SalesCustomer.first_month, CustomerDay.month))
    session.execute(delete(CohortMonth).where(or_(CohortMonth.month.in_(sorted(months)),
                                                  CohortMonth.first_month.in_(sorted(cohorts)))))
    session.execute(insert(CohortMonth).from_select(["first_month", "month", "customers"], counts))


def _refresh_reach(session: Session, *, customers: set[int] | None) -> None:
    """Recompute the two most recent event channels of ``customers`` (None: every customer's) from their
    touch-days."""
    if customers is not None and not customers:
        return
    if customers is None:
        session.execute(delete(CustomerReach))
        session.execute(insert(CustomerReach).from_select(REACH_COLUMNS, reach_of(None)))
        return
    for chunk in _chunks(sorted(customers), IN_LIST):
        session.execute(delete(CustomerReach).where(CustomerReach.customer_id.in_(chunk)))
        session.execute(insert(CustomerReach).from_select(REACH_COLUMNS, reach_of(chunk)))


REACH_COLUMNS = ["customer_id", "channel", "last_day", "other_channel", "other_last_day"]


def reach_of(customers: Sequence[int] | None) -> Select[Any]:
    """The rows of ``analytics_customer_reach`` for ``customers`` (None: everyone), from the touch-days: each
    channel's last day, ranked newest first (a tie goes to the channel that sorts first), the top two side by side."""
    latest = select(TouchDay.customer_id, TouchDay.channel, func.max(TouchDay.day).label("last_day"))
    if customers is not None:
        latest = latest.where(TouchDay.customer_id.in_(customers))
    last = latest.group_by(TouchDay.customer_id, TouchDay.channel).subquery("latest")
    rank = func.row_number().over(partition_by=last.c.customer_id, order_by=(last.c.last_day.desc(), last.c.channel))
    ranked = select(last, rank.label("rank")).subquery("ranked")

    def of(place: int, column: Any) -> Any:
        return func.max(case((ranked.c.rank == place, column)))

    return (select(ranked.c.customer_id, of(1, ranked.c.channel), of(1, ranked.c.last_day), of(2, ranked.c.channel),
                   of(2, ranked.c.last_day))
            .where(ranked.c.rank <= 2).group_by(ranked.c.customer_id))


def _first_days(session: Session, customers: set[int] | None) -> dict[int, date]:
    query = select(SalesCustomer.customer_id, SalesCustomer.first_day)
    if customers is None:
        return {customer: day for customer, day in session.execute(query)}
    found: dict[int, date] = {}
    for chunk in _chunks(sorted(customers), IN_LIST):
        found.update({customer: day for customer, day in
                      session.execute(query.where(SalesCustomer.customer_id.in_(chunk)))})
    return found


def _in_touch_on(session: Session, first: date, last: date, *, adding_to: set[int] | None) -> set[int] | None:
    """``adding_to`` with the customers in touch on ``first``..``last``; None once they are more than
    ``FULL_RECOMPUTE_AT`` (a long rebuild then reads no ids it would not use)."""
    if adding_to is None:
        return None
    query = select(TouchDay.customer_id).where(TouchDay.day.between(first, last)).distinct()
    found = adding_to | set(session.scalars(query.limit(FULL_RECOMPUTE_AT + 1)))
    return None if len(found) > FULL_RECOMPUTE_AT else found


def _customers_on(session: Session, first: date, last: date) -> set[int]:
    return set(session.scalars(select(CustomerDay.customer_id).where(CustomerDay.day.between(first, last))
                               .distinct()))


def _bounds(first: date, last: date, timezone: str) -> list[datetime]:
    """The UTC moments each day of ``first``..``last`` starts, then the moment after ``last`` ends."""
    return [local_midnight(day, timezone) for day in each_day(first, last + timedelta(days=1))]


def each_day(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _runs(days: Sequence[date]) -> Iterator[tuple[date, date]]:
    """Runs of consecutive days, at most ``CHUNK_DAYS`` long, as (first, last)."""
    start = previous = None
    for day in days:
        if start is None or previous is None:
            start = previous = day
        elif day == previous + timedelta(days=1) and (day - start).days < CHUNK_DAYS:
            previous = day
        else:
            yield start, previous
            start = previous = day
    if start is not None and previous is not None:
        yield start, previous


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]

