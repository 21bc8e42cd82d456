"""RFM scores and groups computed by hand for a small shop (ties, a merged customer, orders that do not count), the
nightly refresh storing them with the value model's predictions or its clear fallback, and what the 360 page
reads; on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.analytics import clv, rfm, value
from xuyen.analytics.export import customer_value
from xuyen.analytics.handlers import VALUE_JOB, forget_erased, refresh_customer_value
from xuyen.analytics.value_models import CustomerScore, ValueModelFit
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderStatus
from xuyen.customers.models import CustomerErasure
from xuyen.identity.models import Profile
from xuyen.jobs import handler_for, periodic_specs
from xuyen.outbox import DomainEvent

AS_OF = date(2026, 3, 31)  # scored at the end of 31 March, Hà Nội time


def _profile(session: Session) -> int:
    now = datetime.now(UTC)
    profile = Profile(first_seen_at=now, last_seen_at=now)
    session.add(profile)
    session.flush()
    return profile.id


def _order(session: Session, profile_id: int | None, day: date, total: int,
           status: OrderStatus = OrderStatus.completed) -> None:
    at = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội, the same day
    session.add(Order(channel=SalesChannel.web, status=status, profile_id=profile_id, total=total, subtotal=total,
                      placed_at=at, created_at=at, updated_at=at))


@pytest.fixture
def shop(session: Session) -> dict[str, int]:
    """Five customers (E bought under two profiles, since merged) and orders that do not count."""
    ids = {name: _profile(session) for name in ("A", "B", "C", "D", "E1", "E2", "F")}
    for day, total in ((date(2026, 3, 30), 100_000), (date(2026, 3, 20), 200_000), (date(2026, 3, 10), 300_000)):
        _order(session, ids["A"], day, total)
    _order(session, ids["B"], date(2026, 3, 30), 50_000)
    _order(session, ids["C"], date(2026, 2, 28), 1_000_000)
    _order(session, ids["C"], date(2026, 1, 15), 500_000)
    _order(session, ids["D"], date(2026, 1, 1), 80_000)
    _order(session, ids["E1"], date(2026, 3, 25), 120_000)
    _order(session, ids["E2"], date(2025, 12, 1), 100_000)
    _order(session, ids["F"], date(2026, 3, 29), 900_000, status=OrderStatus.cancelled)
    _order(session, ids["F"], date(2026, 3, 29), 900_000, status=OrderStatus.pending_payment)
    _order(session, ids["A"], date(2026, 4, 1), 5_000_000)  # after the scoring day
    _order(session, None, date(2026, 3, 30), 70_000)  # a walk-in: no customer
    session.flush()
    session.get(Profile, ids["E1"]).merged_into_id = ids["E2"]  # type: ignore[union-attr]
    session.commit()
    return ids


def test_quintiles_on_ranks_with_ties_broken_by_customer_number() -> None:
    # seven customers: ranks 1..7 score ceil(5·rank/7) = 1, 2, 3, 3, 4, 5, 5
    values = {10: 5.0, 11: 1.0, 12: 7.0, 13: 3.0, 14: 3.0, 15: 9.0, 16: 2.0}
    # ordered: 11 (1), 16 (2), then the tie at 3 — 14 before 13 (the higher number ranks lower) — 10, 12, 15
    assert rfm.quintiles(values) == {11: 1, 16: 2, 14: 3, 13: 3, 10: 4, 12: 5, 15: 5}
    assert rfm.quintiles({1: 0.0}) == {1: 5}
    assert rfm.quintiles({}) == {}


def test_every_cell_of_the_grid_has_a_named_group() -> None:
    named = {rfm.group_of(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert named == set(rfm.GROUPS)
    assert (rfm.group_of(5, 5), rfm.group_of(1, 1), rfm.group_of(1, 5), rfm.group_of(3, 3)) == (
        "champions", "lost", "cannot_lose", "need_attention")


def test_scores_and_groups_by_hand(session: Session, shop: dict[str, int]) -> None:
    done = value.refresh(session, as_of=AS_OF)
    rows = {row.profile_id: row for row in session.scalars(select(CustomerScore))}
    names = {shop[name]: name for name in ("A", "B", "C", "D", "E2")}
    assert set(rows) == set(names) and done.customers == 5
    got = {names[key]: (row.recency_days, row.frequency, row.monetary, row.r_score, row.f_score, row.m_score,
                        row.fm_score, row.rfm_group) for key, row in rows.items()}
    # recency: A 1, B 1, E 6 (E1's order of 25 March), C 31, D 89 days; ranks worst first: D, C, E, then the tie
    # A = B broken by number (B, the higher number, ranks lower): R = D1 C2 E3 B4 A5 (five customers: score = rank)
    # frequency: B 1, D 1 (tie: D ranks lower), C 2, E 2 (tie: E2 ranks lower), A 3: F = D1 B2 E3 C4 A5
    # monetary: B 50k, D 80k, E 220k, A 600k, C 1.5M: M = B1 D2 E3 A4 C5; F+M = ceil((F+M)/2)
    assert got["A"] == (1, 3, 600_000, 5, 5, 4, 5, "champions")
    assert got["B"] == (1, 1, 50_000, 4, 2, 1, 2, "potential_loyalists")
    assert got["C"] == (31, 2, 1_500_000, 2, 4, 5, 5, "cannot_lose")
    assert got["D"] == (89, 1, 80_000, 1, 1, 2, 2, "hibernating")
    assert got["E2"] == (6, 2, 220_000, 3, 3, 3, 3, "need_attention")
    # the absorbed profile reads its survivor's scores on the 360 page
    assert value.customer_score(session, profile_id=shop["E1"]).profile_id == shop["E2"]  # type: ignore[union-attr]
    assert value.customer_score(session, profile_id=shop["F"]) is None
    assert value.groups(session)["champions"] == (1, 600_000) and value.groups(session)["lost"] == (0, 0)
    assert value.grid(session) == {(5, 5): 1, (4, 2): 1, (2, 4): 1, (1, 1): 1, (3, 3): 1}


def test_too_little_data_stores_scores_and_says_why_there_is_no_prediction(session: Session,
                                                                           shop: dict[str, int]) -> None:
    done = value.refresh(session, as_of=AS_OF)
    fit = value.latest_fit(session)
    assert fit is not None and fit.id == done.fit.id and fit.status == value.NOT_ENOUGH_DATA
    assert (fit.customers, fit.repeaters, fit.r) == (5, 3, None)
    assert "at least 10 customers" in fit.message
    assert all(row.predicted_value is None and row.probability_alive is None
               for row in session.scalars(select(CustomerScore)))
    value.refresh(session, as_of=AS_OF)  # refreshed again: the same rows, replaced, and a second fit recorded
    assert len(list(session.scalars(select(CustomerScore)))) == 5
    assert len(list(session.scalars(select(ValueModelFit)))) == 2


def test_a_fitted_model_stores_each_customers_predictions(session: Session) -> None:
    # 24 customers: customer k (0..23) first buys 100+3k days before the scoring day, then every 10+k days while
    # that falls at least k days before it, 1 + k mod 4 orders in all, each of 100,000 + 1,000·k ₫
    first_days, gaps = {}, {}
    for k in range(24):
        profile_id = _profile(session)
        first, gap = AS_OF - timedelta(days=100 + 3 * k), 10 + k
        day, count = first, 0
        while day <= AS_OF - timedelta(days=k) and count < 1 + k % 4:
            _order(session, profile_id, day, 100_000 + 1_000 * k)
            day, count = day + timedelta(days=gap), count + 1
        first_days[profile_id], gaps[profile_id] = first, (gap, count, 100_000 + 1_000 * k)
    session.commit()
    done = value.refresh(session, as_of=AS_OF, horizon_days=60)
    fit = done.fit
    assert fit.status == value.FITTED and fit.spend_model == value.SPEND_MODEL and fit.horizon_days == 60
    params = clv.BgNbd(fit.r, fit.alpha, fit.a, fit.b)  # type: ignore[arg-type]
    spend = clv.GammaGamma(fit.p, fit.q, fit.gamma)  # type: ignore[arg-type]
    for profile_id, (gap, count, amount) in gaps.items():
        row = session.get(CustomerScore, profile_id)
        assert row is not None
        x, t_x, age = count - 1, gap * (count - 1), (AS_OF - first_days[profile_id]).days
        arrays = (np.array([x], float), np.array([t_x], float), np.array([age], float))
        assert row.expected_purchases == pytest.approx(clv.expected_purchases(params, 60, *arrays)[0])
        assert row.probability_alive == pytest.approx(clv.probability_alive(params, *arrays)[0])
        m = float(amount) if x > 0 else 0.0
        per_purchase = clv.expected_spend(spend, np.array([x], float), np.array([m], float))[0]
        assert math.isfinite(per_purchase)
        assert row.predicted_value == round(row.expected_purchases * per_purchase)  # type: ignore[operator]


def test_the_nightly_job_is_registered_and_refreshes(session: Session, shop: dict[str, int]) -> None:
    assert handler_for(VALUE_JOB) is not None
    assert any(spec.name == VALUE_JOB and spec.every == timedelta(days=1) for spec in periodic_specs())
    refresh_customer_value(session, {"horizon_days": 30})
    session.commit()
    fit = value.latest_fit(session)
    assert fit is not None and fit.horizon_days == 30
    assert len(list(session.scalars(select(CustomerScore)))) == 5


def test_an_erased_person_is_forgotten_and_left_out(session: Session, shop: dict[str, int]) -> None:
    value.refresh(session, as_of=AS_OF)
    forget_erased(session, DomainEvent(id=1, topic="customer.erased", aggregate_type="profile", created_at=utcnow(),
                                       aggregate_id=str(shop["C"]), payload={"profile_ids": [shop["C"]]}))
    session.commit()
    assert session.get(CustomerScore, shop["C"]) is None
    session.add(CustomerErasure(profile_id=shop["C"], actor="test", reason="request", counts={},
                                erased_at=utcnow()))
    session.commit()
    assert value.refresh(session, as_of=AS_OF).customers == 4
    assert session.get(CustomerScore, shop["C"]) is None
    assert customer_value(session, [shop["A"]])[0]["rfm_group"] == "champions"
