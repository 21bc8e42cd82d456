"""A broadcast journey survives a worker killed mid-run: ``xuyen worker`` runs as a real process, is killed with
SIGKILL while a message is on its way to the SMS gateway (served for real over HTTP), and a second worker finishes
the run. Every customer is enrolled once and completes, and the gateway holds exactly one message per customer:
the step killed mid-send is run again with the same idempotency key (eSMS's RequestId), and the gateway's
"duplicate RequestId" answer counts as sent."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fakes.server import serving
from tests.fakes.sms_gateway import ESMS_JSON_PATH, FakeSmsGateway
from tests.journeys.flows.conftest import ACTOR, flow, live, template
from tests.worker_processes import WorkerProcesses
from xuyen.clock import utcnow
from xuyen.customers.service import record_consent, refresh_customers
from xuyen.events.models import ChannelType, EventType
from xuyen.events.service import add_source, channel_call, record_channel_calls
from xuyen.inbox import connections
from xuyen.inbox.models import Message, MessageState
from xuyen.jobs import Job, JobStatus
from xuyen.journeys.flows import service
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus, JourneySend
from xuyen.journeys.policy import settings as policy_settings
from xuyen.segments.service import create_segment

CUSTOMERS = 200
KEY, SECRET = "test-api-key", "test-secret-key"
TEXT = {"text": "Xuyen: {{ profile.first_name }} oi, tuan le vang giam 20% tai cua hang."}
LEASE_SECONDS = "5"

# Each message costs a worker a few hundred milliseconds on a busy two-core machine: give the run time.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def phone_of(number: int) -> str:
    """The customer's mobile number as the gateway sees it (eSMS takes the 0 form)."""
    return f"09{number:08d}"


def sms_customers(session: Session, count: int) -> list[int]:
    """``count`` customers, each with a phone and SMS marketing consent given in front of staff; committed."""
    source = add_source(session, name="Cửa hàng HN01", channel=ChannelType.pos)[0]
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    calls = [(source.id, replace(channel_call(event="Identify", message_id=f"killed-{number}", timestamp=at,
                                              identifiers=[("phone", phone_of(number), None)]),
                                 type=EventType.identify, event=None, traits={"name": f"Khách Hàng {number}"}))
             for number in range(1, count + 1)]
    profiles = [profile for profile in record_channel_calls(session, calls=calls) if profile is not None]
    refresh_customers(session, profile_ids=profiles)
    session.commit()
    for profile_id in profiles:
        record_consent(session, profile_id=profile_id, channel="sms", purpose="marketing", granted=True,
                       proof="Phiếu đăng ký tại cửa hàng HN01", actor=ACTOR)
    return profiles


def send_at_any_hour(session: Session) -> None:
    """Sending hours that hold now and for the next 23 hours (UTC), through the policy's own service."""
    now = utcnow()
    minute = now.hour * 60 + now.minute
    config = policy_settings.current(session)
    policy_settings.change(session, config=replace(config, timezone="UTC", allowed_from=(minute - 60) % 1440,
                                                   allowed_until=(minute - 61) % 1440), actor=ACTOR)


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    """Worker processes, stopped after the test."""
    processes = WorkerProcesses(db_url, tmp_path)
    yield processes
    processes.stop_all()


@pytest.fixture
def gateway() -> Iterator[tuple[FakeSmsGateway, str]]:
    """The fake eSMS gateway served on a local port, with its base URL."""
    fake = FakeSmsGateway(api_key=KEY, api_secret=SECRET, delay=0.01)
    with serving(fake.app()) as url:
        yield fake, url


def _unfinished_work(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Job).where(
        Job.status.in_([JobStatus.queued, JobStatus.running]), Job.run_at <= utcnow() + timedelta(minutes=5))) or 0)


def test_a_worker_killed_mid_broadcast_loses_no_customer_and_sends_no_message_twice(
        session: Session, db_url: str, workers: WorkerProcesses, gateway: tuple[FakeSmsGateway, str]) -> None:
    fake, url = gateway
    people = sms_customers(session, CUSTOMERS)
    send_at_any_hour(session)
    connections.add_channel(session, kind="sms", name="SMS Brandname", actor=ACTOR,
                            settings={"preset": "esms", "brand_name": "XUYEN", "send_url": url + ESMS_JSON_PATH},
                            secrets={"api_key": KEY, "api_secret": SECRET, "webhook_secret": "hook"})
    text = template(session, variants={"sms": TEXT})
    segment = create_segment(session, name="Đồng ý nhận SMS", actor=ACTOR,
                             definition={"all": [{"consent": {"channel": "sms", "purpose": "marketing"}}]})
    assert segment.member_count == CUSTOMERS
    journey = live(session, flow({"type": "broadcast", "segment_id": segment.id}, {
        "a": {"type": "send", "template_id": text, "channel": "sms", "purpose": "marketing", "next": "b"},
        "b": {"type": "exit"}}))
    service.start_broadcast(session, journey_id=journey.id, actor=ACTOR)

    doomed = workers.start("--lease-seconds", LEASE_SECONDS, "--poll-seconds", "0.2")
    workers.wait_for(lambda: len(fake.sent) >= CUSTOMERS // 3, within=400, what="a third of the messages to go out")
    fake.delay = 3.0  # the next message hangs at the gateway: the worker is killed while it waits for the answer
    workers.wait_for(lambda: fake.requests > len(fake.sent), within=60, what="a message on its way")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    fake.delay = 0.01
    sent_when_killed = len(fake.sent)
    assert sent_when_killed < CUSTOMERS, "the worker was killed mid-run"

    workers.start("--lease-seconds", LEASE_SECONDS, "--poll-seconds", "0.2")
    workers.wait_for(lambda: _unfinished_work(session) == 0, within=400, what="the second worker to finish")

    session.expire_all()
    enrolments: list[Enrolment] = list(session.scalars(select(Enrolment).where(Enrolment.journey_id == journey.id)))
    assert sorted(item.profile_id for item in enrolments) == sorted(people), "every customer enrolled once"
    assert {item.status for item in enrolments} == {EnrolmentStatus.completed}
    sends: list[JourneySend] = list(session.scalars(select(JourneySend).where(JourneySend.journey_id == journey.id)))
    assert Counter(send.enrolment_id for send in sends) == Counter({item.id: 1 for item in enrolments})
    states: Counter[MessageState] = Counter(session.scalars(select(Message.state).where(
        Message.id.in_([send.message_id for send in sends]))))
    assert states == Counter({MessageState.sent: CUSTOMERS}), "no message lost on its way"

    per_phone = Counter(message.phone for message in fake.sent)
    assert per_phone == Counter({phone_of(number): 1 for number in range(1, CUSTOMERS + 1)}), \
        "exactly one message per customer reached the gateway"
    assert len({message.request_id for message in fake.sent}) == CUSTOMERS
    assert fake.requests > CUSTOMERS, "the send cut short by the kill was asked again, and the gateway dropped it"
