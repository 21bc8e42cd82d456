"""The sales rollups kept up to date in the background: the days of changed orders recomputed as their events
arrive, the days of merged or unmerged customers likewise, and today and the days just before rebuilt hourly (for
events in the event log and late marketplace updates)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics import rollups
from xuyen.commerce.orders.records import CANCELLED, COMPLETED, PLACED, RETURNED
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_events

RECENT_JOB = "analytics.sales_rollup_recent"
RECENT_EVERY = timedelta(hours=1)


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
