"""The last demo step: the daily sales rollups built for every day of the demo shop's orders, so the sales and
customers dashboard (and the overview) tell the shop's story from the first page view."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from xuyen.analytics import rollups
from xuyen.analytics.filters import business_timezone, today
from xuyen.demo.registry import DemoContext, demo_step

STEP = "số liệu bán hàng"


@demo_step(STEP, order=120)  # last: every step that writes orders or events comes before
def build_sales_rollups(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Recompute the rollups from the first order's day to today (in the demo's one transaction)."""
    zone = business_timezone()
    session.flush()
    first = rollups.first_order_day(session, timezone=zone)
    if first is None:
        return
    last = today(zone)
    result = rollups.refresh_days(session, days=rollups.each_day(first, last), timezone=zone)
    context.extra[STEP] = {"days": result.days, "customers": result.customers}
