"""Threading: who wrote (their channel identifiers resolved to one customer through the event log and the
identity graph), where they can be reached, and which conversation a message joins: one per customer, across
channels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from xuyen.channels.base import Contact, ContactEvent, InboundMessage, PayloadInvalid
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.db import is_postgres
from xuyen.events.profiles import CHANNEL_MESSAGE_EVENTS
from xuyen.events.segment import ValidEvent
from xuyen.events.service import channel_call, record_channel_calls
from xuyen.inbox.models import (
    Channel,
    ContactPoint,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageState,
    MessageTracking,
    WebhookReceipt,
)
from xuyen.outbox import emit

NOTIFY_CHANNEL = "xuyen_inbox"
THREAD_KEY_PREFIX = "c"


# Who wrote ----------------------------------------------------------------------------------------------


def _identifiers(contact: Contact) -> list[tuple[str, str, str | None]]:
    return [(item.type, item.value, item.scope) for item in contact.identifiers]


_CONTACT_EVENT_NAMES = {"follow": "Channel Followed", "unfollow": "Channel Unfollowed",
                        "opt_in": "Channel Opted In", "opt_out": "Channel Opted Out"}

Sender = InboundMessage | ContactEvent


def _sender_call(channel: Channel, item: Sender) -> ValidEvent:
    """The channel's call that logs ``item`` on its sender's timeline (a message received or sent, a follow…)."""
    if isinstance(item, InboundMessage):
        received, sent = CHANNEL_MESSAGE_EVENTS
        event, event_id, at = (sent if item.echo else received), item.provider_message_id, item.sent_at
        properties: dict[str, object] = {"attachments": len(item.attachments)}
    else:
        event, at, properties = _CONTACT_EVENT_NAMES[item.kind.value], item.at, {"kind": item.kind.value}
        event_id = item.provider_event_id or f"{item.kind.value}:{item.contact.address.value}:{item.at.isoformat()}"
    contact = item.contact
    traits = {"name": contact.name, **contact.traits} if contact.name else dict(contact.traits)
    return channel_call(event=event, message_id=f"{channel.kind}:{channel.id}:{event_id}"[:200],
                        identifiers=_identifiers(contact), timestamp=at, traits=traits,
                        properties={"channel_id": channel.id, **properties})


def resolve_senders(session: Session, *, items: Sequence[tuple[Channel, Sender]]) -> list[int | None]:
    """The customer behind each item's sender: the channels' calls are logged as events, which resolve their
    identifiers to profiles (creating or merging as the identity rules allow), all in one batch. None where
    a sender carries no identifier Xuyên can use (all empty or blocked)."""
    return record_channel_calls(session, calls=[(channel.source_id, _sender_call(channel, item))
                                                for channel, item in items])


def _resolved(session: Session, channel: Channel, item: Sender, profile_id: int | None) -> int:
    if profile_id is None:
        (profile_id,) = resolve_senders(session, items=[(channel, item)])
    if profile_id is None:
        raise PayloadInvalid("The sender carries no identifier Xuyên can use (all were empty or blocked).")
    return profile_id


def find_contact_point(session: Session, *, channel: Channel, contact: Contact) -> ContactPoint | None:
    """Where the channel reaches this contact, if they wrote before."""
    address = contact.address
    return session.scalar(select(ContactPoint).where(
        ContactPoint.channel_id == channel.id, ContactPoint.value == address.value,
        ContactPoint.type == address.type, ContactPoint.scope == (address.scope or "")))


PointKey = tuple[int, str, str, str]


def _point_key(channel: Channel, contact: Contact) -> PointKey:
    address = contact.address
    return channel.id, address.value, address.type, address.scope or ""


def _contact_points(session: Session, wanted: Sequence[tuple[Channel, Contact]]) -> dict[PointKey, ContactPoint]:
    """The contact points these contacts already have, in one query."""
    keys = {_point_key(channel, contact) for channel, contact in wanted}
    if not keys:
        return {}
    rows = session.scalars(select(ContactPoint).where(
        ContactPoint.channel_id.in_(sorted({key[0] for key in keys})),
        ContactPoint.value.in_(sorted({key[1] for key in keys}))))
    return {key: point for point in rows if (key := (point.channel_id, point.value, point.type, point.scope)) in keys}


def _touch_contact_point(session: Session, points: dict[PointKey, ContactPoint], *, channel: Channel,
                         contact: Contact, profile_id: int, wrote_at: datetime | None) -> ContactPoint:
    key = _point_key(channel, contact)
    point = points.get(key)
    if point is None:
        point = points[key] = ContactPoint(profile_id=profile_id, channel_id=channel.id, type=key[2], scope=key[3],
                                           value=key[1], created_at=utcnow())
        session.add(point)
    point.profile_id = profile_id
    if contact.name:
        point.display_name = contact.name[:200]
    if wrote_at is not None and (point.last_inbound_at is None or wrote_at > point.last_inbound_at):
        point.last_inbound_at = wrote_at
    return point


# Which conversation -------------------------------------------------------------------------------------


def current_conversation(session: Session, *, profile_id: int) -> Conversation | None:
    """The customer's conversation still in progress (not resolved), newest first."""
    return _Conversations.load(session, profile_ids={profile_id}).current(profile_id)


class _Conversations:
    """The conversations a batch of messages may join: each customer's unresolved ones and those resolved lately,
    read in one query and kept up to date in memory as the batch's messages move them on."""

    def __init__(self, known: list[Conversation]) -> None:
        self.by_profile: dict[int, list[Conversation]] = {}
        for conversation in known:
            self.by_profile.setdefault(conversation.profile_id, []).append(conversation)
        self.opened: list[Conversation] = []

    @classmethod
    def load(cls, session: Session, *, profile_ids: set[int], since: datetime | None = None) -> _Conversations:
        if not profile_ids:
            return cls([])
        days = get_settings().inbox_reopen_days
        wanted = Conversation.status != ConversationStatus.resolved
        if days > 0:
            wanted = wanted | ((Conversation.resolved_at >= (since or utcnow()) - timedelta(days=days))
                               & Conversation.merged_into_id.is_(None))
        return cls(list(session.scalars(select(Conversation).where(
            Conversation.profile_id.in_(sorted(profile_ids)), wanted))))

    def current(self, profile_id: int) -> Conversation | None:
        """The customer's conversation still in progress, newest first (new ones newest of all)."""
        going = [c for c in self.by_profile.get(profile_id, []) if c.status != ConversationStatus.resolved]
        return max(going, key=lambda c: (c.last_message_at, c.id or 1 << 62), default=None)

    def recently_resolved(self, profile_id: int, *, at: datetime) -> Conversation | None:
        days = get_settings().inbox_reopen_days
        if days <= 0:
            return None
        resolved = [c for c in self.by_profile.get(profile_id, []) if c.status == ConversationStatus.resolved
                    and c.resolved_at is not None and c.resolved_at >= at - timedelta(days=days)]
        return max(resolved, key=lambda c: (c.resolved_at, c.id or 1 << 62), default=None)

    def open_new(self, session: Session, *, profile_id: int, at: datetime) -> Conversation:
        conversation = Conversation(profile_id=profile_id, status=ConversationStatus.open, last_message_at=at,
                                    created_at=utcnow())
        session.add(conversation)
        self.by_profile.setdefault(profile_id, []).append(conversation)
        self.opened.append(conversation)
        return conversation

    def conversation_for(self, session: Session, *, profile_id: int, at: datetime,
                         message: InboundMessage | None) -> Conversation:
        hinted = (_hinted_conversation(session, profile_id=profile_id, message=message) if message else None)
        if hinted is not None:
            hinted = followed_merges(session, hinted)
            known = self.by_profile.setdefault(hinted.profile_id, [])
            if hinted not in known:  # an older one the message answers: the batch's next messages see it too
                known.append(hinted)
            return hinted
        found = self.current(profile_id) or self.recently_resolved(profile_id, at=at)
        return found or self.open_new(session, profile_id=profile_id, at=at)

    def announce_opened(self, session: Session) -> None:
        """The ``inbox.conversation.opened`` event of each conversation this batch opened (after a flush)."""
        for conversation in self.opened:
            emit(session, topic="inbox.conversation.opened", aggregate_type="conversation",
                 aggregate_id=conversation.id,
                 payload={"conversation_id": conversation.id, "profile_id": conversation.profile_id})
        self.opened = []


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
    threads = _Conversations.load(session, profile_ids={profile_id}, since=at)
    found = threads.conversation_for(session, profile_id=profile_id, at=at, message=message)
    session.flush()
    threads.announce_opened(session)
    return found


def followed_merges(session: Session, conversation: Conversation) -> Conversation:
    """The conversation itself, or the one it was combined into when the customer's profiles were merged."""
    for _ in range(20):
        if conversation.merged_into_id is None:
            return conversation
        following = session.get(Conversation, conversation.merged_into_id)
        if following is None:
            return conversation
        conversation = following
    return conversation


def thread_key(conversation_id: int) -> str:
    """The key a channel carries to thread replies back (e-mail puts it, signed, in its Reply-To address)."""
    return f"{THREAD_KEY_PREFIX}{conversation_id}"


# Adding what came in ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """A customer's message (or an echo of one the shop sent from the provider's own app) on its way into a
    conversation, its sender resolved."""

    channel: Channel
    message: InboundMessage
    profile_id: int
    receipt_id: int | None = None


def add_inbound_message(session: Session, *, channel: Channel, message: InboundMessage,
                        receipt_id: int | None, profile_id: int | None = None) -> Message | None:
    """Add a customer's message (or an echo of one the shop sent from the provider's own app) to its
    conversation; None when the provider delivered it before (helper). ``profile_id`` is its sender when
    ``resolve_senders`` already found them."""
    if _seen_before(session, [(channel.id, message.provider_message_id)]):
        return None
    arrival = Arrival(channel=channel, message=message, receipt_id=receipt_id,
                      profile_id=_resolved(session, channel, message, profile_id))
    (added,) = add_inbound_messages(session, arrivals=[arrival])
    return added


def add_inbound_messages(session: Session, *, arrivals: Sequence[Arrival]) -> list[Message | None]:
    """Add arrivals to their customers' conversations in order, with a few statements for the lot; None for each
    the provider delivered before (helper)."""
    if not arrivals:
        return []
    seen = _seen_before(session, [(a.channel.id, a.message.provider_message_id) for a in arrivals])
    fresh: list[Arrival] = []
    for arrival in arrivals:
        key = (arrival.channel.id, arrival.message.provider_message_id)
        if key not in seen:
            seen.add(key)
            fresh.append(arrival)
    if not fresh:
        return [None] * len(arrivals)
    points = _contact_points(session, [(a.channel, a.message.contact) for a in fresh])
    threads = _Conversations.load(session, profile_ids={a.profile_id for a in fresh},
                                  since=min(a.message.sent_at for a in fresh))
    placed = [_place(session, arrival, points, threads) for arrival in fresh]
    session.flush()  # the new contact points and conversations get their ids
    threads.announce_opened(session)
    for row, point, conversation, _reopened in placed:
        row.contact_point_id, row.conversation_id = point.id, conversation.id
    session.add_all([row for row, *_ in placed])
    session.flush()
    for (row, _point, conversation, reopened), arrival in zip(placed, fresh, strict=True):
        announce_message(session, row, channel=arrival.channel)
        if reopened:
            announce_status(session, conversation, previous=reopened, actor="customer")
    added = {id(arrival): row for (row, *_), arrival in zip(placed, fresh, strict=True)}
    return [added.get(id(arrival)) for arrival in arrivals]


def _seen_before(session: Session, keys: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (channel, provider message id) pairs are stored already."""
    found = session.execute(select(Message.channel_id, Message.provider_message_id).where(
        Message.channel_id.in_(sorted({key[0] for key in keys})),
        Message.provider_message_id.in_(sorted({key[1] for key in keys}))))
    stored = {(channel_id, provider_id) for channel_id, provider_id in found
              if channel_id is not None and provider_id is not None}
    return stored & set(keys)


def _place(session: Session, arrival: Arrival, points: dict[PointKey, ContactPoint], threads: _Conversations,
           ) -> tuple[Message, ContactPoint, Conversation, ConversationStatus | None]:
    """The message row of an arrival, where it was reached and the conversation it joins (moved on by it)."""
    message, channel = arrival.message, arrival.channel
    point = _touch_contact_point(session, points, channel=channel, contact=message.contact,
                                 profile_id=arrival.profile_id, wrote_at=None if message.echo else message.sent_at)
    conversation = threads.conversation_for(session, profile_id=arrival.profile_id, at=message.sent_at,
                                            message=message)
    row = Message(channel_id=channel.id, direction=Direction.outbound if message.echo else Direction.inbound,
                  state=MessageState.sent if message.echo else MessageState.received,
                  provider_message_id=message.provider_message_id, text=message.text, subject=message.subject,
                  attachments=[_attachment(item) for item in message.attachments],
                  meta={"thread_hints": dict(message.thread_hints), "echo": message.echo},
                  receipt_id=arrival.receipt_id, sent_at=message.sent_at, created_at=utcnow())
    reopened = _note_message(conversation, row, channel_id=channel.id)
    return row, point, conversation, reopened


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


def apply_contact_event(session: Session, *, channel: Channel, event: ContactEvent,
                        profile_id: int | None = None) -> None:
    """Log a follow, unfollow or opt-out on the customer's timeline and remember opt-outs (helper)."""
    profile_id = _resolved(session, channel, event, profile_id)
    point = _touch_contact_point(session, _contact_points(session, [(channel, event.contact)]), channel=channel,
                                 contact=event.contact, profile_id=profile_id, wrote_at=None)
    if event.kind.value in ("unfollow", "opt_out"):
        point.opted_out_at = event.at
    elif event.kind.value in ("follow", "opt_in"):
        point.opted_out_at = None


# Telling other domains and the agents' browsers -------------------------------------------------------


_ANNOUNCEMENTS = "xuyen.inbox.announcements"


def announce(session: Session, *, kind: str, **ids: int) -> None:
    """Tell every server process that the inbox changed, when the transaction commits (PostgreSQL NOTIFY, a
    transaction's notices sent together as it commits; on SQLite the live stream watches the tables instead)."""
    if is_postgres(session):
        session.info.setdefault(_ANNOUNCEMENTS, []).append(json.dumps({"kind": kind, **ids}))


@event.listens_for(Session, "before_commit")
def _send_announcements(session: Session) -> None:
    payloads = session.info.pop(_ANNOUNCEMENTS, None)
    if payloads:
        session.execute(text("SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"),
                        {"channel": NOTIFY_CHANNEL, "payloads": payloads})


@event.listens_for(Session, "after_soft_rollback")
def _forget_announcements(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_ANNOUNCEMENTS, None)


def announce_message(session: Session, message: Message, *, channel: Channel | None) -> None:
    """A message joined a conversation: the ``inbox.message.added`` domain event, and the live stream."""
    emit(session, topic="inbox.message.added", aggregate_type="conversation", aggregate_id=message.conversation_id,
         payload={"conversation_id": message.conversation_id, "message_id": message.id,
                  "direction": message.direction.value, "channel_id": channel.id if channel else None,
                  "channel_kind": channel.kind if channel else None, "author_id": message.author_id,
                  "automatic": bool(message.meta.get("system") or message.meta.get("outreach")),
                  "sent_at": message.sent_at.isoformat()})
    announce(session, kind="message", conversation_id=message.conversation_id, message_id=message.id)


def from_customer(payload: dict[str, Any]) -> bool:
    """Whether an ``inbox.message.added`` event is of a message the customer wrote (a handler's ``when``)."""
    return payload.get("direction") == Direction.inbound.value


def between_people(payload: dict[str, Any]) -> bool:
    """Whether an ``inbox.message.added`` event is of the customer's message or the shop's answer, not of a message
    Xuyên sends by itself (a survey, a journey's outreach: ``automatic``) nor of a note (a handler's ``when``)."""
    return from_customer(payload) or (payload.get("direction") == Direction.outbound.value
                                      and not payload.get("automatic"))


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
        message.html = None
    if messages:
        session.execute(delete(MessageTracking).where(MessageTracking.message_id.in_([m.id for m in messages])))
    for conversation in session.scalars(select(Conversation).where(Conversation.id.in_(conversation_ids or [-1]))):
        conversation.subject = None
    for point in session.scalars(select(ContactPoint).where(ContactPoint.profile_id.in_(profile_ids))):
        session.delete(point)
    if receipt_ids:
        for receipt in session.scalars(select(WebhookReceipt).where(WebhookReceipt.id.in_(sorted(receipt_ids)))):
            receipt.body, receipt.headers = b"", {"erased": True}
    return len(messages)
