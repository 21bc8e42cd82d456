"""The demo shop tells a customer-journey story: a funnel from awareness to repurchase with reviews and shares,
orders credited to channels, and a readiness report."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.analytics import attribution, funnel, readiness
from xuyen.analytics.filters import Filters, today
from xuyen.demo.reviews import STEP
from xuyen.demo.service import load_demo, load_steps
from xuyen.events.models import Event


def test_the_demo_fills_the_funnel_and_attribution(session: Session) -> None:
    load_demo(session, seed=2026)
    session.rollback()
    last = today()
    chosen = Filters(first=last - timedelta(days=119), last=last)
    result = funnel.compute(session, filters=chosen)
    counts = [stage.customers for stage in result.stages]
    assert counts == sorted(counts, reverse=True) and counts[4] > 0, counts
    reached = {stage.key: stage.reached for stage in result.stages}
    assert reached["purchase"] > 0 and reached["use"] > 0
    assert session.scalar(select(func.count()).select_from(Event).where(Event.event == "Product Reviewed")) > 0
    credited = attribution.compute(session, filters=chosen)
    assert credited.orders > 0
    for model in attribution.MODELS:
        assert round(sum(credit.orders for credit in credited.credit[model].values()), 6) == credited.orders
        assert round(sum(credit.revenue for credit in credited.credit[model].values())) == credited.revenue
    assert len(readiness.compute(session, filters=chosen).answers) == 6
    assert STEP in [step.name for step in load_steps()]
