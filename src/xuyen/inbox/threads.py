"""Threading: who wrote (their channel identifiers resolved to one customer through the event log and the
identity graph), where they can be reached, and which conversation a message joins: one per customer, across
channels."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from xuyen.channels.base import Contact, ContactEvent, InboundMessage, PayloadInvalid
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.db import is_postgres
from xuyen.events.profiles import CHANNEL_MESSAGE_EVENTS
from xuyen.events.service import channel_call, record_channel_calls
from xuyen.inbox.models import (
    Channel,
    ContactPoint,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageState,
    WebhookReceipt,
)
from xuyen.outbox import emit

NOTIFY_CHANNEL = "xuyen_inbox"
THREAD_KEY_PREFIX = "c"


# Who wrote ----------------------------------------------------------------------------------------------


def _identifiers(contact: Contact) -> list[tuple[str, str, str | None]]:
    return [(item.type, item.value, item.scope) for item in contact.identifiers]


def resolve_contact(session: Session, *, channel: Channel, contact: Contact, event: str, event_id: str,
                    at: datetime, properties: dict[str, object]) -> int:
    """The customer behind a contact: the channel's call is logged as an event, which resolves its identifiers
    to one profile (creating or merging as the identity rules allow)."""
    traits = {"name": contact.name, **contact.traits} if contact.name else dict(contact.traits)
    call = channel_call(event=event, message_id=f"{channel.kind}:{channel.id}:{event_id}"[:200],
                        identifiers=_identifiers(contact), timestamp=at, traits=traits,
                        properties={"channel_id": channel.id, **properties})
    (profile_id,) = record_channel_calls(session, source_id=channel.source_id, calls=[call])
    if profile_id is None:
        raise PayloadInvalid("The sender carries no identifier Xuyên can use (all were empty or blocked).")
    return profile_id


def find_contact_point(session: Session, *, channel: Channel, contact: Contact) -> ContactPoint | None:
    """Where the channel reaches this contact, if they wrote before."""
    address = contact.address
    return session.scalar(select(ContactPoint).where(
        ContactPoint.channel_id == channel.id, ContactPoint.value == address.value,
        ContactPoint.type == address.type, ContactPoint.scope == (address.scope or "")))


def _touch_contact_point(session: Session, *, channel: Channel, contact: Contact, profile_id: int,
                         wrote_at: datetime | None) -> ContactPoint:
    point = find_contact_point(session, channel=channel, contact=contact)
    if point is None:
        address = contact.address
        point = ContactPoint(profile_id=profile_id, channel_id=channel.id, type=address.type,
                             scope=address.scope or "", value=address.value, created_at=utcnow())
        session.add(point)
    point.profile_id = profile_id
    if contact.name:
        point.display_name = contact.name[:200]
    if wrote_at is not None and (point.last_inbound_at is None or wrote_at > point.last_inbound_at):
        point.last_inbound_at = wrote_at
    session.flush()
    return point


# Which conversation -------------------------------------------------------------------------------------


def current_conversation(session: Session, *, profile_id: int) -> Conversation | None:
    """The customer's conversation still in progress (not resolved), newest first."""
    return session.scalar(select(Conversation).where(
        Conversation.profile_id == profile_id, Conversation.status != ConversationStatus.resolved)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(1))


def _recently_resolved(session: Session, *, profile_id: int, at: datetime) -> Conversation | None:
    days = get_settings().inbox_reopen_days
    if days <= 0:
        return None
    return session.scalar(select(Conversation).where(
        Conversation.profile_id == profile_id, Conversation.status == ConversationStatus.resolved,
        Conversation.resolved_at >= at - timedelta(days=days))
        .order_by(Conversation.resolved_at.desc(), Conversation.id.desc()).limit(1))


def _hinted_conversation(session: Session, *, profile_id: int, message: InboundMessage) -> Conversation | None:
    """The conversation an e-mail answers: by its signed reply token, else by the Message-IDs it replies to,
    only among this customer's conversations (a forged Message-ID cannot reach someone else's)."""
    hints = message.thread_hints
    key = hints.get("thread_key")
    if isinstance(key, str) and key.startswith(THREAD_KEY_PREFIX) and key[1:].isdigit():
        found = session.get(Conversation, int(key[1:]))
        if found is not None:
            return found
    replied = [value for value in [hints.get("in_reply_to"), *(hints.get("references") or [])]
               if isinstance(value, str) and value]
    if message.reply_to_provider_id:
        replied.insert(0, message.reply_to_provider_id)
    if not replied:
        return None
    return session.scalar(select(Conversation).join(Message, Message.conversation_id == Conversation.id).where(
        Conversation.profile_id == profile_id, Message.provider_message_id.in_(replied[:50]))
        .order_by(Message.id.desc()).limit(1))


def conversation_for(session: Session, *, profile_id: int, at: datetime,
                     message: InboundMessage | None = None) -> Conversation:
    """The conversation a customer's message joins: the one it answers, the one in progress, one resolved
    lately (reopened), or a new one (helper)."""
    found = (_hinted_conversation(session, profile_id=profile_id, message=message) if message else None)
    found = found or current_conversation(session, profile_id=profile_id)
    found = found or _recently_resolved(session, profile_id=profile_id, at=at)
    if found is None:
        found = Conversation(profile_id=profile_id, status=ConversationStatus.open, last_message_at=at,
                             created_at=utcnow())
        session.add(found)
        session.flush()
        emit(session, topic="inbox.conversation.opened", aggregate_type="conversation", aggregate_id=found.id,
             payload={"conversation_id": found.id, "profile_id": profile_id})
    return found


def thread_key(conversation_id: int) -> str:
    """The key a channel carries to thread replies back (e-mail puts it, signed, in its Reply-To address)."""
    return f"{THREAD_KEY_PREFIX}{conversation_id}"


# Adding what came in ------------------------------------------------------------------------------------


def add_inbound_message(session: Session, *, channel: Channel, message: InboundMessage,
                        receipt_id: int | None) -> Message | None:
    """Add a customer's message (or an echo of one the shop sent from the provider's own app) to its
    conversation; None when the provider delivered it before (helper)."""
    existing = session.scalar(select(Message.id).where(Message.channel_id == channel.id,
                                                       Message.provider_message_id == message.provider_message_id))
    if existing is not None:
        return None
    received, sent = CHANNEL_MESSAGE_EVENTS
    event = sent if message.echo else received
    profile_id = resolve_contact(session, channel=channel, contact=message.contact, event=event,
                                 event_id=message.provider_message_id, at=message.sent_at,
                                 properties={"attachments": len(message.attachments)})
    point = _touch_contact_point(session, channel=channel, contact=message.contact, profile_id=profile_id,
                                 wrote_at=None if message.echo else message.sent_at)
    conversation = conversation_for(session, profile_id=profile_id, at=message.sent_at, message=message)
    row = Message(conversation_id=conversation.id, channel_id=channel.id, contact_point_id=point.id,
                  direction=Direction.outbound if message.echo else Direction.inbound,
                  state=MessageState.sent if message.echo else MessageState.received,
                  provider_message_id=message.provider_message_id, text=message.text, subject=message.subject,
                  attachments=[_attachment(item) for item in message.attachments],
                  meta={"thread_hints": dict(message.thread_hints), "echo": message.echo},
                  receipt_id=receipt_id, sent_at=message.sent_at, created_at=utcnow())
    session.add(row)
    reopened = _note_message(conversation, row, channel_id=channel.id)
    session.flush()
    announce_message(session, row, channel=channel)
    if reopened:
        announce_status(session, conversation, previous=reopened, actor="customer")
    return row


def _attachment(item: object) -> dict[str, object]:
    fields = ("kind", "url", "name", "mime_type", "size_bytes")
    found = {name: getattr(item, name) for name in fields if getattr(item, name, None) is not None}
    meta = getattr(item, "meta", None)
    return found | ({"meta": dict(meta)} if meta else {})


def _note_message(conversation: Conversation, message: Message, *, channel_id: int) -> ConversationStatus | None:
    """Move the conversation on for a new message: a customer's message reopens it (the status it had is
    returned then)."""
    if message.sent_at > conversation.last_message_at:
        conversation.last_message_at = message.sent_at
    if message.subject and not conversation.subject:
        conversation.subject = message.subject[:300]
    if message.direction == Direction.inbound:
        if conversation.last_inbound_at is None or message.sent_at >= conversation.last_inbound_at:
            conversation.last_inbound_at = message.sent_at
            conversation.last_inbound_channel_id = channel_id
        if conversation.status != ConversationStatus.open:
            previous = conversation.status
            conversation.status, conversation.snoozed_until, conversation.resolved_at = (
                ConversationStatus.open, None, None)
            return previous
    return None


def apply_contact_event(session: Session, *, channel: Channel, event: ContactEvent) -> None:
    """Log a follow, unfollow or opt-out on the customer's timeline and remember opt-outs (helper)."""
    names = {"follow": "Channel Followed", "unfollow": "Channel Unfollowed", "opt_in": "Channel Opted In",
             "opt_out": "Channel Opted Out"}
    event_id = event.provider_event_id or f"{event.kind}:{event.contact.address.value}:{event.at.isoformat()}"
    profile_id = resolve_contact(session, channel=channel, contact=event.contact, event=names[event.kind.value],
                                 event_id=event_id, at=event.at, properties={"kind": event.kind.value})
    point = _touch_contact_point(session, channel=channel, contact=event.contact, profile_id=profile_id,
                                 wrote_at=None)
    if event.kind.value in ("unfollow", "opt_out"):
        point.opted_out_at = event.at
    elif event.kind.value in ("follow", "opt_in"):
        point.opted_out_at = None


# Telling other domains and the agents' browsers -------------------------------------------------------


def announce(session: Session, *, kind: str, **ids: int) -> None:
    """Tell every server process that the inbox changed, when the transaction commits (PostgreSQL NOTIFY;
    on SQLite the live stream watches the tables instead)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": NOTIFY_CHANNEL, "payload": json.dumps({"kind": kind, **ids})})


def announce_message(session: Session, message: Message, *, channel: Channel | None) -> None:
    """A message joined a conversation: the ``inbox.message.added`` domain event, and the live stream."""
    emit(session, topic="inbox.message.added", aggregate_type="conversation", aggregate_id=message.conversation_id,
         payload={"conversation_id": message.conversation_id, "message_id": message.id,
                  "direction": message.direction.value, "channel_id": channel.id if channel else None,
                  "channel_kind": channel.kind if channel else None, "author_id": message.author_id,
                  "sent_at": message.sent_at.isoformat()})
    announce(session, kind="message", conversation_id=message.conversation_id, message_id=message.id)


def announce_status(session: Session, conversation: Conversation, *, previous: ConversationStatus,
                    actor: str, at: datetime | None = None) -> None:
    """A conversation changed status (now, or at ``at`` for history brought in): the
    ``inbox.conversation.status_changed`` domain event, and the stream."""
    emit(session, topic="inbox.conversation.status_changed", aggregate_type="conversation",
         aggregate_id=conversation.id,
         payload={"conversation_id": conversation.id, "status": conversation.status.value,
                  "previous": previous.value, "actor": actor, "at": (at or utcnow()).isoformat()})
    announce(session, kind="conversation", conversation_id=conversation.id)


ERASED_TEXT = "[erased]"


def erase_messages_of(session: Session, *, profile_ids: list[int]) -> int:
    """Blank what the person wrote and was sent (texts, subjects, attachments, kept hints, raw webhooks carrying
    their messages) and forget where they were reached; the conversations stay as empty shells for the counts
    (helper: no commit)."""
    conversation_ids = list(session.scalars(select(Conversation.id).where(Conversation.profile_id.in_(profile_ids))))
    messages = list(session.scalars(select(Message).where(Message.conversation_id.in_(conversation_ids or [-1]))))
    receipt_ids = {message.receipt_id for message in messages if message.receipt_id is not None}
    for message in messages:
        message.text, message.subject, message.attachments, message.meta = ERASED_TEXT, None, [], {}
    for conversation in session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids or [-1]))):
        conversation.subject = None
    for point in session.scalars(select(ContactPoint).where(ContactPoint.profile_id.in_(profile_ids))):
        session.delete(point)
    if receipt_ids:
        for receipt in session.scalars(select(WebhookReceipt).where(WebhookReceipt.id.in_(sorted(receipt_ids)))):
            receipt.body, receipt.headers = b"", {"erased": True}
    return len(messages)
