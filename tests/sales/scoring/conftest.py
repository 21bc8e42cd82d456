"""Scoring test helpers: leads captured without asking DNS, customers' events recorded like a website's, rules added
as a manager, and the worker run until idle."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for every test here)
from xuyen.config import get_settings
from xuyen.events.models import ChannelType, Event, EventType
from xuyen.events.service import add_source, channel_call, record_channel_calls
from xuyen.outbox import OutboxEvent
from xuyen.sales.leads import service as leads
from xuyen.sales.leads.capturing import forget_duplicate_checks
from xuyen.sales.leads.models import Lead
from xuyen.sales.scoring import rules
from xuyen.sales.scoring.models import ScoringRule
from xuyen.worker import Worker

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def no_mx_lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XUYEN_LEADS_CHECK_MX", "false")
    get_settings.cache_clear()
    forget_duplicate_checks()
    yield
    get_settings.cache_clear()


def run_worker(session: Session, engine: Engine) -> None:
    """Everything queued done (no periodic jobs: the test says when decay runs); the session sees it."""
    session.commit()
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    session.expire_all()


def capture(session: Session, *, phone: str, **values: Any) -> Lead:
    """A committed lead captured from the website form (unless another source is given)."""
    return leads.capture(session, source=values.pop("source", "form"), phone=phone, **values).lead


def track(session: Session, *, phone: str, event: str, at: datetime, properties: dict[str, Any] | None = None,
          page: bool = False) -> None:
    """A website's track call (or page call) for the person with ``phone``, committed."""
    number = next(_numbers)
    source = add_source(session, name=f"Website thử nghiệm {number}", channel=ChannelType.web)[0]
    call = channel_call(event=event, message_id=f"scoring-{number}", identifiers=[("phone", phone, None)],
                        timestamp=at, properties=properties or {})
    if page:
        call = replace(call, type=EventType.page, event=None, name=event)
    record_channel_calls(session, calls=[(source.id, call)])
    session.commit()


def add_rule(session: Session, **values: Any) -> ScoringRule:
    """A committed scoring rule."""
    return rules.create_rule(session, spec=rules.RuleSpec(**values), actor="user:1")


def lead_of(session: Session, lead_id: int) -> Lead:
    """The lead as committed now."""
    session.expire_all()
    found = session.get(Lead, lead_id)
    assert found is not None
    return found


def score_events(session: Session) -> list[dict[str, Any]]:
    """The ``lead.score_changed`` outbox events, oldest first."""
    return [row.payload for row in session.scalars(select(OutboxEvent).where(
        OutboxEvent.topic == "lead.score_changed").order_by(OutboxEvent.id))]


def logged_changes(session: Session) -> list[Event]:
    """The ``Lead Score Changed`` events in the event log, oldest first."""
    return list(session.scalars(select(Event).where(Event.event == rules.SCORE_CHANGED).order_by(Event.id)))
