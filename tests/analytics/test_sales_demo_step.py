"""The demo's last step builds the sales rollups of every day from the first order to today, inside the demo's
transaction (nothing committed by the step)."""

from __future__ import annotations

import random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.analytics import sales_data
from xuyen.analytics.sales_models import SalesCustomer, SalesDay
from xuyen.demo.registry import DemoContext
from xuyen.demo.sales_rollups import STEP, build_sales_rollups
from xuyen.demo.service import load_steps
from xuyen.demo.shop import SHOP


def test_the_demo_ends_by_building_the_sales_rollups(session: Session) -> None:
    assert load_steps()[-1].name == STEP  # after every step that writes orders or events
    sales_data.build(session)
    context = DemoContext(seed=2026, shop=SHOP)
    build_sales_rollups(session, random.Random(1), context)
    # every placed, non-cancelled order of the small shop: o1–o7, o9, o10
    assert session.execute(select(func.sum(SalesDay.orders), func.sum(SalesDay.revenue))).one() == (9, 1_700_000)
    assert session.scalar(select(func.count()).select_from(SalesCustomer)) == 4
    assert context.extra[STEP]["customers"] == 4
    session.rollback()  # the step left the committing to the demo loader
    assert session.scalar(select(func.count()).select_from(SalesDay)) == 0
