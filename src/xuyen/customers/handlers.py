"""Reactions of the customers domain: rebuild customers when their events, merges or unmerges change, and
write merges and unmerges to the audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.customers.service import refresh_customers
from xuyen.outbox import DomainEvent, on_event, on_events


@on_events("events.stored", name="customers.refresh_after_events")
@on_events("events.reassigned", name="customers.refresh_after_reassigned_events")
def refresh_after_events(session: Session, events: list[DomainEvent]) -> None:
    """Rebuild the customers whose profiles got new events, or got events back after an unmerge: each once, however
    many of the events name them."""
    profile_ids = {int(profile_id) for event in events for profile_id in event.payload.get("profile_ids", [])}
    refresh_customers(session, profile_ids=sorted(profile_ids))


@on_event("profile.merged", name="customers.refresh_after_merge")
def refresh_after_merge(session: Session, event: DomainEvent) -> None:
    """Rebuild the survivor of a merge (the absorbed profile's row goes) and audit the merge."""
    payload = event.payload
    refresh_customers(session, profile_ids=[payload["survivor_id"], payload["absorbed_id"]])
    audit.record(session, actor=str(payload.get("actor", "system")), action="profile.merged",
                 subject_type="profile", subject_id=payload["survivor_id"],
                 detail={"absorbed_id": payload["absorbed_id"], "merge_id": payload.get("merge_id")})


@on_event("profile.unmerged", name="customers.refresh_after_unmerge")
def refresh_after_unmerge(session: Session, event: DomainEvent) -> None:
    """Rebuild both profiles of an undone merge and audit the unmerge."""
    payload = event.payload
    refresh_customers(session, profile_ids=[payload["survivor_id"], payload["absorbed_id"]])
    audit.record(session, actor=str(payload.get("actor", "system")), action="profile.unmerged",
                 subject_type="profile", subject_id=payload["survivor_id"],
                 detail={"absorbed_id": payload["absorbed_id"], "merge_id": payload.get("merge_id")})
