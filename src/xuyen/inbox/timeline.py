"""The inbox's items on the customer timeline: every message to and from the customer, on whichever channel,
with its text (private notes stay in the inbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.inbox.models import Channel, Conversation, Direction, Message

PREVIEW = 500


@timeline_provider("message")
def message_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                  limit: int) -> list[TimelineItem]:
    """The customer's messages as timeline items, newest first."""
    query = (select(Message, Channel.kind, Channel.name)
             .join(Conversation, Conversation.id == Message.conversation_id)
             .join(Channel, Channel.id == Message.channel_id)
             .where(Conversation.profile_id.in_(profile_ids), Message.direction != Direction.note)
             .order_by(Message.sent_at.desc(), Message.id.desc()).limit(limit))
    if before is not None:
        at, message_id = before
        query = query.where(or_(Message.sent_at < at, and_(Message.sent_at == at, Message.id < message_id)))
    return [TimelineItem(at=message.sent_at, kind="message", seq=message.id, channel=kind, source=name,
                         title=message.subject or message.text[:80],
                         data={"conversation_id": message.conversation_id, "direction": message.direction.value,
                               "state": message.state.value, "text": message.text[:PREVIEW],
                               "attachments": len(message.attachments)})
            for message, kind, name in session.execute(query)]
