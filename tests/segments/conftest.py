"""Segment test helpers: customers made through the event log like a website's, and the worker run until idle."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for every test here)
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.events.models import ChannelType
from xuyen.events.service import add_source, channel_call, record_channel_calls
from xuyen.outbox import OutboxEvent
from xuyen.worker import Worker

_numbers = itertools.count(1)


def run_worker(session: Session, engine: Engine) -> None:
    """Everything queued done (no periodic jobs: the test says when a refresh runs); the session sees it."""
    session.commit()
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    session.expire_all()


def track(session: Session, *, phone: str, event: str = "Signed Up", at: datetime | None = None,
          properties: dict[str, Any] | None = None, traits: dict[str, Any] | None = None) -> int:
    """A website's track call for the person with ``phone``, committed; their surviving profile id."""
    number = next(_numbers)
    source = add_source(session, name=f"Website thử nghiệm {number}", channel=ChannelType.web)[0]
    call = channel_call(event=event, message_id=f"segments-{number}", identifiers=[("phone", phone, None)],
                        timestamp=at or utcnow(), properties=properties or {}, traits=traits)
    [profile_id] = record_channel_calls(session, calls=[(source.id, call)])
    session.commit()
    assert profile_id is not None
    return profile_id


def set_customer(session: Session, engine: Engine, profile_id: int, **values: Any) -> None:
    """The customer row of the profile given these columns (after the worker built it), committed."""
    run_worker(session, engine)
    session.execute(update(CustomerProfile).where(CustomerProfile.profile_id == profile_id).values(**values))
    session.commit()


def outbox(session: Session, *topics: str) -> list[tuple[str, int, int]]:
    """(topic, segment id, profile id) of the segment events in the outbox, oldest first."""
    session.rollback()
    rows = session.scalars(select(OutboxEvent).where(OutboxEvent.topic.in_(topics or ("segment.entered",
                                                                                    "segment.exited")))
                           .order_by(OutboxEvent.id))
    return [(row.topic, row.payload["segment_id"], row.payload["profile_id"]) for row in rows]
