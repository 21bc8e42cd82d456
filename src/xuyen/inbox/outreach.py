"""Messages Xuyên starts itself (a journey's message, a campaign): queued in the customer's one conversation, so the
agents see what was sent when the customer answers, and sent by the inbox's own send job with its idempotency key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.errors import Conflict
from xuyen.identity.graph import resolve_profile_id
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
from xuyen.inbox.service import queue_send
from xuyen.inbox.threads import announce_message, current_conversation


def _channel(session: Session, *, kind: str, channel_id: int | None) -> Channel:
    query = select(Channel).where(Channel.kind == kind, Channel.status == ChannelStatus.active)
    if channel_id is not None:
        query = query.where(Channel.id == channel_id)
    found = session.scalar(query.order_by(Channel.id).limit(1))
    if found is None:
        raise Conflict(f"No active {kind} channel can send this message; connect one on the Channels page.",
                       code="no_active_channel")
    return found


def _point(session: Session, *, channel: Channel, profile_id: int, address_type: str, address: str) -> ContactPoint:
    point = session.scalar(select(ContactPoint).where(ContactPoint.channel_id == channel.id,
                                                      ContactPoint.type == address_type,
                                                      ContactPoint.value == address).limit(1))
    if point is None:
        point = ContactPoint(profile_id=profile_id, channel_id=channel.id, type=address_type, scope="", value=address,
                             created_at=utcnow())
        session.add(point)
        session.flush()
    elif point.opted_out_at is not None:
        raise Conflict("The customer opted out of messages at this address.", code="opted_out")
    return point


def _conversation(session: Session, *, profile_id: int) -> Conversation:
    found = current_conversation(session, profile_id=profile_id)
    if found is None:
        now = utcnow()
        found = Conversation(profile_id=profile_id, status=ConversationStatus.resolved, last_message_at=now,
                             resolved_at=now, created_at=now)
        session.add(found)
        session.flush()
    return found


def queue_outreach(session: Session, *, profile_id: int, channel_kind: str, address_type: str, address: str,
                   idempotency_key: str, channel_id: int | None = None, text: str = "", subject: str | None = None,
                   html: str | None = None, template: dict[str, Any] | None = None,
                   meta: dict[str, Any] | None = None, track: bool = False) -> Message:
    """Queue a message to the customer at ``address`` on an active channel of ``channel_kind``, in their current
    conversation (or a new resolved one, so it does not crowd the agents' queue); once per ``idempotency_key``
    (helper: no commit). Conflict ``no_active_channel`` or ``opted_out`` when it cannot go."""
    existing = session.scalar(select(Message).where(Message.idempotency_key == idempotency_key))
    if existing is not None:
        return existing
    channel = _channel(session, kind=channel_kind, channel_id=channel_id)
    root = resolve_profile_id(session, profile_id=profile_id)
    point = _point(session, channel=channel, profile_id=root, address_type=address_type, address=address)
    conversation = _conversation(session, profile_id=root)
    now = utcnow()
    extra: dict[str, Any] = {"outreach": True, **(meta or {})}
    if template is not None:
        extra["template"] = template
    if html:
        extra["html"] = html
    message = Message(conversation_id=conversation.id, channel_id=channel.id, contact_point_id=point.id,
                      direction=Direction.outbound, state=MessageState.queued, idempotency_key=idempotency_key,
                      author_id=None, text=text, subject=subject, meta=extra, sent_at=now, created_at=now)
    session.add(message)
    conversation.last_message_at = max(conversation.last_message_at, now)
    session.flush()
    queue_send(session, message=message, channel_id=channel.id)
    announce_message(session, message, channel=channel)
    return message
