"""The person export carries what the messaging policy holds about the person, and an erasure forgets their sends
and engagement while a suppression of them stays."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.journeys.policy.conftest import customer, utc
from xuyen.customers.privacy import erase_person, export_person
from xuyen.errors import Conflict
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


def test_an_erased_persons_phone_and_email_stay_suppressed_as_hashes_only(session: Session, engine: Engine) -> None:
    lan = customer(session)
    customer(session, phone="0987654321", email="hoa@example.vn")
    for kind, value in (("phone", "0912 345 678"), ("email", "Lan@Example.vn"), ("email", "hoa@example.vn")):
        suppressions.add_suppression(session, kind=kind, value=value, reason="Hủy đăng ký", actor="user:1",
                                     source="unsubscribe")
    erase_person(session, profile_id=lan, actor="user:1", reason="Yêu cầu xóa dữ liệu")
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    values = session.scalars(select(Suppression.value).order_by(Suppression.id)).all()
    assert values[2] == "hoa@example.vn"  # not the erased person's: kept as it is
    assert all(value.startswith("erased:") and len(value) == len("erased:") + 64 for value in values[:2])
    assert not {"+84912345678", "lan@example.vn"} & set(values)
    # Still never written to: a new profile bringing the same phone or e-mail back is blocked by the hash.
    assert suppressions.suppressed_addresses(session, phones=["+84912345678", "+84900000000"],
                                             emails=["lan@example.vn", "hoa@example.vn"]) == {
        "+84912345678", "lan@example.vn", "hoa@example.vn"}
    with pytest.raises(Conflict):
        suppressions.add_suppression(session, kind="email", value="lan@example.vn", reason="Lại", actor="user:1")
    assert suppressions.hash_erased_addresses(session) == 0  # nothing left to hash


def test_the_api_marks_hashed_entries(session: Session, engine: Engine, manager: Browser) -> None:
    lan = customer(session)
    suppressions.add_suppression(session, kind="email", value="lan@example.vn", reason="Hủy", actor="user:1")
    suppressions.add_suppression(session, kind="phone", value="0987654321", reason="Hủy", actor="user:1")
    erase_person(session, profile_id=lan, actor="user:1", reason="Yêu cầu xóa dữ liệu")
    Worker(engine=engine, periodic=False).run_until_idle()
    listed = manager.request("GET", "/messaging-policy/suppressions")
    assert listed.status_code == 200, listed.text
    by_kind = {entry["kind"]: entry for entry in listed.json()}
    assert by_kind["email"]["erased"] is True and by_kind["email"]["value"].startswith("erased:")
    assert by_kind["phone"] == {**by_kind["phone"], "erased": False, "value": "+84987654321"}


def test_an_address_already_kept_as_a_hash_is_not_kept_twice(session: Session, engine: Engine) -> None:
    lan = customer(session)
    hashed = suppressions.erased_form("email", "lan@example.vn")
    session.add(Suppression(kind="email", value=hashed, reason="Hủy", source="unsubscribe"))  # an earlier erasure's
    session.commit()
    session.add(Suppression(kind="email", value="lan@example.vn", reason="Hủy", source="unsubscribe"))  # a race's
    session.commit()
    erase_person(session, profile_id=lan, actor="user:1", reason="Yêu cầu xóa dữ liệu")
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    assert session.scalars(select(Suppression.value)).all() == [hashed]
