"""``capture``: every channel's door. The person is resolved through the identity graph, every capture is kept
with its source and tags, the lead is labelled, and the change is announced in the outbox and the event log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.factories import make_store, make_user
from xuyen.auth.models import Role
from xuyen.auth.service import principal_for_user
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.errors import NotFound
from xuyen.events.models import Event
from xuyen.identity.graph import find_profile, merge
from xuyen.inbox.routing.models import Team, TeamMember
from xuyen.jobs import Job
from xuyen.outbox import OutboxEvent
from xuyen.sales.leads import service
from xuyen.sales.leads.models import AssignmentRule, Lead, LeadCapture, LeadStatus, SourceKind
from xuyen.worker import Worker


def _topics(session: Session, topic: str) -> list[dict[str, object]]:
    return [row.payload for row in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic)
                                                  .order_by(OutboxEvent.id))]


def test_capture_makes_a_lead_of_the_profile(session: Session) -> None:
    done = service.capture(session, source="form", phone="0912 345 678", email="Lan.Nguyen@Gmail.com",
                           name="Nguyễn Thị Lan", source_detail="Trang chủ", province="Hà Nội",
                           utm={"utm_source": "facebook", "utm_medium": "cpc", "utm_campaign": "tet-2027"},
                           fields={"message": "Tư vấn giúp em"})
    lead = done.lead
    assert done.new_lead and lead.status is LeadStatus.new and lead.score == 0
    assert lead.phone == "+84912345678" and lead.email == "lan.nguyen@gmail.com"
    assert lead.labels == ["Website"] and lead.campaign == "tet-2027"
    assert lead.quality["email_mx"] == "ok" and lead.quality["flags"] == []
    assert find_profile(session, type="phone", value="+84912345678") == lead.profile_id
    assert find_profile(session, type="email", value="lan.nguyen@gmail.com") == lead.profile_id
    capture = done.capture
    assert (capture.source, capture.utm_source, capture.utm_medium, capture.source_detail) == (
        SourceKind.form, "facebook", "cpc", "Trang chủ")
    assert capture.fields == {"message": "Tư vấn giúp em"}
    [event] = session.scalars(select(Event).where(Event.event == "Lead Captured"))
    assert event.profile_id == lead.profile_id and event.properties["source"] == "form"
    assert _topics(session, "lead.captured")[0]["lead_id"] == lead.id
    assert session.scalar(select(func.count()).select_from(Job).where(Job.name == "customers.recheck_duplicates")) == 1


def test_a_second_capture_in_another_format_joins_the_same_lead(session: Session) -> None:
    first = service.capture(session, source="form", phone="0168 123 4567", name="Trần Văn An")
    again = service.capture(session, source="facebook_lead_ads", phone="+84 38 123 4567", email="an@shop.vn",
                            campaign="Ads tháng 12")
    assert again.lead.id == first.lead.id and not again.new_lead
    assert again.lead.labels == ["Website", "Facebook Ads"] and again.lead.captures == 2
    assert again.lead.email == "an@shop.vn" and again.lead.source is SourceKind.form
    assert session.scalar(select(func.count()).select_from(LeadCapture)) == 2
    assert session.scalar(select(func.count()).select_from(Lead)) == 1


def test_an_existing_customer_becomes_a_lead(session: Session) -> None:
    known = service.capture(session, source="store_visit", email="mai@shop.vn").lead.profile_id
    session.execute(Lead.__table__.delete())
    session.commit()
    session.expunge_all()
    lead = service.capture(session, source="api", email="MAI@shop.vn ").lead
    assert lead.profile_id == known


def test_invalid_contacts_are_kept_and_flagged(session: Session) -> None:
    lead = service.capture(session, source="import", phone="123", email="not-an-email", name="Khách lạ").lead
    assert lead.phone is None and lead.email is None and lead.profile_id is not None
    assert set(lead.quality["flags"]) == {"phone_invalid", "email_invalid", "no_contact"}
    assert lead.quality["phone_raw"] == "123" and lead.labels == ["Import"]


def test_the_same_dedupe_key_captures_once(session: Session) -> None:
    first = service.capture(session, source="facebook_lead_ads", phone="0903000111", dedupe_key="fb:123")
    again = service.capture(session, source="facebook_lead_ads", phone="0903000111", dedupe_key="fb:123")
    assert again.repeated and again.capture.id == first.capture.id
    assert session.scalar(select(func.count()).select_from(LeadCapture)) == 1
    assert len(_topics(session, "lead.captured")) == 1


def test_chat_capture_of_a_known_profile(session: Session) -> None:
    profile_id = service.capture(session, source="api", identifiers=[("facebook_psid", "psid-1", "page-9")]).lead
    session.execute(Lead.__table__.delete())
    session.commit()
    session.expunge_all()
    lead = service.capture(session, source="chat", profile_id=profile_id.profile_id, phone="0987654321").lead
    assert lead.profile_id == profile_id.profile_id and lead.labels == ["Chat"]
    assert find_profile(session, type="phone", value="+84987654321") == lead.profile_id


def _team(session: Session, name: str, *members: int) -> Team:
    team = Team(name=name)
    session.add(team)
    session.flush()
    session.add_all(TeamMember(team_id=team.id, user_id=user_id) for user_id in members)
    session.commit()
    return team


def test_rules_in_order_round_robin_and_capacity(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_LEADS_CAPACITY_PER_USER", "2")
    get_settings.cache_clear()
    hanoi_rep = make_user(session, name="Hà")
    a, b = make_user(session, name="An"), make_user(session, name="Bình")
    telesales = _team(session, "Telesales", a.id, b.id)
    session.add_all([
        AssignmentRule(position=1, name="Hà Nội", province="Ha Noi", assign_user_id=hanoi_rep.id),
        AssignmentRule(position=2, name="Ads", source=SourceKind.facebook_lead_ads, assign_team_id=telesales.id),
    ])
    session.commit()
    lead = service.capture(session, source="facebook_lead_ads", phone="0901000001", province="Hà Nội").lead
    assert lead.owner_id == hanoi_rep.id
    owners = [service.capture(session, source="facebook_lead_ads", phone=f"090100010{i}").lead.owner_id
              for i in range(5)]
    assert owners[:4] == [a.id, b.id, a.id, b.id]
    assert owners[4] is None  # everyone at capacity: the lead waits, unassigned
    assert service.capture(session, source="form", phone="0901000200").lead.owner_id is None  # no rule matches


def test_untouched_leads_move_to_someone_else(session: Session) -> None:
    a, b = make_user(session), make_user(session)
    team = _team(session, "Sales", a.id, b.id)
    session.add(AssignmentRule(position=1, assign_team_id=team.id))
    session.commit()
    stale = service.capture(session, source="api", phone="0902000001").lead
    touched = service.capture(session, source="api", phone="0902000002").lead
    first_owner = stale.owner_id
    principal = principal_for_user(make_user(session, role=Role.owner))
    service.update_lead(session, principal=principal, lead_id=touched.id, status=LeadStatus.new)
    assert service.reassign_untouched(session, now=utcnow() + timedelta(hours=1)) == 0
    assert service.reassign_untouched(session, now=utcnow() + timedelta(hours=25)) == 1
    session.refresh(stale)
    assert stale.owner_id not in (None, first_owner)
    assert _topics(session, "lead.assigned")[-1]["reason"] == "untouched"


def test_scope_rule_on_lists_and_pages(session: Session) -> None:
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    agent = make_user(session, store=hanoi)
    other = make_user(session, store=saigon)
    mine = service.capture(session, source="api", phone="0903000001", owner_id=agent.id).lead
    branch = service.capture(session, source="api", phone="0903000002", store_id=hanoi.id).lead
    theirs = service.capture(session, source="api", phone="0903000003", owner_id=other.id,
                             store_id=saigon.id).lead
    seen = {lead.id for lead in service.list_leads(session, principal=principal_for_user(agent))}
    assert seen == {mine.id, branch.id}
    with pytest.raises(NotFound):
        service.get_lead(session, principal=principal_for_user(agent), lead_id=theirs.id)
    owner = principal_for_user(make_user(session, role=Role.owner))
    assert len(service.list_leads(session, principal=owner)) == 3
    assert [lead.id for lead in service.list_leads(session, principal=owner, owner_id=other.id)] == [theirs.id]


def test_a_merge_of_two_profiles_joins_their_leads(engine: Engine, session: Session) -> None:
    first = service.capture(session, source="form", phone="0904000001", name="Lan").lead
    second = service.capture(session, source="zalo_form", email="lan@shop.vn").lead
    assert first.profile_id != second.profile_id
    merge(session, survivor_id=first.profile_id, absorbed_id=second.profile_id, actor="user:1", reason="same")
    session.commit()
    Worker(engine=engine).run_until_idle()
    session.rollback()
    session.expire_all()
    [lead] = session.scalars(select(Lead))
    assert lead.id == first.id and lead.labels == ["Website", "Zalo"] and lead.captures == 2
    assert session.scalar(select(func.count()).select_from(LeadCapture).where(LeadCapture.lead_id == lead.id)) == 2
