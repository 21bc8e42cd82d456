"""Leads in the background: re-assignment of untouched leads (periodic) and following profile merges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xuyen.fields import service as custom_fields
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event
from xuyen.sales.custom_fields import LEAD
from xuyen.sales.leads import service
from xuyen.sales.leads.models import Lead, LeadCapture

REASSIGN_JOB = "leads.reassign_untouched"
REASSIGN_EVERY = timedelta(minutes=15)


@job(REASSIGN_JOB, max_attempts=3)
def reassign_untouched(session: Session, payload: dict[str, Any]) -> None:
    """Give leads nobody touched to someone else (safe to run twice: a moved lead is no longer untouched)."""
    service.move_untouched(session)


periodic(REASSIGN_JOB, every=REASSIGN_EVERY)


@on_event("profile.merged", name="sales.leads.follow_merge")
def follow_merge(session: Session, event: DomainEvent) -> None:
    """The absorbed profile's lead becomes the survivor's, or joins the survivor's lead (its captures move, and
    its custom field values for the fields the survivor's lead has no value for)."""
    survivor_id, absorbed_id = int(event.payload["survivor_id"]), int(event.payload["absorbed_id"])
    absorbed = session.scalar(select(Lead).where(Lead.profile_id == absorbed_id))
    if absorbed is None:
        return
    survivor = session.scalar(select(Lead).where(Lead.profile_id == survivor_id))
    if survivor is None:
        absorbed.profile_id = survivor_id
    else:
        session.execute(update(LeadCapture).where(LeadCapture.lead_id == absorbed.id)
                        .values(lead_id=survivor.id))
        survivor.captures = (survivor.captures or 0) + (absorbed.captures or 0)
        survivor.labels = list(dict.fromkeys([*(survivor.labels or []), *(absorbed.labels or [])]))
        survivor.owner_id = survivor.owner_id if survivor.owner_id is not None else absorbed.owner_id
        custom_fields.hand_over_values(session, entity=LEAD, survivor_id=survivor.id, absorbed_id=absorbed.id)
        session.delete(absorbed)
    session.flush()
