"""Deal test data: a customer with a profile, the small shop of the orders tests, and readers of what deals wrote."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.commerce.orders.support import LAN, profile_of
from xuyen.events.models import Event
from xuyen.outbox import OutboxEvent
from xuyen.sales.deals import pipelines
from xuyen.sales.deals.models import Stage, StageKind
from xuyen.sales.deals.service import Actor
from xuyen.sales.scope import SalesScope

ALL = SalesScope(everything=True)
ACTOR = Actor(name="test")


def customer(session: Session) -> int:
    """Lan's profile id."""
    return profile_of(session, LAN)


def stage(session: Session, name: str) -> Stage:
    """The default pipeline's stage called ``name``."""
    pipeline = pipelines.ensure_defaults(session)
    session.commit()
    return next(s for s in pipelines.stages_of(session, pipeline_id=pipeline.id) if s.name == name)


def won_stage(session: Session) -> Stage:
    """The default pipeline's won stage."""
    pipeline = pipelines.ensure_defaults(session)
    session.commit()
    return next(s for s in pipelines.stages_of(session, pipeline_id=pipeline.id) if s.kind is StageKind.won)


def deal_topics(session: Session, deal_id: int) -> list[str]:
    """The deal topics written to the outbox for the deal, oldest first."""
    session.rollback()
    return [e.topic for e in session.scalars(select(OutboxEvent).where(
        OutboxEvent.topic.like("deal.%"), OutboxEvent.aggregate_id == str(deal_id)).order_by(OutboxEvent.id))]


def deal_events(session: Session, deal_id: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    """The Segment events of the deal in the event log: (name, profile, properties)."""
    session.rollback()
    return [(e.event or "", e.profile_id, e.properties or {}) for e in session.scalars(select(Event).order_by(Event.id))
            if (e.properties or {}).get("deal_id") == deal_id]
