"""Membership in the background: affected customers evaluated again when their events, orders, tier, fields or
merges arrive, and every segment refreshed hourly (time moves customers out of "in the last 7 days")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event, on_events
from xuyen.segments import service

REFRESH_ALL_JOB = "segments.refresh_all"
REFRESH_EVERY = timedelta(hours=1)


@on_events("events.stored", "events.reassigned", "loyalty.tier_changed", "field.values_changed",
           name="segments.evaluate_after_changes")
def evaluate_after_changes(session: Session, events: list[DomainEvent]) -> None:
    """Evaluate again only the customers these events name (not for the entries and exits segments recorded)."""
    own = service.source_id(session)
    profile_ids: set[int] = set()
    for event in events:
        if not (event.topic == "events.stored" and own is not None and event.aggregate_id == str(own)):
            profile_ids.update(_named_profiles(event))
    service.refresh_profiles(session, profile_ids=profile_ids)


def _named_profiles(event: DomainEvent) -> set[int]:
    payload = event.payload
    if event.topic == "events.stored":
        return {int(profile_id) for profile_id in payload.get("profile_ids", [])}
    if event.topic == "field.values_changed":
        return {int(payload["entity_id"])} if payload.get("entity") == "customer" else set()
    found = {int(payload[key]) for key in ("profile_id", "survivor_id", "absorbed_id") if payload.get(key)}
    if event.aggregate_type == "profile" and event.aggregate_id.isdigit():
        found.add(int(event.aggregate_id))
    return found


@on_event("profile.merged", "profile.unmerged", name="segments.evaluate_after_merge")
def evaluate_after_merge(session: Session, event: DomainEvent) -> None:
    """A merge: the absorbed profile leaves its segments, the survivor is evaluated with both histories."""
    ids = {int(event.payload[key]) for key in ("survivor_id", "absorbed_id") if event.payload.get(key)}
    service.refresh_profiles(session, profile_ids=ids)


@job(REFRESH_ALL_JOB, max_attempts=3)
def refresh_all(session: Session, payload: dict[str, Any]) -> None:
    """Every segment's members computed again (or one segment's, when the payload names it)."""
    if payload.get("segment_id"):
        service.refresh_segment(session, segment_id=int(payload["segment_id"]))
    else:
        service.refresh_all(session)


periodic(REFRESH_ALL_JOB, every=REFRESH_EVERY)
