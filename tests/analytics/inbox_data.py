"""A small known inbox for the dashboard tests: three conversations in the week of Monday 2 March 2026 (Hà Nội),
their SLA clocks run by the SLA module under the default policy (1 h first response, 16 h resolution, shop hours
Monday to Friday 08:00-12:00 and 13:30-17:30), and four CSAT surveys.

    C1 zalo      writes Mon 09:00, reply 09:30 (30 min, met), resolved 10:00 (60 min, met)      rated 5, and a
                 second survey sent but never answered
    C2 messenger writes Mon 11:30 and 11:35, reply 14:10 (30 + 40 = 70 business min, breached)  rated 4
    C3 zalo      writes Mon 16:00, reply Tue 08:30 (90 + 30 = 120 min, breached), resolved Tue 09:00
                 (90 + 60 = 150 min, met)                                                       rated 3
    and one zalo message on Monday 9 March, after the week.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from xuyen.events.models import ChannelType
from xuyen.events.service import add_source
from xuyen.identity.models import Profile
from xuyen.inbox.csat.models import Response
from xuyen.inbox.models import Channel, Conversation, Direction, Message, MessageState
from xuyen.inbox.sla import service as sla

VN = ZoneInfo("Asia/Ho_Chi_Minh")
_events = itertools.count(1)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock moment in Hà Nội in March 2026."""
    return datetime(2026, 3, day, hour, minute, tzinfo=VN)


def _channel(session: Session, kind: str) -> Channel:
    source = add_source(session, name=f"Inbox {kind}", channel=ChannelType(kind))[0]
    channel = Channel(kind=kind, name=f"Kênh {kind}", settings={}, sealed_secrets="", source_id=source.id)
    session.add(channel)
    session.flush()
    return channel


def _conversation(session: Session, channel: Channel, *moments: datetime) -> Conversation:
    profile = Profile(first_seen_at=moments[0], last_seen_at=moments[-1])
    session.add(profile)
    session.flush()
    conversation = Conversation(profile_id=profile.id, last_message_at=moments[-1], last_inbound_at=moments[-1],
                                last_inbound_channel_id=channel.id)
    session.add(conversation)
    session.flush()
    for moment in moments:
        session.add(Message(conversation_id=conversation.id, channel_id=channel.id, direction=Direction.inbound,
                            state=MessageState.received, text="Chào shop", sent_at=moment))
    sla.note_opened(session, conversation_id=conversation.id)
    sla.note_inbound(session, conversation_id=conversation.id, channel_kind=channel.kind, at=moments[0])
    return conversation


def _survey(session: Session, conversation: Conversation, channel: Channel, resolved: datetime,
            rating: int | None) -> None:
    session.add(Response(conversation_id=conversation.id, event_id=next(_events) + 10_000, channel_id=channel.id,
                         channel_kind=channel.kind, resolved_at=resolved, sent_at=resolved, rating=rating,
                         answered_at=resolved if rating else None))


def build(session: Session) -> None:
    """Write the known inbox and commit."""
    zalo, messenger = _channel(session, "zalo"), _channel(session, "messenger")
    one = _conversation(session, zalo, local(2, 9))
    sla.note_reply(session, conversation_id=one.id, at=local(2, 9, 30))
    sla.note_status(session, conversation_id=one.id, status="resolved", previous="open", at=local(2, 10))
    two = _conversation(session, messenger, local(2, 11, 30), local(2, 11, 35))
    sla.note_reply(session, conversation_id=two.id, at=local(2, 14, 10))
    three = _conversation(session, zalo, local(2, 16))
    sla.note_reply(session, conversation_id=three.id, at=local(3, 8, 30))
    sla.note_status(session, conversation_id=three.id, status="resolved", previous="open", at=local(3, 9))
    later = _conversation(session, zalo, local(9, 10))
    sla.note_reply(session, conversation_id=later.id, at=local(9, 10, 5))
    _survey(session, one, zalo, local(2, 10), 5)
    _survey(session, one, zalo, local(2, 10), None)
    _survey(session, two, messenger, local(2, 15), 4)
    _survey(session, three, zalo, local(3, 9), 3)
    session.commit()
