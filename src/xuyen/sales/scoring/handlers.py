"""Scoring in the background: leads scored again when their customer's events arrive, custom field values change
or profiles merge, after the rules change, and every few hours as their behaviour points decay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.fields.service import VALUES_CHANGED
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event, on_events
from xuyen.sales.custom_fields import LEAD
from xuyen.sales.leads.models import Lead
from xuyen.sales.scoring import service
from xuyen.sales.scoring.rules import RESCORE_ALL_JOB, list_rules

DECAY_JOB = "sales.scoring.decay"
DECAY_EVERY = timedelta(hours=6)


@on_events("events.stored", "events.reassigned", name="sales.scoring.score_after_events")
def score_after_events(session: Session, events: list[DomainEvent]) -> None:
    """Score again the leads whose customers got events (those scoring recorded itself are left out; with no rule
    active there is nothing to score)."""
    if not list_rules(session, active_only=True):
        return
    own = service.scoring_source_id(session)
    profile_ids = {int(profile_id) for event in events
                   if not (event.topic == "events.stored" and own is not None and event.aggregate_id == str(own))
                   for profile_id in event.payload.get("profile_ids", [])}
    if profile_ids:
        service.score_profiles(session, profile_ids=profile_ids, reason="activity")


@on_events(VALUES_CHANGED, name="sales.scoring.score_after_field_changes")
def score_after_field_changes(session: Session, events: list[DomainEvent]) -> None:
    """Custom field values of customers or leads changed: score their leads again (fit rules may read them)."""
    if not list_rules(session, active_only=True):
        return
    customers = {int(event.payload["entity_id"]) for event in events if event.payload.get("entity") == "customer"}
    leads = {int(event.payload["entity_id"]) for event in events if event.payload.get("entity") == LEAD}
    if leads:
        customers.update(session.scalars(select(Lead.profile_id).where(Lead.id.in_(sorted(leads)))))
    if customers:
        service.score_profiles(session, profile_ids=customers, reason="fields")


@on_event("profile.merged", name="sales.scoring.score_after_merge")
def score_after_merge(session: Session, event: DomainEvent) -> None:
    """A merge joins two customers' events: score the survivor's lead again."""
    service.score_profiles(session, profile_ids=[int(event.payload["survivor_id"])], reason="merge")


@job(RESCORE_ALL_JOB, max_attempts=3)
def rescore_all(session: Session, payload: dict[str, Any]) -> None:
    """Score every lead with the rules as they are now."""
    service.score_all(session, reason="rules")


@job(DECAY_JOB, max_attempts=3)
def decay(session: Session, payload: dict[str, Any]) -> None:
    """Score every lead again so that behaviour points lose value with time (safe to run twice)."""
    service.score_all(session, reason="decay")


periodic(DECAY_JOB, every=DECAY_EVERY)
