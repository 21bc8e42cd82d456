"""Analytics in the background: the sales rollups kept up to date (the days of changed orders recomputed as their
events arrive, the days of merged or unmerged customers likewise, today and the days just before rebuilt hourly for
events in the event log and late marketplace updates); every minute the scheduled reports that are due are queued
(each run's e-mail a job of its own, run alone: it talks to a mail server); every night each customer's RFM scores
and predicted value computed again."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics import rollups, schedules, value
from xuyen.commerce.orders.records import CANCELLED, COMPLETED, PLACED, RETURNED
from xuyen.config import get_settings
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event, on_events

RECENT_JOB = "analytics.sales_rollup_recent"
RECENT_EVERY = timedelta(hours=1)
VALUE_JOB = "analytics.customer_value"
VALUE_EVERY = timedelta(days=1)  # at midnight UTC, early morning in Việt Nam


@on_events(PLACED, COMPLETED, CANCELLED, RETURNED, name="analytics.sales_rollup_orders")
def refresh_after_orders(session: Session, events: list[DomainEvent]) -> None:
    """Recompute the days the named orders were placed on (once for a whole batch of events)."""
    order_ids = [int(event.payload["order_id"]) for event in events if event.payload.get("order_id")]
    order_ids += [int(event.aggregate_id) for event in events if event.aggregate_id.isdigit()]
    rollups.refresh_orders(session, order_ids=order_ids)


@on_events("profile.merged", "profile.unmerged", name="analytics.sales_rollup_merges")
def refresh_after_merges(session: Session, events: list[DomainEvent]) -> None:
    """Recompute the days the merged or unmerged customers ordered or were in touch on."""
    profile_ids = {int(event.payload[key]) for event in events for key in ("survivor_id", "absorbed_id")
                   if event.payload.get(key)}
    rollups.refresh_profiles(session, profile_ids=sorted(profile_ids))


@job(RECENT_JOB, max_attempts=3)
def rebuild_recent(session: Session, payload: dict[str, Any]) -> None:
    """Rebuild today and the days just before it (``days`` in the payload, 3 unless given)."""
    rollups.rebuild_recent(session, days=int(payload.get("days") or rollups.RECENT_DAYS))


periodic(RECENT_JOB, every=RECENT_EVERY)


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
