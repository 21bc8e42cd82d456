"""The demo shop ends its load with every buying customer scored, and the value model fitted or its reason
recorded (the demo has few orders)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.analytics import value
from xuyen.analytics.value_models import CustomerScore
from xuyen.commerce.orders.models import Order
from xuyen.demo import customers
from xuyen.demo.service import load_demo


@pytest.mark.slow
def test_the_demo_scores_its_customers(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", 20)
    load_demo(session, seed=2026)
    session.rollback()
    scored = session.scalar(select(func.count()).select_from(CustomerScore))
    buyers = session.scalar(select(func.count(func.distinct(Order.profile_id))).where(Order.profile_id.is_not(None)))
    assert scored and buyers and 0 < scored <= buyers
    fit = value.latest_fit(session)
    assert fit is not None and fit.status in (value.FITTED, value.NOT_ENOUGH_DATA) and fit.customers == scored
    if fit.status == value.NOT_ENOUGH_DATA:
        assert "at least" in fit.message or "did not settle" in fit.message  # too few orders, or a degenerate fit
        assert session.scalar(select(func.count()).where(CustomerScore.predicted_value.is_not(None))) == 0
