"""Engagement counters: every message sent counts as received on its channel, and the customer writing back on
that channel (a real inbound message through the inbox) counts one reply to the latest message sent there."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.journeys.policy.conftest import connected, consent, customer, utc, wrote
from xuyen.channels.base import Contact, ContactIdentifier, InboundMessage
from xuyen.inbox.threads import add_inbound_message
from xuyen.journeys.policy import settings
from xuyen.journeys.policy.models import ChannelEngagement
from xuyen.journeys.policy.service import count_reply, decide, engagement_rates, record_send
from xuyen.journeys.policy.settings import PolicyConfig
from xuyen.worker import Worker

SENT = utc("2026-12-05 03:00")


def _counters(session: Session, profile_id: int, channel: str) -> tuple[int, int]:
    session.rollback()
    session.expire_all()
    row = session.get(ChannelEngagement, (profile_id, channel))
    return (row.received, row.replied) if row is not None else (0, 0)


def test_a_reply_counts_once_per_message_and_only_soon_after_it(session: Session) -> None:
    lan = customer(session)
    record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=SENT)
    assert count_reply(session, profile_id=lan, channel="email", at=SENT + timedelta(hours=1)) is False
    assert count_reply(session, profile_id=lan, channel="sms", at=SENT + timedelta(hours=1)) is True
    assert count_reply(session, profile_id=lan, channel="sms", at=SENT + timedelta(hours=2)) is False
    session.commit()
    record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=SENT + timedelta(days=1))
    assert count_reply(session, profile_id=lan, channel="sms", at=SENT + timedelta(days=5)) is False
    session.commit()
    assert _counters(session, lan, "sms") == (2, 1)
    assert engagement_rates(session, profile_ids=[lan]) == {"sms": 0.5}


def test_customers_writing_back_on_zalo_move_zalo_first(session: Session, engine: Engine) -> None:
    settings.change(session, config=PolicyConfig(channel_order=("sms", "email", "zalo", "messenger", "whatsapp")),
                    actor="user:1")
    lan = customer(session)
    zalo = connected(session, "zalo")
    point = wrote(session, lan, zalo, at=SENT - timedelta(days=1), value="8400123456789")
    for channel in ("zalo", "sms"):
        consent(session, lan, channel)
    record_send(session, profile_id=lan, channel="sms", purpose="marketing", at=SENT)
    record_send(session, profile_id=lan, channel="zalo", purpose="marketing", at=SENT)
    message = InboundMessage(provider_message_id="zalo-msg-1", sent_at=SENT + timedelta(minutes=30),
                             text="Shop ơi còn size M không ạ?",
                             contact=Contact(identifiers=(ContactIdentifier(type="zalo_id", value=point.value,
                                                                            scope=None),)))
    before = decide(session, profile_id=lan, purpose="marketing", at=SENT + timedelta(hours=2))
    assert (before.channel, before.fallbacks) == ("sms", ("zalo",))
    add_inbound_message(session, channel=zalo, message=message, receipt_id=None, profile_id=lan)
    session.commit()
    Worker(engine=engine, periodic=False).run_until_idle()
    assert _counters(session, lan, "zalo") == (1, 1)
    after = decide(session, profile_id=lan, purpose="marketing", at=SENT + timedelta(hours=2))
    assert (after.channel, after.fallbacks) == ("zalo", ("sms",))
