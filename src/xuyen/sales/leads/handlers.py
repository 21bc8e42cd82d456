"""Leads in the background: re-assignment of untouched leads (periodic), following profile merges, and the leads
channels receive (Facebook Lead Ads, Zalo information requests)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xuyen.fields import service as custom_fields
from xuyen.inbox.intake import LEAD_RECEIVED
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event
from xuyen.sales.custom_fields import LEAD
from xuyen.sales.leads import channel_leads, service
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


@on_event(LEAD_RECEIVED, name="sales.leads.channel_lead")
def channel_lead(session: Session, event: DomainEvent) -> None:
    """A lead a channel received: captured now when it came with its answers, else kept and its reading queued."""
    channel_leads.receive(session, payload=event.payload)


@job(channel_leads.FETCH_JOB, isolated=True, max_attempts=3)
def fetch_channel_lead(session: Session, payload: dict[str, Any]) -> None:
    """Read a Lead Ads lead from the Graph API and capture it (its own retries note the reason and back off)."""
    channel_leads.fetch(session, retrieval_id=int(payload["retrieval_id"]))


@job(channel_leads.SWEEP_JOB, max_attempts=3)
def retry_channel_leads(session: Session, payload: dict[str, Any]) -> None:
    """Queue again the lead readings whose job was lost."""
    channel_leads.queue_overdue(session)


periodic(channel_leads.SWEEP_JOB, every=timedelta(minutes=15))
