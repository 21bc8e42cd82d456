"""The leads pages: the list and a lead's page under the scope rule, status and owner changes, the forms page with
its embed snippet, the rules page, "Mark as lead" on a conversation, and the leads panel on the customer 360."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.factories import make_store, make_user
from xuyen.auth.models import Role, User
from xuyen.clock import utcnow
from xuyen.inbox.models import Conversation
from xuyen.sales.leads import service
from xuyen.sales.leads.models import Lead, LeadForm, LeadStatus


def test_agents_see_their_leads_and_change_them(session: Session, browser_for: Callable[[User], Browser]) -> None:
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    agent = make_user(session, store=hanoi, name="Hoa")
    other = make_user(session, store=saigon, name="Đức")
    mine = service.capture(session, source="form", phone="0917000001", name="Khách Một", owner_id=agent.id,
                           campaign="Tết").lead
    theirs = service.capture(session, source="import", phone="12", name="Khách Hai", store_id=saigon.id).lead
    browser = browser_for(agent)
    page = browser.client.get("/leads")
    assert page.status_code == 200 and "Khách Một" in page.text and "Khách Hai" not in page.text
    assert 'href="/leads"' in page.text  # in the navigation
    assert browser.client.get(f"/leads/{theirs.id}").status_code == 404
    detail = browser.client.get(f"/leads/{mine.id}")
    assert detail.status_code == 200 and "+84917000001" in detail.text and "Tết" in detail.text
    changed = browser.client.post(f"/leads/{mine.id}", data={"csrf_token": browser.csrf, "status": "contacted",
                                                             "owner_id": str(agent.id)}, follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == f"/leads/{mine.id}"
    session.rollback()
    session.expire_all()
    lead = session.get(Lead, mine.id)
    assert lead is not None and lead.status is LeadStatus.contacted and lead.last_activity_at is not None
    handed = browser.client.post(f"/leads/{mine.id}", data={"csrf_token": browser.csrf, "owner_id": str(other.id)},
                                 follow_redirects=False)
    assert handed.headers["location"] == "/leads"  # no longer theirs to see
    session.rollback()
    boss = browser_for(make_user(session, role=Role.owner))
    listed = boss.client.get("/leads?status=new&source=import")
    assert "Khách Hai" in listed.text and "Khách Một" not in listed.text
    flagged = boss.client.get(f"/leads/{theirs.id}")
    assert "Số điện thoại không hợp lệ" in flagged.text  # the quality flag, in Vietnamese


def test_managers_set_up_forms_and_rules_on_pages(session: Session, browser_for: Callable[[User], Browser]) -> None:
    manager = browser_for(make_user(session, role=Role.manager))
    rep = make_user(session, name="Thảo")
    added = manager.client.post("/leads/forms", data={
        "csrf_token": manager.csrf, "name": "Đăng ký lái thử", "allowed_origins": "https://shop.vn\nshop2.vn",
        "labels": "Lái thử, VIP", "owner_id": str(rep.id)}, follow_redirects=False)
    assert added.status_code == 303
    form = session.scalar(select(LeadForm))
    assert form is not None and form.allowed_origins == ["https://shop.vn", "https://shop2.vn"]
    page = manager.client.get("/leads/forms")
    assert f'&lt;script src="http://testserver/forms/lead.js" data-form="{form.key}" async&gt;' in page.text
    refused = manager.client.post("/leads/forms", data={"csrf_token": manager.csrf, "name": "Sai",
                                                        "allowed_origins": "ftp://x/y"})
    assert refused.status_code == 422
    rule = manager.client.post("/leads/rules", data={"csrf_token": manager.csrf, "name": "Web", "source": "form",
                                                     "assign_user_id": str(rep.id)}, follow_redirects=False)
    assert rule.status_code == 303 and "Thảo" in manager.client.get("/leads/rules").text
    assert manager.client.post("/leads/rules", data={"csrf_token": manager.csrf, "name": "x"}).status_code == 422
    agent = browser_for(rep)
    assert agent.client.get("/leads/forms").status_code == 403
    assert agent.client.get("/leads/rules").status_code == 403


def test_mark_a_conversation_as_lead_and_see_it_on_the_customer(
        session: Session, browser_for: Callable[[User], Browser]) -> None:
    customer = service.capture(session, source="api", phone="0917000009", name="Chị Vy").lead.profile_id
    session.execute(Lead.__table__.delete())
    session.commit()
    conversation = Conversation(profile_id=customer, last_message_at=utcnow())
    session.add(conversation)
    session.commit()
    agent_user = make_user(session)
    agent = browser_for(agent_user)
    page = agent.client.get(f"/inbox/{conversation.id}")
    assert page.status_code == 200 and 'action="/leads/chat"' in page.text
    marked = agent.client.post("/leads/chat", data={"csrf_token": agent.csrf,
                                                    "conversation_id": str(conversation.id)}, follow_redirects=False)
    assert marked.status_code == 303
    session.rollback()
    session.expire_all()
    lead = session.scalar(select(Lead))
    assert lead is not None and lead.profile_id == customer and lead.owner_id == agent_user.id
    assert lead.labels == ["Chat"]
    agent.client.post("/leads/chat", data={"csrf_token": agent.csrf, "conversation_id": str(conversation.id)})
    session.rollback()
    session.expire_all()
    assert session.scalar(select(Lead.captures)) == 1  # marking again changes nothing
    customer_page = agent.client.get(f"/customers/{customer}")
    assert customer_page.status_code == 200 and 'id="lead"' in customer_page.text
    assert f'href="/leads/{lead.id}"' in customer_page.text
