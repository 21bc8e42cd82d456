"""The messaging policy's reactions: a customer writing on a channel after a message sent them there counts as a
reply, and opening or clicking an e-mail counts too, so the channels they answer on and read rank first; an erased
customer's counts are forgotten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from xuyen.errors import NotFound
from xuyen.inbox.service import get_conversation
from xuyen.inbox.threads import from_customer
from xuyen.journeys.policy import suppressions
from xuyen.journeys.policy.service import count_engagement, count_reply, forget_customers
from xuyen.journeys.policy.settings import CHANNELS
from xuyen.outbox import DomainEvent, on_event


@on_event("inbox.message.added", name="messaging_policy.count_replies", when=from_customer)
def count_replies(session: Session, event: DomainEvent) -> None:
    """An inbound message on a channel the policy sends on counts as a reply to the last message sent there."""
    payload = event.payload
    if payload.get("direction") != "inbound" or payload.get("channel_kind") not in CHANNELS:
        return
    try:
        conversation = get_conversation(session, conversation_id=int(payload["conversation_id"]))
    except NotFound:  # erased since
        return
    count_reply(session, profile_id=conversation.profile_id, channel=str(payload["channel_kind"]),
                at=datetime.fromisoformat(str(payload["sent_at"])))


@on_event("inbox.message.engaged", name="messaging_policy.count_engagement")
def count_opens_and_clicks(session: Session, event: DomainEvent) -> None:
    """A message's first open and first click count for its channel, so the channels the customer reads rank
    first."""
    payload = event.payload
    channel, kind, profile_id = payload.get("channel_kind"), payload.get("kind"), payload.get("profile_id")
    if channel not in CHANNELS or kind not in ("opened", "clicked") or profile_id is None:
        return
    try:
        count_engagement(session, profile_id=int(profile_id), channel=str(channel), kind=str(kind))
    except NotFound:  # erased since
        return


@on_event("customer.erased", name="messaging_policy.forget_erased")
def forget_erased(session: Session, event: DomainEvent) -> None:
    """An erased person's sends and engagement counters go; a suppression of them stays, so they are never
    written to again, with their phones and e-mails on the list replaced by salted hashes."""
    forget_customers(session, profile_ids=[int(item) for item in event.payload["profile_ids"]])
    suppressions.hash_erased_addresses(session)
