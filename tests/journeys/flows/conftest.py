"""Journey test helpers: customers built from the event log, a sandbox mailbox and SMS channel, templates, journeys
published as a manager would, events tracked as a website sends them, and the worker run until idle."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.api_client import agent, manager, owner  # noqa: F401  (role browsers for every test here)
from tests.channels.test_email import ADDRESS, PASSWORD, SECRET, SmtpServer, run_smtp
from tests.journeys.policy.conftest import connected, consent, customer, utc  # noqa: F401
from xuyen.clock import utcnow
from xuyen.events.models import ChannelType
from xuyen.events.service import add_source, channel_call, record_channel_calls
from xuyen.inbox import connections
from xuyen.inbox.models import Channel
from xuyen.jobs import Job, JobStatus
from xuyen.journeys.flows import service
from xuyen.journeys.flows.models import Enrolment, Journey
from xuyen.journeys.templates.service import add_template
from xuyen.worker import Worker

ACTOR = "user:1 quanly@shop.vn"
_numbers = itertools.count(1)

EMAIL = {"subject": "{{ profile.first_name }} ơi, giỏ hàng của bạn còn chờ",
         "html": "<p>Chào {{ profile.name }},</p><p>Giỏ hàng trị giá {{ event.properties.total|money }} "
                 "vẫn còn. <a href=\"https://shop.vn/gio-hang\">Mua tiếp</a></p>"
                 "{% if coupon is defined %}<p>Mã giảm giá: {{ coupon }}</p>{% endif %}"}
SMS = {"text": "Xuyen: {{ profile.first_name }} oi, gio hang {{ event.properties.total|money }} con cho ban."}


def template(session: Session, *, name: str | None = None, purpose: str = "marketing",
             variants: dict[str, Any] | None = None) -> int:
    """A committed message template with an e-mail and an SMS message; its id."""
    made = add_template(session, name=name or f"Mẫu {next(_numbers)}", purpose=purpose,
                        variants=variants or {"email": EMAIL, "sms": SMS}, actor=ACTOR)
    session.commit()
    return made.id


def flow(trigger: dict[str, Any], nodes: dict[str, Any], *, start: str = "a", **settings: Any) -> dict[str, Any]:
    """A definition from its trigger, steps and settings."""
    return {"trigger": trigger, "settings": {"entry": "once", **settings}, "start": start, "nodes": nodes}


def live(session: Session, definition: dict[str, Any], *, name: str | None = None) -> Journey:
    """A journey made and published; committed."""
    journey = service.create_journey(session, name=name or f"Hành trình {next(_numbers)}", actor=ACTOR,
                                     definition=definition)
    service.publish(session, journey_id=journey.id, actor=ACTOR)
    return journey


def track(session: Session, *, phone: str = "0912345678", event: str, at: datetime | None = None,
          properties: dict[str, Any] | None = None) -> int:
    """A website's track call for the person with ``phone``, committed; their profile id."""
    number = next(_numbers)
    source = add_source(session, name=f"Website {number}", channel=ChannelType.web)[0]
    call = channel_call(event=event, message_id=f"journeys-{number}", identifiers=[("phone", phone, None)],
                        timestamp=at or utcnow(), properties=properties or {})
    [profile_id] = record_channel_calls(session, calls=[(source.id, call)])
    session.commit()
    assert profile_id is not None
    return profile_id


def run_worker(session: Session, engine: Engine) -> None:
    """Everything due done (no periodic jobs); the session sees it."""
    session.commit()
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    session.expire_all()


def time_passes(session: Session, delta: timedelta) -> None:
    """Move every wait and every queued job ``delta`` earlier, as if that much time had gone by; committed."""
    for enrolment in session.scalars(select(Enrolment).where(Enrolment.wake_at.is_not(None))):
        assert enrolment.wake_at is not None
        enrolment.wake_at -= delta
    for job in session.scalars(select(Job).where(Job.status == JobStatus.queued)):
        job.run_at -= delta
    session.commit()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server that keeps what arrives."""
    yield from run_smtp(auth_require_tls=False)


@pytest.fixture
def mailbox(session: Session, smtp: SmtpServer) -> Channel:
    """The shop's mailbox, sending through ``smtp``; committed."""
    return connections.add_channel(session, kind="email", name="Hộp thư CSKH", actor="test", settings={
        "address": ADDRESS, "display_name": "Shop Áo Dài", "smtp_host": "127.0.0.1", "smtp_port": str(smtp.port),
        "smtp_security": "none", "imap_host": "127.0.0.1", "imap_port": "1", "imap_security": "none"},
        secrets={"password": PASSWORD, "reply_token_secret": SECRET})


def arrived_to(smtp: SmtpServer, address: str) -> list[EmailMessage]:
    """The e-mails the SMTP server received for ``address``, parsed."""
    return [item.parsed() for item in smtp.recorder.arrived if address in item.rcpt_tos]


def body_of(message: EmailMessage) -> str:
    """An e-mail's plain-text body."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())
