"""RFM: how recently, how often and how much each customer bought, scored 1–5 as quintiles of their ranks, and the
named group their scores put them in.

* **Recency**: days from the customer's last purchase day to the day of the scoring (local days of the shop).
* **Frequency**: the number of placed, non-cancelled orders.
* **Monetary**: the money those orders total (VND).

Customers are ranked from worst to best on each measure (recency: the longest ago is the worst); equal values are
ordered by customer number, the higher number (the newer profile) first, so the lower number takes the higher
rank. With ``n`` customers the one ranked ``i`` (1 = worst) scores ``ceil(5·i/n)``: each score holds a fifth of the
customers. The F+M score is ``ceil((F + M) / 2)``; the group comes from R and F+M (``GROUP_GRID``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.analytics.filters import local_day
from xuyen.analytics.owners import merged_roots, owner_id
from xuyen.commerce.orders.models import Order, OrderStatus
from xuyen.customers.models import CustomerErasure

SCORES = 5
# Orders that count as purchases: placed and not cancelled (an order waiting for its payment is not placed yet).
COUNTED_STATUSES = (OrderStatus.placed, OrderStatus.fulfilling, OrderStatus.ready_for_pickup, OrderStatus.shipped,
                    OrderStatus.completed)

GROUPS = ("champions", "loyal", "potential_loyalists", "new_customers", "promising", "need_attention",
          "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost")

# The group of each (R score, F+M score): rows are R from 5 down to 1, columns F+M from 1 to 5.
GROUP_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "hibernating", "at_risk", "at_risk", "cannot_lose"),
}


@dataclass(frozen=True)
class Activity:
    """What one customer bought up to the scoring day."""

    customer_id: int
    last_day: date
    orders: int
    spend: int


@dataclass(frozen=True)
class Score:
    """One customer's RFM measures, scores and group."""

    customer_id: int
    recency_days: int
    frequency: int
    monetary: int
    r: int
    f: int
    m: int
    fm: int
    group: str


def purchase_moment() -> Any:
    """When an order counts as bought: when it was placed (or created, for an order recorded as placed)."""
    return func.coalesce(Order.placed_at, Order.created_at)


def counted_orders_query(*, until: datetime) -> Any:
    """(customer, purchase moment, total) of every counted order of a known customer placed before ``until``; a
    person erased on request is left out."""
    roots = merged_roots()
    customer = owner_id(Order.profile_id, roots)
    moment = purchase_moment()
    return (select(customer.label("customer_id"), moment.label("moment"), Order.total.label("total"))
            .select_from(Order).outerjoin(roots, roots.c.profile_id == Order.profile_id)
            .where(Order.profile_id.is_not(None), Order.status.in_(COUNTED_STATUSES), moment < until,
                   customer.not_in(select(CustomerErasure.profile_id))))


def read_activity(session: Session, *, until: datetime, timezone: str) -> list[Activity]:
    """Every customer's last purchase day, number of orders and spend, from the orders placed before ``until``."""
    orders = counted_orders_query(until=until).subquery("counted")
    rows = session.execute(select(orders.c.customer_id, func.max(orders.c.moment), func.count(),
                                  func.coalesce(func.sum(orders.c.total), 0))
                           .group_by(orders.c.customer_id).order_by(orders.c.customer_id)).all()
    typed = cast(list[tuple[int, datetime, int, int]], rows)
    return [Activity(customer_id=int(customer_id), last_day=local_day(last, timezone), orders=int(count),
                     spend=int(spend)) for customer_id, last, count, spend in typed]


def quintiles(values: dict[int, float]) -> dict[int, int]:
    """Scores 1–5 by rank: the customer ranked ``i`` of ``n`` from the lowest value scores ``ceil(5·i/n)``; equal
    values rank the higher customer number lower."""
    ordered = sorted(values, key=lambda customer_id: (values[customer_id], -customer_id))
    count = len(ordered)
    return {customer_id: math.ceil(SCORES * rank / count) for rank, customer_id in enumerate(ordered, start=1)}


def group_of(r: int, fm: int) -> str:
    """The named group of an R score and an F+M score (both 1–5)."""
    return GROUP_GRID[r][fm - 1]


def score(activities: Sequence[Activity], *, as_of: date) -> list[Score]:
    """Every customer's RFM scores and group on ``as_of``."""
    recency = {item.customer_id: (as_of - item.last_day).days for item in activities}
    r = quintiles({customer_id: -days for customer_id, days in recency.items()})
    f = quintiles({item.customer_id: item.orders for item in activities})
    m = quintiles({item.customer_id: item.spend for item in activities})
    found = []
    for item in activities:
        key = item.customer_id
        fm = math.ceil((f[key] + m[key]) / 2)
        found.append(Score(customer_id=key, recency_days=recency[key], frequency=item.orders, monetary=item.spend,
                           r=r[key], f=f[key], m=m[key], fm=fm, group=group_of(r[key], fm)))
    return found
