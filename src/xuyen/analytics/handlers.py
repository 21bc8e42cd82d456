"""Analytics in the background: every minute the scheduled reports that are due are queued (each run's e-mail a
job of its own, run alone: it talks to a mail server), and every night each customer's RFM scores and predicted
value are computed again."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics import schedules, value
from xuyen.config import get_settings
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event

VALUE_JOB = "analytics.customer_value"
VALUE_EVERY = timedelta(days=1)  # at midnight UTC, early morning in Việt Nam


@job(schedules.DUE_JOB)
def queue_due_reports(session: Session, payload: dict[str, Any]) -> None:
    """Queue one send for every scheduled report whose time has come."""
    schedules.queue_due(session)


@job(schedules.SEND_JOB, isolated=True)
def send_report(session: Session, payload: dict[str, Any]) -> None:
    """E-mail one run of a scheduled report."""
    importlib.import_module("xuyen.analytics.pages")  # every dashboard registers its tables when its page loads
    schedules.send_run(session, run_id=int(payload["run_id"]), base_url=get_settings().public_url.rstrip("/"))


periodic(schedules.DUE_JOB, every=timedelta(minutes=1))


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
