"""Routing reactions to inbox events: a new conversation is labelled and routed; every message is folded for
search, a customer's message is looked at for keyword labels (and routes a conversation not routed yet), a note's
@mentions are recorded; an agent who comes online, or frees a place, is offered their teams' queue; an erased
customer's words leave the search."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from xuyen.inbox.models import Conversation, ConversationStatus, Message
from xuyen.inbox.routing import labels, mentions, search, service
from xuyen.jobs import job
from xuyen.outbox import DomainEvent, on_event


@on_event("inbox.conversation.opened", name="inbox.routing.conversation_opened")
def conversation_opened(session: Session, event: DomainEvent) -> None:
    """Label a new conversation by its source and route it to a team and an agent."""
    service.route_conversation(session, conversation_id=int(event.payload["conversation_id"]))


@on_event("inbox.message.added", name="inbox.routing.message_added")
def message_added(session: Session, event: DomainEvent) -> None:
    """Fold the message for search; label by keywords and route (first inbound message); record @mentions."""
    conversation_id, message_id = int(event.payload["conversation_id"]), int(event.payload["message_id"])
    search.index_message(session, message_id=message_id)
    direction = event.payload.get("direction")
    if direction == "note":
        mentions.record_mentions(session, message_id=message_id)
    elif direction == "inbound":
        message = session.get(Message, message_id)
        if message is not None:
            labels.apply_keyword_labels(session, conversation_id=conversation_id,
                                        texts=[" ".join(part for part in (message.subject, message.text) if part)])
        service.route_conversation(session, conversation_id=conversation_id)


@on_event("inbox.conversation.status_changed", name="inbox.routing.status_changed")
def status_changed(session: Session, event: DomainEvent) -> None:
    """An agent who resolved (or set aside) a conversation has room again: offer them their teams' queue."""
    if event.payload.get("status") == ConversationStatus.open.value:
        return
    conversation = session.get(Conversation, int(event.payload["conversation_id"]))
    if conversation is not None and conversation.assignee_id is not None:
        service.offer_queue(session, user_id=conversation.assignee_id)


@on_event("customer.erased", name="inbox.routing.forget_erased")
def forget_erased(session: Session, event: DomainEvent) -> None:
    """An erased person's words leave the search too (the inbox blanks the messages themselves)."""
    search.forget_customers(session, profile_ids=[int(item) for item in event.payload["profile_ids"]])


@job(service.OFFER_JOB)
def offer_queue(session: Session, payload: dict[str, Any]) -> None:
    """Give an agent who came online the waiting conversations of their teams, up to their capacity."""
    service.offer_queue(session, user_id=int(payload["user_id"]))
