"""Journeys in the background: the step jobs, entries on events, segment entries, dates and broadcasts, and what
the inbox reports of the messages sent (delivery, failure and fallback, opens, clicks, replies)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.events.models import Event, EventType
from xuyen.inbox.threads import from_customer
from xuyen.jobs import add_job, batch_job, job, periodic
from xuyen.journeys.flows import dates, engine
from xuyen.journeys.flows.models import Journey, JourneySend, JourneyStatus, JourneyVersion
from xuyen.journeys.flows.sending import fall_back, send_of_message
from xuyen.journeys.flows.service import BROADCAST_JOB, uses_events
from xuyen.journeys.flows.steps import WEBHOOK_JOB
from xuyen.outbox import DomainEvent, on_event, on_events
from xuyen.tls import http_client

DATES_JOB = "journeys.dates"
BROADCAST_BATCH = 1000
STEP_BATCH = 200  # steps run in one transaction: the send steps among them share one policy read
WEBHOOK_TIMEOUT = 10.0
REPLY_WITHIN = timedelta(days=3)
DELIVERED = ("delivered", "read")


@batch_job(engine.STEP_JOB, max_batch=STEP_BATCH, max_attempts=10)
def run_steps(session: Session, payloads: list[dict[str, Any]]) -> None:
    """Run the steps of enrolments, together (nothing for one that moved on since its job was queued)."""
    engine.run_steps(session, due=[(int(payload["enrolment_id"]), int(payload["visit"])) for payload in payloads])


def watched_events(session: Session) -> set[str]:
    """The event names live and paused journeys react to (any of their versions: customers may still be in an
    older one)."""
    names: set[str] = set()
    for version_id in session.scalars(select(JourneyVersion.id).join(Journey, Journey.id == JourneyVersion.journey_id)
                                      .where(Journey.status.in_([JourneyStatus.live, JourneyStatus.paused]))):
        names |= uses_events(engine.definition_of(session, version_id=version_id))
    return names


@on_events("events.stored", name="journeys.react_to_events", max_batch=50)
def react_to_events(session: Session, events: list[DomainEvent]) -> None:
    """Track calls of customers: entries, goals, waits and conversions."""
    names = watched_events(session)
    if not names:
        return
    happenings: list[engine.Happened] = []
    for event in events:
        ids = [str(item) for item in event.payload.get("message_ids", [])]
        for start in range(0, len(ids), 500):
            rows: Any = session.execute(select(Event.profile_id, Event.event, Event.properties, Event.timestamp,
                                          Event.message_id).where(
                Event.source_id == int(event.aggregate_id), Event.message_id.in_(ids[start:start + 500]),
                Event.type == EventType.track, Event.event.in_(sorted(names)), Event.profile_id.is_not(None)))
            happenings += [engine.Happened(profile_id=profile_id, event=name, properties=dict(properties or {}),
                                           at=at, message_id=message_id)
                           for profile_id, name, properties, at, message_id in rows]
    if happenings:
        survivors = engine.resolve_profile_ids(session, profile_ids={item.profile_id for item in happenings})
        engine.react(session, happenings=[engine.Happened(profile_id=survivors[item.profile_id], event=item.event,
                                                          properties=item.properties, at=item.at,
                                                          message_id=item.message_id) for item in happenings])


@on_events("segment.entered", name="journeys.segment_entries", max_batch=500)
def segment_entries(session: Session, events: list[DomainEvent]) -> None:
    """Customers entered segments: enter the journeys those segments trigger."""
    by_segment: dict[int, set[int]] = {}
    for event in events:
        by_segment.setdefault(int(event.payload["segment_id"]), set()).add(int(event.payload["profile_id"]))
    for segment_id, profile_ids in by_segment.items():
        engine.enter_segment_journeys(session, segment_id=segment_id, profile_ids=profile_ids, at=utcnow())


@job(BROADCAST_JOB, max_attempts=5)
def broadcast(session: Session, payload: dict[str, Any]) -> None:
    """Enrol the next batch of a broadcast journey's segment members, then queue the batch after it."""
    from xuyen.segments.models import SegmentMember

    journey = session.get(Journey, int(payload["journey_id"]))
    if journey is None or journey.status != JourneyStatus.live or journey.trigger_kind != "broadcast":
        return
    after = int(payload.get("after", 0))
    members = list(session.scalars(select(SegmentMember.profile_id).where(
        SegmentMember.segment_id == int(journey.trigger_key), SegmentMember.profile_id > after)
        .order_by(SegmentMember.profile_id).limit(BROADCAST_BATCH)))
    if not members:
        return
    engine.enrol(session, journey=journey, profile_ids=members, context={"segment_id": int(journey.trigger_key)})
    if len(members) == BROADCAST_BATCH:
        add_job(session, name=BROADCAST_JOB, payload={**payload, "after": members[-1]})


@job(DATES_JOB, max_attempts=3)
def date_entries(session: Session, payload: dict[str, Any]) -> None:
    """Enter the customers whose date (a birthday) has come in their time zone into the journeys it triggers."""
    dates.enter_due(session, now=utcnow())


periodic(DATES_JOB, every=timedelta(minutes=15))


def signature(secret: str, body: bytes) -> str:
    """The ``X-Xuyen-Signature`` of a webhook body: ``sha256=`` and the HMAC-SHA256 of the raw bytes in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@job(WEBHOOK_JOB, max_attempts=8, isolated=True)
def call_webhook(session: Session, payload: dict[str, Any]) -> None:
    """POST a webhook step's JSON, signed with the journey's secret and carrying its idempotency key; a refusal
    or an unreachable server raises, so the job is tried again with backoff."""
    journey = session.get(Journey, int(payload["journey_id"]))
    if journey is None:
        return
    body = json.dumps(payload["body"], ensure_ascii=False, separators=(",", ":"), default=str).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(payload["idempotency_key"]),
               "X-Xuyen-Signature": signature(journey.secret, body), "User-Agent": "Xuyen-Journeys/1"}
    with http_client(timeout=WEBHOOK_TIMEOUT) as client:
        answer = client.post(str(payload["url"]), content=body, headers=headers)
    if answer.status_code >= 300:
        raise RuntimeError(f"the webhook answered {answer.status_code}: {answer.text[:300]}")


@on_event("inbox.message.status_changed", name="journeys.message_status")
def message_status(session: Session, event: DomainEvent) -> None:
    """A journey's message was sent, delivered, read or failed: keep it, and fall back to the next channel when
    it failed."""
    send = send_of_message(session, message_id=int(event.payload["message_id"]))
    if send is None:
        return
    state = str(event.payload.get("state", ""))
    at = _moment(event.payload.get("at"))
    if state in DELIVERED and send.delivered_at is None:
        send.delivered_at = at
    if state == "failed":
        send.status, send.error = "failed", str(event.payload.get("error") or "")[:2000]
        fall_back(session, send=send)
    elif send.status != "failed" or state in DELIVERED:
        send.status = state if state in ("sent", "delivered", "read") else send.status


@on_event("inbox.message.engaged", name="journeys.message_engaged")
def message_engaged(session: Session, event: DomainEvent) -> None:
    """A customer opened or clicked a journey's e-mail."""
    send = send_of_message(session, message_id=int(event.payload["message_id"]))
    if send is None:
        return
    at = _moment(event.payload.get("at"))
    if event.payload.get("kind") == "opened" and send.opened_at is None:
        send.opened_at = at
    if event.payload.get("kind") == "clicked":
        send.clicked_at = send.clicked_at or at
        send.opened_at = send.opened_at or at  # a click shows the message was opened, images or not


@on_event("inbox.message.added", name="journeys.count_replies", when=from_customer)
def count_replies(session: Session, event: DomainEvent) -> None:
    """A customer's message answers the latest journey message sent them on that channel within three days."""
    from xuyen.inbox.models import Conversation

    if event.payload.get("direction") != "inbound" or not event.payload.get("channel_kind"):
        return
    conversation = session.get(Conversation, int(event.payload["conversation_id"]))
    if conversation is None:
        return
    at = _moment(event.payload.get("sent_at"))
    send = session.scalar(select(JourneySend).where(
        JourneySend.profile_id == conversation.profile_id, JourneySend.channel == event.payload["channel_kind"],
        JourneySend.replied_at.is_(None), JourneySend.sent_at <= at, JourneySend.sent_at > at - REPLY_WITHIN)
        .order_by(JourneySend.sent_at.desc()).limit(1))
    if send is not None:
        send.replied_at = at


@on_event("customer.erased", name="journeys.forget_erased")
def forget_erased(session: Session, event: DomainEvent) -> None:
    """An erased customer leaves every journey."""
    engine.exit_erased(session, profile_ids=[int(item) for item in event.payload["profile_ids"]])


def _moment(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return utcnow()
