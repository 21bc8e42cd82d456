"""The person export carries what the messaging policy holds about the person, and an erasure forgets their sends
and engagement while a suppression of them stays."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.journeys.policy.conftest import customer, utc
from xuyen.customers.privacy import erase_person, export_person
from xuyen.journeys.policy import suppressions
from xuyen.journeys.policy.models import ChannelEngagement, PolicySend, Suppression
from xuyen.journeys.policy.service import record_engagement, record_send
from xuyen.worker import Worker


def test_the_export_and_the_erasure_cover_the_policys_records(session: Session, engine: Engine) -> None:
    lan = customer(session)
    other = customer(session, phone="0987654321", email="hoa@example.vn")
    for profile_id in (lan, other):
        record_send(session, profile_id=profile_id, channel="sms", purpose="marketing", at=utc("2026-12-07 03:00"),
                    campaign_key="tet-2027")
    record_engagement(session, profile_id=lan, channel="sms", kind="clicked")
    suppressions.add_suppression(session, kind="profile", value=str(lan), reason="Khách yêu cầu", actor="user:1")
    exported = export_person(session, profile_id=lan, actor="user:1")
    assert exported["messaging_sends"] == [{"channel": "sms", "purpose": "marketing", "campaign_key": "tet-2027",
                                            "sent_at": "2026-12-07T03:00:00+00:00", "replied_at": None}]
    assert exported["messaging_engagement"] == [{"channel": "sms", "received": 1, "opened": 0, "clicked": 1,
                                                 "replied": 0}]
    assert [entry["reason"] for entry in exported["messaging_suppressions"]] == ["Khách yêu cầu"]
    erase_person(session, profile_id=lan, actor="user:1", reason="Yêu cầu xóa dữ liệu")
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    assert session.scalars(select(PolicySend.profile_id)).all() == [other]
    assert session.scalars(select(ChannelEngagement.profile_id)).all() == [other]
    assert session.scalars(select(Suppression.value)).all() == [str(lan)]
