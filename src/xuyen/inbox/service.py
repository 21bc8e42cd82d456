"""Inbox services: the conversation list, one conversation with its messages, replies within each channel's
rules, private notes, statuses and assignment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.service import get_user
from xuyen.channels.base import ContactIdentifier, ReplyRule
from xuyen.clock import utcnow
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox.connections import build_adapter
from xuyen.inbox.models import (
    Channel,
    ChannelStatus,
    ContactPoint,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageState,
)
from xuyen.inbox.threads import announce, announce_message, announce_status
from xuyen.jobs import URGENT, add_job
from xuyen.outbox import emit

SEND_JOB = "inbox.send_message"
MAX_TEXT = 20_000


# Reading ------------------------------------------------------------------------------------------------


def get_conversation(session: Session, *, conversation_id: int) -> Conversation:
    """The conversation with ``conversation_id``; NotFound when there is none."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"There is no conversation {conversation_id}.", code="conversation_not_found")
    return conversation


def get_live_conversation(session: Session, *, conversation_id: int) -> Conversation:
    """The conversation with ``conversation_id``, to work on; Conflict when a merge of the customer's profiles
    combined it into another (work goes on there)."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation.merged_into_id is not None:
        raise Conflict(f"Conversation {conversation_id} was merged into conversation {conversation.merged_into_id}; "
                       "continue there.", code="conversation_merged",
                       details={"merged_into_id": conversation.merged_into_id})
    return conversation


def list_conversations(session: Session, *, status: ConversationStatus | None = ConversationStatus.open,
                       assignee_id: int | None = None, profile_id: int | None = None,
                       limit: int = 50) -> list[Conversation]:
    """Conversations newest first, by status, assignee or customer."""
    query = (select(Conversation).where(Conversation.merged_into_id.is_(None))
             .order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit))
    if status is not None:
        query = query.where(Conversation.status == status)
    if assignee_id is not None:
        query = query.where(Conversation.assignee_id == assignee_id)
    if profile_id is not None:
        query = query.where(Conversation.profile_id == resolve_profile_id(session, profile_id=profile_id))
    return list(session.scalars(query))


def list_messages(session: Session, *, conversation_id: int, limit: int = 200) -> list[Message]:
    """A conversation's messages in the order they were sent (the newest ``limit``)."""
    get_conversation(session, conversation_id=conversation_id)
    newest = list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                  .order_by(Message.sent_at.desc(), Message.id.desc()).limit(limit)))
    return newest[::-1]


def count_by_status(session: Session) -> dict[str, int]:
    """How many conversations are in each status."""
    rows = session.execute(select(Conversation.status, func.count()).where(Conversation.merged_into_id.is_(None))
                           .group_by(Conversation.status)).all()
    return {status.value: count for status, count in rows}


# Where a reply can go -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyOption:
    """One channel a customer can be reached on, and what it allows now."""

    channel: Channel
    point: ContactPoint
    rule: ReplyRule


def reply_options(session: Session, *, conversation_id: int) -> list[ReplyOption]:
    """Every channel the customer can be reached on, the one they last wrote on first, with its reply rule."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    profile_id = resolve_profile_id(session, profile_id=conversation.profile_id)
    points = list(session.scalars(select(ContactPoint).where(ContactPoint.profile_id == profile_id,
                                                             ContactPoint.opted_out_at.is_(None))))
    now = utcnow()
    options = []
    for point in points:
        channel = session.get(Channel, point.channel_id)
        if channel is None or channel.status == ChannelStatus.disabled:
            continue
        adapter = build_adapter(channel)
        try:
            options.append(ReplyOption(channel=channel, point=point,
                                       rule=adapter.reply_rule(last_inbound_at=point.last_inbound_at, now=now)))
        finally:
            adapter.close()

    return sorted(options, key=lambda option: (option.channel.id != conversation.last_inbound_channel_id,
                                               not option.rule.free_text,
                                               -(option.point.last_inbound_at or option.point.created_at).timestamp()))


def _pick(options: list[ReplyOption], channel_id: int | None) -> ReplyOption:
    if not options:
        raise Conflict("This customer cannot be reached on any connected channel yet.", code="no_reply_channel")
    if channel_id is None:
        return options[0]
    for option in options:
        if option.channel.id == channel_id:
            return option
    raise ValidationFailed(f"The customer has not written on channel {channel_id}, so it cannot reach them; "
                           "choose one of the channels offered.", code="channel_not_reachable")


def _refusal(chosen: ReplyOption, options: list[ReplyOption]) -> ValidationFailed:
    open_elsewhere = [option.channel.name for option in options if option.rule.free_text]
    hint = (f" You can reply on {', '.join(open_elsewhere)}." if open_elsewhere else "")
    if chosen.rule.templates:
        hint += " An approved template can still be sent on this channel."
    return ValidationFailed(f"{chosen.channel.name}: {chosen.rule.reason}{hint}", code="outside_reply_window",
                            details={"channel_id": chosen.channel.id, "templates": chosen.rule.templates,
                                     "open_channels": [option.channel.id for option in options
                                                       if option.rule.free_text]})


# Writing ------------------------------------------------------------------------------------------------


def reply(session: Session, *, conversation_id: int, text: str, author_id: int | None, actor: str,
          channel_id: int | None = None) -> Message:
    """Queue an agent's reply on the channel the customer last wrote on (or the one chosen), if that
    channel's rules allow a reply now; a worker sends it."""
    text = text.strip()
    if not text:
        raise ValidationFailed("Write something to send.", code="empty_reply")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"A reply is at most {MAX_TEXT:,} characters.", code="reply_too_long")
    conversation = get_live_conversation(session, conversation_id=conversation_id)
    options = reply_options(session, conversation_id=conversation_id)
    chosen = _pick(options, channel_id)
    if chosen.channel.status != ChannelStatus.active:
        raise Conflict(f"{chosen.channel.name} needs its owner: {chosen.channel.status_reason or 'reconnect it'}.",
                       code="channel_needs_attention")
    if not chosen.rule.free_text and chosen.rule.tag is None:
        raise _refusal(chosen, options)
    message = _queue(session, conversation, chosen, text=text, author_id=author_id,
                     meta={"tag": chosen.rule.tag} if chosen.rule.tag else {})
    audit.record(session, actor=actor, action="conversation.replied", subject_type="conversation",
                 subject_id=conversation.id, detail={"message_id": message.id, "channel_id": chosen.channel.id})
    session.commit()
    return message


def send_template(session: Session, *, conversation_id: int, channel_id: int, name: str, language: str | None,
                  parameters: dict[str, str], author_id: int | None, actor: str) -> Message:
    """Queue an approved template (WhatsApp template, Zalo ZNS) on a channel that takes them, in or out of its
    reply window."""
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Give the template's name (or id) as the provider approved it.",
                               code="template_required")
    if len(parameters) > 50 or any(len(key) > 100 or len(value) > 1000 for key, value in parameters.items()):
        raise ValidationFailed("A template takes at most 50 values of at most 1,000 characters.",
                               code="template_values_too_long")
    conversation = get_live_conversation(session, conversation_id=conversation_id)
    options = reply_options(session, conversation_id=conversation_id)
    chosen = _pick(options, channel_id)
    if chosen.channel.status != ChannelStatus.active:
        raise Conflict(f"{chosen.channel.name} needs its owner: {chosen.channel.status_reason or 'reconnect it'}.",
                       code="channel_needs_attention")
    if not chosen.rule.templates:
        raise ValidationFailed(f"{chosen.channel.name} does not send templates; write a reply instead.",
                               code="templates_not_supported")
    template = {"name": name, "language": (language or "").strip() or None, "parameters": dict(parameters)}
    preview = f"[{name}] " + ", ".join(f"{key}: {value}" for key, value in parameters.items())
    message = _queue(session, conversation, chosen, text=preview.strip(), author_id=author_id,
                     meta={"template": template})
    audit.record(session, actor=actor, action="conversation.template_sent", subject_type="conversation",
                 subject_id=conversation.id, detail={"message_id": message.id, "template": name})
    session.commit()
    return message


def _queue(session: Session, conversation: Conversation, chosen: ReplyOption, *, text: str, author_id: int | None,
           meta: dict[str, object]) -> Message:
    """An outbound message on the chosen channel, queued for the send job (helper)."""
    now = utcnow()
    message = Message(conversation_id=conversation.id, channel_id=chosen.channel.id, contact_point_id=chosen.point.id,
                      direction=Direction.outbound, state=MessageState.queued, idempotency_key=uuid.uuid4().hex,
                      author_id=author_id, text=text, meta=meta, sent_at=now, created_at=now)
    session.add(message)
    conversation.last_message_at = now
    if conversation.first_reply_at is None and author_id is not None:
        conversation.first_reply_at = now
    session.flush()
    queue_send(session, message=message, channel_id=chosen.channel.id)
    announce_message(session, message, channel=chosen.channel)
    return message


def record_sent_reply(session: Session, *, conversation_id: int, text: str, author_id: int, sent_at: datetime,
                      channel_id: int | None = None) -> Message:
    """Record a reply an agent already sent at ``sent_at`` (history brought in, the demo shop), on the channel the
    customer last wrote on (or the one given): stored as sent, nothing is queued (helper: the caller commits)."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    chosen = _pick(reply_options(session, conversation_id=conversation_id), channel_id)
    message = Message(conversation_id=conversation.id, channel_id=chosen.channel.id, contact_point_id=chosen.point.id,
                      direction=Direction.outbound, state=MessageState.sent, author_id=author_id,
                      text=text.strip()[:MAX_TEXT], meta={}, sent_at=sent_at, created_at=utcnow())
    session.add(message)
    conversation.last_message_at = max(conversation.last_message_at, sent_at)
    if conversation.first_reply_at is None or sent_at < conversation.first_reply_at:
        conversation.first_reply_at = sent_at
    session.flush()
    announce_message(session, message, channel=chosen.channel)
    return message


def add_note(session: Session, *, conversation_id: int, text: str, author_id: int | None) -> Message:
    """Add a private note for the other agents; it is never sent."""
    text = text.strip()
    if not text:
        raise ValidationFailed("Write something in the note.", code="empty_note")
    conversation = get_live_conversation(session, conversation_id=conversation_id)
    now = utcnow()
    note = Message(conversation_id=conversation.id, direction=Direction.note, state=MessageState.sent,
                   author_id=author_id, text=text[:MAX_TEXT], sent_at=now, created_at=now)
    session.add(note)
    session.flush()
    announce_message(session, note, channel=None)
    session.commit()
    return note


def set_status(session: Session, *, conversation_id: int, status: ConversationStatus, actor: str,
               snoozed_until: datetime | None = None) -> Conversation:
    """Open, mark pending, snooze (until a time) or resolve a conversation."""
    conversation = get_live_conversation(session, conversation_id=conversation_id)
    now = utcnow()
    if status == ConversationStatus.snoozed and (snoozed_until is None or snoozed_until <= now):
        raise ValidationFailed("Say until when to snooze, a time in the future.", code="snooze_until_required")
    previous = conversation.status
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == ConversationStatus.snoozed else None
    conversation.resolved_at = now if status == ConversationStatus.resolved else None
    audit.record(session, actor=actor, action=f"conversation.{status.value}", subject_type="conversation",
                 subject_id=conversation.id)
    if previous != status:
        announce_status(session, conversation, previous=previous, actor=actor)
    session.commit()
    return conversation


def wake_snoozed(session: Session, *, now: datetime | None = None) -> int:
    """Reopen the snoozed conversations whose time has come; how many (helper for the periodic job)."""
    now = now or utcnow()
    due = list(session.scalars(select(Conversation).where(Conversation.status == ConversationStatus.snoozed,
                                                          Conversation.snoozed_until <= now)
                               .order_by(Conversation.snoozed_until).limit(500)))
    for conversation in due:
        conversation.status, conversation.snoozed_until = ConversationStatus.open, None
        announce_status(session, conversation, previous=ConversationStatus.snoozed, actor="system")
    return len(due)


def assign(session: Session, *, conversation_id: int, assignee_id: int | None, actor: str) -> Conversation:
    """Give a conversation to an agent, or take it back to the team (None)."""
    conversation = get_live_conversation(session, conversation_id=conversation_id)
    if assignee_id is not None:
        user = get_user(session, user_id=assignee_id)
        if not user.is_active:
            raise ValidationFailed(f"{user.name} can no longer sign in; assign the conversation to someone else.",
                                   code="assignee_inactive")
    add_assignment(session, conversation=conversation, assignee_id=assignee_id, actor=actor)
    session.commit()
    return conversation


def queue_send(session: Session, *, message: Message, channel_id: int, run_at: datetime | None = None) -> None:
    """Queue the sending of an outbound message (helper: no commit). An agent's reply is urgent and goes after the
    channel's earlier ones; a message the shop starts itself (a journey's, a campaign's) waits its turn behind the
    agents' replies and keeps order only within its conversation, so a broadcast's sends run on every worker at
    once without holding up anyone's reply."""
    outreach = bool((message.meta or {}).get("outreach"))
    add_job(session, name=SEND_JOB, payload={"message_id": message.id}, priority=100 if outreach else URGENT,
            run_at=run_at, sequence=message.id,
            ordering_key=f"{SEND_JOB}:c{message.conversation_id}" if outreach else f"{SEND_JOB}:{channel_id}")


def recipient(point: ContactPoint) -> ContactIdentifier:
    """The channel address of a contact point."""
    return ContactIdentifier(type=point.type, value=point.value, scope=point.scope or None)


# Messages Xuyên sends by itself -----------------------------------------------------------------------


def send_system_message(session: Session, *, conversation_id: int, text: str, channel_id: int,
                        kind: str = "system") -> Message:
    """Queue a message Xuyên sends by itself (no author; ``meta.system`` says what it is, e.g. ``csat``) on a
    channel where free text may go out now, like a reply (helper: the caller commits)."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise ValidationFailed(f"A message has 1 to {MAX_TEXT:,} characters.", code="invalid_system_message")
    conversation = get_conversation(session, conversation_id=conversation_id)
    options = reply_options(session, conversation_id=conversation_id)
    chosen = _pick(options, channel_id)
    if chosen.channel.status != ChannelStatus.active or not chosen.rule.free_text:
        raise _refusal(chosen, options)
    now = utcnow()
    message = Message(conversation_id=conversation.id, channel_id=chosen.channel.id, contact_point_id=chosen.point.id,
                      direction=Direction.outbound, state=MessageState.queued, idempotency_key=uuid.uuid4().hex,
                      author_id=None, text=text, meta={"system": kind}, sent_at=now, created_at=now)
    session.add(message)
    conversation.last_message_at = max(conversation.last_message_at, now)
    session.flush()
    queue_send(session, message=message, channel_id=chosen.channel.id)
    announce_message(session, message, channel=chosen.channel)
    return message


def resolve_again(session: Session, *, conversation_id: int, message_id: int, actor: str) -> bool:
    """Resolve a conversation again that the customer's message ``message_id`` reopened, when nothing was added to
    it since and it is still open (a survey answer needs no agent); whether it did (helper)."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    latest = session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
    if conversation.status != ConversationStatus.open or latest != message_id:
        return False
    conversation.status, conversation.resolved_at, conversation.snoozed_until = (
        ConversationStatus.resolved, utcnow(), None)
    audit.record(session, actor=actor, action="conversation.resolved", subject_type="conversation",
                 subject_id=conversation.id, detail={"after_message_id": message_id})
    announce_status(session, conversation, previous=ConversationStatus.open, actor=actor)
    return True
def add_assignment(session: Session, *, conversation: Conversation, assignee_id: int | None, actor: str) -> None:
    """Give a conversation to an agent (or None) as ``assign`` does, for routing (helper: the caller commits)."""
    conversation.assignee_id = assignee_id
    audit.record(session, actor=actor, action="conversation.assigned", subject_type="conversation",
                 subject_id=conversation.id, detail={"assignee_id": assignee_id})
    emit(session, topic="inbox.conversation.assigned", aggregate_type="conversation", aggregate_id=conversation.id,
         payload={"conversation_id": conversation.id, "assignee_id": assignee_id, "actor": actor})
    announce(session, kind="conversation", conversation_id=conversation.id)
    session.flush()
