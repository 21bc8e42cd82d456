"""RFM scores and predicted customer value, computed from the orders and kept per customer: the nightly refresh,
and what the customer 360 page, the segments and the dashboard read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import delete, desc, func, select
from sqlalchemy.orm import Session

from xuyen.analytics import clv, rfm
from xuyen.analytics.filters import business_timezone, local_day, local_midnight, today
from xuyen.analytics.owners import merged_roots, owner_id
from xuyen.analytics.value_models import CustomerScore, ValueModelFit
from xuyen.clock import utcnow
from xuyen.errors import ValidationFailed
from xuyen.identity.models import Profile

DEFAULT_HORIZON_DAYS = 90
MAX_HORIZON_DAYS = 3650
FITTED, NOT_ENOUGH_DATA = "fitted", "not_enough_data"
SPEND_MODEL, OBSERVED_SPEND = "gamma_gamma", "observed_mean"


@dataclass(frozen=True)
class Refresh:
    """What a refresh stored: how many customers were scored, and the model's fit."""

    customers: int
    fit: ValueModelFit


@dataclass(frozen=True)
class Prediction:
    """The value model's figures for the scored customers, in their order (empty when it could not be fitted)."""

    expected: list[float]
    alive: list[float]
    value: list[int]


def checked_horizon(horizon_days: int) -> int:
    """The horizon in days, refused (``invalid_horizon``) outside 1–3650."""
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise ValidationFailed(f"The horizon is 1 to {MAX_HORIZON_DAYS} days.", code="invalid_horizon",
                               details={"horizon_days": horizon_days})
    return horizon_days


def compute(session: Session, *, as_of: date | None = None,
            horizon_days: int = DEFAULT_HORIZON_DAYS) -> Refresh:
    """Every customer's RFM scores and predictions as of the end of ``as_of`` (today by default), replacing the
    previous ones, and the model's fit recorded (helper: no commit)."""
    checked_horizon(horizon_days)
    zone = business_timezone()
    day = as_of or today(zone)
    until = local_midnight(day + timedelta(days=1), zone)
    scores = rfm.score(rfm.read_activity(session, until=until, timezone=zone), as_of=day)
    rows = cast(list[tuple[int, datetime, int]], session.execute(rfm.counted_orders_query(until=until)).all())
    transactions = [(str(customer_id), local_day(moment, zone), float(total)) for customer_id, moment, total in rows]
    summaries = {int(item.customer_id): item for item in clv.summarise(transactions, calibration_end=day)}
    ordered = [summaries[item.customer_id] for item in scores]
    fit = ValueModelFit(fitted_at=utcnow(), as_of=day, horizon_days=horizon_days, customers=len(ordered),
                        repeaters=sum(1 for item in ordered if item.frequency > 0), spend_model="")
    prediction = _predict(ordered, fit=fit, horizon_days=horizon_days)
    session.execute(delete(CustomerScore))
    now = utcnow()
    for index, item in enumerate(scores):
        session.add(CustomerScore(
            profile_id=item.customer_id, as_of=day, recency_days=item.recency_days, frequency=item.frequency,
            monetary=item.monetary, r_score=item.r, f_score=item.f, m_score=item.m, fm_score=item.fm,
            rfm_group=item.group, horizon_days=horizon_days, computed_at=now,
            expected_purchases=prediction.expected[index] if prediction.expected else None,
            probability_alive=prediction.alive[index] if prediction.alive else None,
            predicted_value=prediction.value[index] if prediction.value else None))
    session.add(fit)
    session.flush()
    return Refresh(customers=len(scores), fit=fit)


def refresh(session: Session, *, as_of: date | None = None, horizon_days: int = DEFAULT_HORIZON_DAYS) -> Refresh:
    """Compute and store every customer's scores and predictions, in one commit."""
    done = compute(session, as_of=as_of, horizon_days=horizon_days)
    session.commit()
    return done


def _predict(summaries: list[clv.Summary], *, fit: ValueModelFit, horizon_days: int) -> Prediction:
    """Fit the models on ``summaries`` and predict for each; the fit row records the parameters or the reason."""
    try:
        bgnbd, log_likelihood = clv.fit_bgnbd(summaries)
    except clv.NotEnoughData as exc:
        fit.status, fit.message = NOT_ENOUGH_DATA, exc.message
        return Prediction(expected=[], alive=[], value=[])
    fit.status, fit.log_likelihood = FITTED, log_likelihood
    fit.r, fit.alpha, fit.a, fit.b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
    x = np.array([s.frequency for s in summaries], dtype=np.float64)
    t_x = np.array([s.recency for s in summaries], dtype=np.float64)
    age = np.array([s.T for s in summaries], dtype=np.float64)
    spend = _spend(summaries, fit=fit, x=x)
    expected = clv.expected_purchases(bgnbd, horizon_days, x, t_x, age)
    if not np.all(np.isfinite(expected)) or float(np.max(expected, initial=0.0)) > horizon_days:
        # More than a purchase a day: the fit ran off to a degenerate corner, and its figures mean nothing.
        fit.status, fit.message = NOT_ENOUGH_DATA, "The purchase model did not settle on these orders; no prediction."
        return Prediction(expected=[], alive=[], value=[])
    alive = clv.probability_alive(bgnbd, x, t_x, age)
    value = clv.predicted_value(bgnbd, horizon_days=horizon_days, x=x, t_x=t_x, age=age, spend=spend)
    return Prediction(expected=[float(v) for v in expected], alive=[float(v) for v in alive],
                      value=[round(v) if math.isfinite(v) else 0 for v in value])


def _spend(summaries: list[clv.Summary], *, fit: ValueModelFit, x: Any) -> Any:
    """Expected spend per purchase: Gamma–Gamma, or each customer's own mean spend per purchase day when the spend
    model cannot be fitted."""
    try:
        spend_params, _ = clv.fit_gamma_gamma(summaries)
    except clv.NotEnoughData as exc:
        fit.spend_model = OBSERVED_SPEND
        fit.message = f"Spend per purchase is each customer's own mean: {exc.message}"
        return np.array([s.spend / (s.frequency + 1) for s in summaries], dtype=np.float64)
    fit.spend_model, fit.p, fit.q, fit.gamma = SPEND_MODEL, spend_params.p, spend_params.q, spend_params.gamma
    m = np.array([s.monetary for s in summaries], dtype=np.float64)
    return clv.expected_spend(spend_params, x, m)


def forget(session: Session, *, profile_ids: list[int]) -> None:
    """Delete these customers' scores (an erasure; helper: no commit)."""
    if profile_ids:
        session.execute(delete(CustomerScore).where(CustomerScore.profile_id.in_(profile_ids)))


def scores_of(session: Session, *, profile_ids: list[int]) -> list[CustomerScore]:
    """The stored scores of these profiles (a person's export)."""
    return list(session.scalars(select(CustomerScore).where(CustomerScore.profile_id.in_(profile_ids))
                                .order_by(CustomerScore.profile_id)))


# Reading -----------------------------------------------------------------------------------------------------


def customer_score(session: Session, *, profile_id: int) -> CustomerScore | None:
    """The scores of the customer ``profile_id`` belongs to (its surviving profile after merges), if any."""
    roots = merged_roots()
    survivor = session.execute(select(owner_id(Profile.id, roots)).select_from(Profile)
                               .outerjoin(roots, roots.c.profile_id == Profile.id)
                               .where(Profile.id == profile_id)).scalar()
    return session.get(CustomerScore, int(survivor)) if survivor is not None else None


def latest_fit(session: Session) -> ValueModelFit | None:
    """The last fit of the value model (or the reason it could not be fitted)."""
    return session.scalars(select(ValueModelFit).order_by(desc(ValueModelFit.fitted_at), desc(ValueModelFit.id))
                           .limit(1)).first()


def groups(session: Session) -> dict[str, tuple[int, int]]:
    """(customers, their spend) of every RFM group, in the order of ``rfm.GROUPS`` (0 for empty groups)."""
    rows = session.execute(select(CustomerScore.rfm_group, func.count(), func.coalesce(func.sum(
        CustomerScore.monetary), 0)).group_by(CustomerScore.rfm_group)).all()
    found = {str(name): (int(count), int(spend)) for name, count, spend in rows}
    return {name: found.get(name, (0, 0)) for name in rfm.GROUPS}


def grid(session: Session) -> dict[tuple[int, int], int]:
    """Customers by (R score, F score)."""
    rows = session.execute(select(CustomerScore.r_score, CustomerScore.f_score, func.count())
                           .group_by(CustomerScore.r_score, CustomerScore.f_score)).all()
    return {(int(r), int(f)): int(count) for r, f, count in rows}


def top_customers(session: Session, *, limit: int = 20) -> list[CustomerScore]:
    """The customers with the highest predicted value (then the highest spend so far)."""
    return list(session.scalars(select(CustomerScore).where(CustomerScore.predicted_value.is_not(None))
                                .order_by(desc(CustomerScore.predicted_value), desc(CustomerScore.monetary),
                                          CustomerScore.profile_id).limit(limit)))


VALUE_BANDS = (0, 100_000, 500_000, 1_000_000, 5_000_000)


def value_bands(session: Session) -> list[tuple[int, int | None, int]]:
    """(from, up to (excluded; None for the last band), customers) of predicted value in ``VALUE_BANDS``."""
    values = [int(v or 0) for v in session.scalars(select(CustomerScore.predicted_value)
                                                   .where(CustomerScore.predicted_value.is_not(None)))]
    bands = []
    for index, low in enumerate(VALUE_BANDS):
        high = VALUE_BANDS[index + 1] if index + 1 < len(VALUE_BANDS) else None
        bands.append((low, high, sum(1 for v in values if v >= low and (high is None or v < high))))
    return bands
