"""Analytics in the background: every customer's RFM scores and predicted value computed again each night."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics import value
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event

VALUE_JOB = "analytics.customer_value"
VALUE_EVERY = timedelta(days=1)  # at midnight UTC, early morning in Việt Nam


@job(VALUE_JOB, max_attempts=3)
def refresh_customer_value(session: Session, payload: dict[str, Any]) -> None:
    """RFM scores and the value model's predictions for every customer (the horizon from the payload, 90 days by
    default)."""
    value.compute(session, horizon_days=int(payload.get("horizon_days") or value.DEFAULT_HORIZON_DAYS))


periodic(VALUE_JOB, every=VALUE_EVERY)


@on_event("customer.erased", name="analytics.forget_erased")
def forget_erased(session: Session, event: DomainEvent) -> None:
    """An erased person's scores and predictions go at once (refreshes leave erased people out)."""
    value.forget(session, profile_ids=[int(item) for item in event.payload["profile_ids"]])
