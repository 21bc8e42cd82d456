"""CSAT reactions to the inbox's events: a survey when an agent resolves a conversation, a digit reply taken as
the rating."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xuyen.inbox.csat import service
from xuyen.inbox.models import Conversation
from xuyen.inbox.threads import from_customer
from xuyen.outbox import DomainEvent, on_event

# Status changes that are no agent's decision: the customer reopening, a survey answer closing again.
NOT_BY_AN_AGENT = frozenset({"customer", service.CSAT_ACTOR})


def _moment(value: object, fallback: datetime) -> datetime:
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            return moment
    return fallback


@on_event("inbox.conversation.status_changed", name="inbox.csat.status_changed")
def status_changed(session: Session, event: DomainEvent) -> None:
    """Send the survey when someone of the shop resolves a conversation."""
    payload = event.payload
    conversation_id = int(payload["conversation_id"])
    if payload.get("status") != "resolved" or payload.get("actor") in NOT_BY_AN_AGENT:
        return
    if session.get(Conversation, conversation_id) is None:
        return
    service.send_survey(session, conversation_id=conversation_id, event_id=event.id,
                        resolved_at=_moment(payload.get("at"), event.created_at))


@on_event("inbox.message.added", name="inbox.csat.message_added", when=from_customer)
def message_added(session: Session, event: DomainEvent) -> None:
    """Take a one-digit reply to a survey as its rating."""
    payload = event.payload
    if payload.get("direction") != "inbound":
        return
    conversation_id = int(payload["conversation_id"])
    if session.get(Conversation, conversation_id) is None:
        return
    service.note_reply(session, conversation_id=conversation_id, message_id=int(payload["message_id"]),
                       channel_kind=payload.get("channel_kind"), at=_moment(payload.get("sent_at"), event.created_at))
