"""The demo shop's customer value: every customer's RFM scores and group, and the value model's predictions (or the
recorded reason it could not be fitted on the demo's few orders), computed once all the orders are in and before the
ready-made journeys, whose win-back journey starts from the RFM "at risk" groups."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from xuyen.analytics import value
from xuyen.demo.registry import DemoContext, demo_step

STEP = "giá trị khách hàng"


@demo_step(STEP, order=97)
def add_customer_value(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The same computation the nightly job runs, so the dashboard and the 360 pages have figures at once."""
    session.flush()
    done = value.compute(session)
    context.extra[STEP] = {"customers": done.customers, "status": done.fit.status}
