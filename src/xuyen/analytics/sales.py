"""The figures of the sales and customers dashboard, read from the daily rollups (``xuyen.analytics.rollups``),
never from the raw orders, so they stay fast as the data grows. Every definition is in docs/analytics.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from xuyen.analytics.filters import Filters
from xuyen.analytics.sales_models import (
    NO_CUSTOMER,
    CohortMonth,
    CustomerDay,
    CustomerReach,
    SalesCustomer,
    SalesDay,
    TouchDay,
)

COHORT_MONTHS = 12


@dataclass(frozen=True)
class Totals:
    """The headline figures of a period."""

    revenue: int
    orders: int
    items: int
    customers: int

    @property
    def average_order(self) -> int:
        """Revenue per order, rounded to the đồng (0 without orders)."""
        return round(self.revenue / self.orders) if self.orders else 0


@dataclass(frozen=True)
class Slice:
    """The orders and revenue of one channel, store or day."""

    key: str
    orders: int
    revenue: int

    @property
    def average_order(self) -> int:
        """Revenue per order, rounded to the đồng."""
        return round(self.revenue / self.orders) if self.orders else 0


@dataclass(frozen=True)
class Group:
    """A group of the period's customers: how many, and what they spent."""

    customers: int
    revenue: int

    @property
    def average_spend(self) -> int:
        """Revenue per customer, rounded to the đồng."""
        return round(self.revenue / self.customers) if self.customers else 0


@dataclass(frozen=True)
class CustomerMix:
    """The period's customers split by newness, by channel count, and how many have bought twice or more."""

    new: Group
    returning: Group
    single_channel: Group
    multi_channel: Group
    repeat: int

    @property
    def customers(self) -> int:
        """Every customer of the period."""
        return self.new.customers + self.returning.customers

    @property
    def multi_channel_share(self) -> float:
        """The share of the period's customers active on two or more channels (0..1)."""
        return self.multi_channel.customers / self.customers if self.customers else 0.0

    @property
    def repeat_rate(self) -> float:
        """The share of the period's customers with two or more orders by the period's end (0..1)."""
        return self.repeat / self.customers if self.customers else 0.0


@dataclass(frozen=True)
class Cohorts:
    """Monthly cohorts by first-purchase month: ``shares[row][k]`` of each cohort bought in month +k."""

    months: list[date]
    sizes: list[int]
    shares: list[list[float | None]]


def _day_filters(model: Any, filters: Filters) -> list[Any]:
    clauses = [model.day.between(filters.first, filters.last)]
    if filters.channel is not None:
        clauses.append(model.channel == filters.channel.value)
    if filters.store_id is not None:
        clauses.append(model.store_id == filters.store_id)
    return clauses


def totals(session: Session, *, filters: Filters) -> Totals:
    """Revenue, orders, items and distinct known customers of the period."""
    revenue, orders, items = session.execute(
        select(func.coalesce(func.sum(SalesDay.revenue), 0), func.coalesce(func.sum(SalesDay.orders), 0),
               func.coalesce(func.sum(SalesDay.items), 0)).where(*_day_filters(SalesDay, filters))).one()
    if _is_recent_and_whole(session, filters):
        customers = session.scalar(select(func.count()).where(SalesCustomer.last_day >= filters.first))
    else:
        customers = session.scalar(select(func.count(func.distinct(CustomerDay.customer_id)))
                                   .where(*_day_filters(CustomerDay, filters), CustomerDay.customer_id != NO_CUSTOMER))
    return Totals(revenue=int(revenue), orders=int(orders), items=int(items), customers=int(customers or 0))


def per_day(session: Session, *, filters: Filters) -> list[Slice]:
    """Orders and revenue of every day of the period, days without orders included (as 0)."""
    found = {day: (int(orders), int(revenue)) for day, orders, revenue in session.execute(
        select(SalesDay.day, func.sum(SalesDay.orders), func.sum(SalesDay.revenue))
        .where(*_day_filters(SalesDay, filters)).group_by(SalesDay.day))}
    days = [filters.first + timedelta(days=offset) for offset in range(filters.days)]
    return [Slice(key=day.isoformat(), orders=found.get(day, (0, 0))[0], revenue=found.get(day, (0, 0))[1])
            for day in days]


def by_channel(session: Session, *, filters: Filters) -> list[Slice]:
    """Orders and revenue per sales channel, largest revenue first."""
    return _slices(session, SalesDay.channel, filters)


def by_store(session: Session, *, filters: Filters) -> list[Slice]:
    """Orders and revenue per store (key ``"0"``: orders taken by no store), largest revenue first."""
    return _slices(session, SalesDay.store_id, filters)


def _slices(session: Session, column: Any, filters: Filters) -> list[Slice]:
    rows = session.execute(select(column, func.sum(SalesDay.orders), func.sum(SalesDay.revenue))
                           .where(*_day_filters(SalesDay, filters)).group_by(column)
                           .order_by(func.sum(SalesDay.revenue).desc(), column))
    return [Slice(key=str(key), orders=int(orders), revenue=int(revenue)) for key, orders, revenue in cast(Any, rows)]


def customer_mix(session: Session, *, filters: Filters) -> CustomerMix:
    """The period's customers: new or returning, on one channel or several, and how many bought twice or more.

    A period up to today reads the customers' summaries: with no channel or store chosen (the dashboard's usual
    view) nearly alone (``_recent_mix``), else with the period's customer-days within the filters
    (``_recent_mix_within``). An older period reads its customer-days (``_mix_of_days``). The answers agree."""
    if not _runs_past_newest_day(session, filters):
        return _mix_of_days(session, filters=filters)
    if filters.channel is None and filters.store_id is None:
        return _recent_mix(session, first=filters.first, last=filters.last)
    return _recent_mix_within(session, filters=filters)


def _runs_past_newest_day(session: Session, filters: Filters) -> bool:
    """No customer-day or touch-day is later than the period's last day."""
    newest = [session.scalar(select(func.max(model.day))) for model in (CustomerDay, TouchDay)]  # index ends
    return all(day is None or filters.last >= day for day in newest)


def _is_recent_and_whole(session: Session, filters: Filters) -> bool:
    """The period runs past the newest rollup day, and no channel or store is chosen."""
    return filters.channel is None and filters.store_id is None and _runs_past_newest_day(session, filters)


def _recent_mix(session: Session, *, first: date, last: date) -> CustomerMix:
    """The mix of ``first`` up to past the newest rollup day, from the customers' summaries: a buyer of the period
    last ordered on ``first`` or later; a new one first ordered then, so their whole history (revenue, orders) is
    the period's; a repeat one ordered before it, or is new with two orders or more; a multi-channel one bought or
    was in touch on another channel than their latest order's in it (``elsewhere_day``).

    Only the period's revenue of the smaller of the multi- and single-channel groups reads customer-days (theirs);
    the other group's is the rest of the known customers' revenue."""
    customer = SalesCustomer
    is_new = customer.first_day >= first
    is_multi = customer.elsewhere_day >= first
    counts = session.execute(
        select(_count_of(is_new), func.coalesce(func.sum(case((is_new, customer.revenue), else_=0)), 0),
               _count_of(~is_new), _count_of(is_multi), _count_of(or_(~is_new, customer.orders >= 2)))
        .where(customer.last_day >= first)).one()
    new, new_revenue, returning, multi, repeat = (int(value or 0) for value in counts)
    single = new + returning - multi
    known_revenue = _known_revenue(session, first=first, last=last)
    smaller = is_multi if multi <= single else or_(customer.elsewhere_day.is_(None), customer.elsewhere_day < first)
    smaller_revenue = int(session.scalar(
        select(func.coalesce(func.sum(CustomerDay.revenue), 0))
        .join(customer, customer.customer_id == CustomerDay.customer_id)
        .where(customer.last_day >= first, smaller, CustomerDay.day.between(first, last))) or 0)
    multi_revenue = smaller_revenue if multi <= single else known_revenue - smaller_revenue
    return CustomerMix(new=Group(new, int(new_revenue)), returning=Group(returning, known_revenue - int(new_revenue)),
                       multi_channel=Group(multi, multi_revenue),
                       single_channel=Group(single, known_revenue - multi_revenue), repeat=repeat)


def _known_revenue(session: Session, *, first: date, last: date) -> int:
    """The revenue of ``first``..``last`` from known customers: every sale less the walk-ins'."""
    every_sale = session.scalar(select(func.coalesce(func.sum(SalesDay.revenue), 0))
                                .where(SalesDay.day.between(first, last)))
    walk_ins = session.scalar(select(func.coalesce(func.sum(CustomerDay.revenue), 0))
                              .where(CustomerDay.customer_id == NO_CUSTOMER, CustomerDay.day.between(first, last)))
    return int(every_sale or 0) - int(walk_ins or 0)


def _recent_mix_within(session: Session, *, filters: Filters) -> CustomerMix:
    """The mix of a period up to past the newest rollup day with a channel or store chosen: its buyers and their
    revenue from the period's customer-days within the filters; whether each is new, multi-channel or a repeat
    buyer (whatever the filters) from their summary, as in ``_recent_mix``."""
    buyers = (select(CustomerDay.customer_id.label("customer_id"), func.sum(CustomerDay.revenue).label("revenue"))
              .where(*_day_filters(CustomerDay, filters), CustomerDay.customer_id != NO_CUSTOMER)
              .group_by(CustomerDay.customer_id).subquery("buyers"))
    customer = SalesCustomer
    is_new = customer.first_day >= filters.first
    is_multi = func.coalesce(customer.elsewhere_day >= filters.first, False)
    spent = buyers.c.revenue
    row = [int(value or 0) for value in session.execute(
        select(*_group_sums(is_new, spent), *_group_sums(~is_new, spent), *_group_sums(is_multi, spent),
               *_group_sums(~is_multi, spent), _count_of(or_(~is_new, customer.orders >= 2)))
        .select_from(buyers).join(customer, customer.customer_id == buyers.c.customer_id)).one()]
    return CustomerMix(new=Group(row[0], row[1]), returning=Group(row[2], row[3]),
                       multi_channel=Group(row[4], row[5]), single_channel=Group(row[6], row[7]), repeat=row[8])


def _count_of(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _mix_of_days(session: Session, *, filters: Filters) -> CustomerMix:
    """The mix of any period, from its customer-days.

    One pass over the period's customer-days gives each buyer their spend (under the channel and store filters),
    their orders and the lowest and highest sales channel of their orders (whatever the filters). A buyer whose
    orders span two channels is multi-channel; one whose orders all came from one channel is multi-channel when
    an event of theirs in the period came from another one: exactly "two or more distinct channels", without
    collecting every buyer's channels. For a period that runs to the newest touch-day each buyer's two most recent
    event channels answer that (``analytics_customer_reach``); for an older period, one join of its touch-days with
    its buyers."""
    chosen = and_(*_day_filters(CustomerDay, filters))
    buyers = (select(CustomerDay.customer_id.label("customer_id"),
                     func.sum(case((chosen, CustomerDay.revenue), else_=0)).label("revenue"),
                     func.sum(case((chosen, 1), else_=0)).label("matched"),
                     func.sum(CustomerDay.orders).label("orders"),
                     func.min(CustomerDay.channel).label("low"), func.max(CustomerDay.channel).label("high"))
              .where(CustomerDay.day.between(filters.first, filters.last), CustomerDay.customer_id != NO_CUSTOMER)
              .group_by(CustomerDay.customer_id).cte("buyers"))
    is_new = SalesCustomer.first_day >= filters.first
    is_repeat = or_(SalesCustomer.first_day < filters.first, buyers.c.orders >= 2)
    query = (select(buyers)
             .join(SalesCustomer, and_(SalesCustomer.customer_id == buyers.c.customer_id,
                                       SalesCustomer.last_day >= filters.first))  # lets the index skip the rest
             .where(buyers.c.matched > 0))
    if _runs_to_newest_touch(session, filters):
        query, in_touch_elsewhere = _reach_elsewhere(query, buyers, filters)
    else:
        query, in_touch_elsewhere = _touch_days_elsewhere(query, buyers, filters)
    is_multi = or_(buyers.c.low != buyers.c.high, in_touch_elsewhere)
    spent = buyers.c.revenue
    query = query.with_only_columns(
        *_group_sums(is_new, spent), *_group_sums(~is_new, spent), *_group_sums(is_multi, spent),
        *_group_sums(~is_multi, spent), func.coalesce(func.sum(case((is_repeat, 1), else_=0)), 0),
        maintain_column_froms=True)
    row = [int(value or 0) for value in session.execute(query).one()]
    return CustomerMix(new=Group(row[0], row[1]), returning=Group(row[2], row[3]),
                       multi_channel=Group(row[4], row[5]), single_channel=Group(row[6], row[7]), repeat=row[8])


def _runs_to_newest_touch(session: Session, filters: Filters) -> bool:
    newest = session.scalar(select(func.max(TouchDay.day)))  # the end of the primary key's index
    return newest is None or filters.last >= newest


def _reach_elsewhere(query: Select[Any], buyers: Any, filters: Filters) -> tuple[Select[Any], Any]:
    """A buyer's latest event from a channel other than their orders' is on or after the period's first day."""
    reach = CustomerReach
    query = query.outerjoin(reach, reach.customer_id == buyers.c.customer_id)
    return query, or_(and_(reach.channel.is_not(None), reach.channel != buyers.c.low,
                           reach.last_day >= filters.first),
                      and_(reach.other_channel.is_not(None), reach.other_channel != buyers.c.low,
                           reach.other_last_day >= filters.first))


def _touch_days_elsewhere(query: Select[Any], buyers: Any, filters: Filters) -> tuple[Select[Any], Any]:
    """A buyer has a touch-day in the period from a channel other than their orders' lowest."""
    elsewhere = (select(TouchDay.customer_id.label("customer_id"))
                 .join(buyers, buyers.c.customer_id == TouchDay.customer_id)
                 .where(TouchDay.day.between(filters.first, filters.last), TouchDay.channel != buyers.c.low)
                 .distinct().subquery("elsewhere"))
    query = query.outerjoin(elsewhere, elsewhere.c.customer_id == buyers.c.customer_id)
    return query, elsewhere.c.customer_id.is_not(None)


def _group_sums(condition: Any, revenue: Any) -> tuple[Any, Any]:
    return (func.coalesce(func.sum(case((condition, 1), else_=0)), 0),
            func.coalesce(func.sum(case((condition, revenue), else_=0)), 0))


def cohorts(session: Session, *, filters: Filters, months: int = COHORT_MONTHS) -> Cohorts:
    """The ``months`` monthly cohorts up to the period's last month (every channel and store): of the customers
    whose first order fell in a month, the share who ordered again in each following month."""
    last_month = filters.last.replace(day=1)
    first_month = _add_months(last_month, -(months - 1))
    counts: dict[tuple[date, date], int] = {
        (cohort, month): count for cohort, month, count in session.execute(
            select(CohortMonth.first_month, CohortMonth.month, CohortMonth.customers)
            .where(CohortMonth.first_month.between(first_month, last_month), CohortMonth.month <= last_month))}
    rows = sorted({cohort for cohort, _ in counts})
    sizes = [counts.get((cohort, cohort), 0) for cohort in rows]
    shares: list[list[float | None]] = []
    for cohort, size in zip(rows, sizes, strict=True):
        line: list[float | None] = []
        for offset in range(months):
            month = _add_months(cohort, offset)
            line.append(None if month > last_month or not size else counts.get((cohort, month), 0) / size)
        shares.append(line)
    return Cohorts(months=rows, sizes=sizes, shares=shares)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)
