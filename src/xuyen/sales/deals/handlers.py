"""Deals following the identity graph: when two profiles are merged, the absorbed profile's deals move to the
survivor (as its lead does), so the deal, its price quote and its order name the customer who remains."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from xuyen.outbox import DomainEvent, on_event
from xuyen.sales.deals.models import Deal


@on_event("profile.merged", name="sales.deals.follow_merge")
def follow_merge(session: Session, event: DomainEvent) -> None:
    """The absorbed profile's deals become the survivor's (safe to run twice: nothing is left to move)."""
    survivor_id, absorbed_id = int(event.payload["survivor_id"]), int(event.payload["absorbed_id"])
    session.execute(update(Deal).where(Deal.profile_id == absorbed_id).values(profile_id=survivor_id))
    session.flush()
