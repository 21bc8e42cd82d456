"""Reactions of the event log to other domains' events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from xuyen.events.models import Event
from xuyen.outbox import DomainEvent, emit, on_event


@on_event("profile.unmerged", name="events.return_events_after_unmerge")
def return_events_after_unmerge(session: Session, event: DomainEvent) -> None:
    """Give back to an unmerged profile the events that arrived during the merge carrying its ids.

    Events stored before the merge kept the absorbed profile's id all along; only those received while
    the merge stood were stamped with the survivor. Those whose user id or anonymous id went back with
    the unmerge go back too.
    """
    payload = event.payload
    ids = payload.get("identifiers", [])
    user_ids = [item["value"] for item in ids if item["type"] == "user_id"]
    anonymous_ids = [item["value"] for item in ids if item["type"] == "anonymous_id"]
    if not (user_ids or anonymous_ids):
        return
    moved = session.execute(
        update(Event)
        .where(Event.profile_id == payload["survivor_id"],
               Event.received_at >= datetime.fromisoformat(payload["merged_at"]),
               or_(Event.user_id.in_(user_ids), Event.anonymous_id.in_(anonymous_ids)))
        .values(profile_id=payload["absorbed_id"])
        .execution_options(synchronize_session=False)
    )
    if getattr(moved, "rowcount", 0):
        emit(session, topic="events.reassigned", aggregate_type="profile", aggregate_id=payload["absorbed_id"],
             payload={"profile_ids": [payload["survivor_id"], payload["absorbed_id"]]})
