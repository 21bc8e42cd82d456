"""SLA reactions to the inbox's events (a conversation opened, a message added, a status changed), and the
minutely check that records warnings and breaches."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.inbox.models import Conversation, Message
from xuyen.inbox.sla import service
from xuyen.inbox.threads import between_people
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event

CHECK_JOB = "inbox.sla.check"


def _conversation_id(session: Session, event: DomainEvent) -> int | None:
    """The event's conversation, if it still exists (a deleted one has nothing left to measure)."""
    conversation_id = int(event.payload["conversation_id"])
    return conversation_id if session.get(Conversation, conversation_id) is not None else None


def _moment(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment
    return fallback


def is_reply(message: Message | None) -> bool:
    """Whether an outbound message answers the customer: a reply of the shop (from Xuyên or the provider's own
    app), not a message Xuyên sends by itself (a survey, a journey's outreach)."""
    return message is not None and not message.meta.get("system") and not message.meta.get("outreach")


@on_event("inbox.conversation.opened", name="inbox.sla.conversation_opened")
def conversation_opened(session: Session, event: DomainEvent) -> None:
    """Keep the new conversation's SLA row."""
    conversation_id = _conversation_id(session, event)
    if conversation_id is not None:
        service.note_opened(session, conversation_id=conversation_id)


@on_event("inbox.message.added", name="inbox.sla.message_added", when=between_people)
def message_added(session: Session, event: DomainEvent) -> None:
    """A customer's message starts clocks; a reply stops the response clock."""
    conversation_id = _conversation_id(session, event)
    if conversation_id is None:
        return
    payload = event.payload
    at = _moment(payload.get("sent_at"), event.created_at)
    if payload.get("direction") == "inbound":
        service.note_inbound(session, conversation_id=conversation_id, channel_kind=payload.get("channel_kind"),
                             at=at)
    elif payload.get("direction") == "outbound" and is_reply(session.get(Message, int(payload["message_id"]))):
        service.note_reply(session, conversation_id=conversation_id, at=at)


@on_event("inbox.conversation.status_changed", name="inbox.sla.status_changed")
def status_changed(session: Session, event: DomainEvent) -> None:
    """Waiting pauses the clocks, opening resumes them, resolving stops them."""
    conversation_id = _conversation_id(session, event)
    if conversation_id is None:
        return
    payload = event.payload
    service.note_status(session, conversation_id=conversation_id, status=str(payload.get("status")),
                        previous=payload.get("previous"), at=_moment(payload.get("at"), event.created_at))


@job(CHECK_JOB)
def check(session: Session, payload: dict[str, Any]) -> None:
    """Record the warnings and breaches due now."""
    service.record_due(session, now=utcnow())


# After the ordinary jobs due: a reply's stopping of a clock, still queued behind a burst, is seen before a breach
# is recorded (a breach is never taken back).
periodic(CHECK_JOB, every=timedelta(minutes=1), priority=200)
