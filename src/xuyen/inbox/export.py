"""The inbox's sections of the person export: where the person is reached on each channel, their conversations
with every message to and from them (and the team's private notes about them), and their satisfaction survey
answers.

Left out: who of the staff wrote a reply or a note (that is the staff member's data, not the person's), the raw
webhooks and the providers' technical hints (they repeat what the messages say), and Xuyên's own notes about
merging conversations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.customers.exports import export_section
from xuyen.inbox.csat.models import Response
from xuyen.inbox.models import Channel, ContactPoint, Conversation, Direction, Message

ATTACHMENT_FIELDS = ("kind", "name", "url", "mime_type", "size_bytes")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _channels(session: Session) -> dict[int, Channel]:
    return {channel.id: channel for channel in session.scalars(select(Channel))}


@export_section("channel_addresses")
def channel_addresses(session: Session, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Where the person can be reached on each connected channel, and when they last wrote there."""
    channels = _channels(session)
    points = session.scalars(select(ContactPoint).where(ContactPoint.profile_id.in_(profile_ids))
                             .order_by(ContactPoint.id))
    return [{"channel": channels[point.channel_id].kind, "channel_name": channels[point.channel_id].name,
             "type": point.type, "scope": point.scope or None, "value": point.value,
             "name": point.display_name, "last_wrote_at": _iso(point.last_inbound_at),
             "opted_out_at": _iso(point.opted_out_at), "first_seen_at": _iso(point.created_at)}
            for point in points]


def _message(message: Message, channels: dict[int, Channel]) -> dict[str, Any]:
    channel = channels.get(message.channel_id) if message.channel_id is not None else None
    note = message.direction == Direction.note
    return {"id": message.id, "direction": "internal_note" if note else message.direction.value,
            "channel": channel.kind if channel else None, "channel_name": channel.name if channel else None,
            "sent_at": message.sent_at.isoformat(), "state": None if note else message.state.value,
            "state_changed_at": None if note else _iso(message.state_changed_at),
            "subject": message.subject, "text": message.text,
            "attachments": [{name: item[name] for name in ATTACHMENT_FIELDS if item.get(name) is not None}
                            for item in message.attachments]}


@export_section("conversations")
def conversations(session: Session, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The person's conversations, oldest first, each with its messages in the order they were sent."""
    channels = _channels(session)
    found = list(session.scalars(select(Conversation).where(Conversation.profile_id.in_(profile_ids))
                                 .order_by(Conversation.created_at, Conversation.id)))
    messages: dict[int, list[Message]] = {conversation.id: [] for conversation in found}
    query = (select(Message).where(Message.conversation_id.in_(list(messages) or [-1]))
             .order_by(Message.sent_at, Message.id))
    for message in session.scalars(query):
        if not message.meta.get("system") or message.direction != Direction.note:
            messages[message.conversation_id].append(message)
    return [{"id": conversation.id, "status": conversation.status.value, "subject": conversation.subject,
             "started_at": conversation.created_at.isoformat(), "last_message_at": _iso(conversation.last_message_at),
             "resolved_at": _iso(conversation.resolved_at), "merged_into_id": conversation.merged_into_id,
             "messages": [_message(message, channels) for message in messages[conversation.id]]}
            for conversation in found]


@export_section("satisfaction_surveys")
def satisfaction_surveys(session: Session, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The satisfaction surveys sent to the person and their answers, oldest first."""
    conversation_ids = select(Conversation.id).where(Conversation.profile_id.in_(profile_ids))
    surveys = session.scalars(select(Response).where(Response.conversation_id.in_(conversation_ids),
                                                     Response.sent_at.is_not(None))
                              .order_by(Response.sent_at, Response.id))
    return [{"conversation_id": survey.conversation_id, "channel": survey.channel_kind,
             "sent_at": _iso(survey.sent_at), "rating": survey.rating, "comment": survey.comment,
             "answered_at": _iso(survey.answered_at), "answered_via": survey.answered_via}
            for survey in surveys]
