"""Sales records following the customer: deals and tasks move with a profile merge, a lead's status changes show on
the customer's timeline, and the deals on the timeline are only those the viewer may see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.factories import make_store, make_user
from xuyen.auth.models import Role, User
from xuyen.auth.service import principal_for_user
from xuyen.clock import utcnow
from xuyen.customers import service as customers
from xuyen.events.models import Event
from xuyen.identity.graph import merge
from xuyen.sales.deals import service as deals
from xuyen.sales.deals.models import Deal
from xuyen.sales.deals.service import Actor
from xuyen.sales.leads import service as leads
from xuyen.sales.leads.models import LeadStatus
from xuyen.sales.scope import SalesScope
from xuyen.sales.tasks import service as tasks
from xuyen.sales.tasks.models import Task
from xuyen.worker import Worker

ALL = SalesScope(everything=True)
ACTOR = Actor(name="test")


def test_a_merge_moves_the_absorbed_profiles_deals_and_tasks(engine: Engine, session: Session) -> None:
    first = leads.capture(session, source="form", phone="0904000011", name="Lan").lead
    second = leads.capture(session, source="zalo_form", email="lan.tran@shop.vn", name="Lan").lead
    survivor, absorbed = first.profile_id, second.profile_id
    Worker(engine=engine).run_until_idle()  # the customers' rows of the two profiles
    manager = make_user(session, role=Role.manager)
    kept = deals.create_deal(session, actor=ACTOR, scope=ALL, title="Đồng phục", profile_id=survivor)
    moved = deals.create_deal(session, actor=ACTOR, scope=ALL, title="Rèm cửa", profile_id=absorbed)
    task = tasks.create(session, principal=principal_for_user(manager), profile_id=absorbed, title="Gọi lại",
                        due_at=utcnow() + timedelta(days=1), deal_id=moved.id)
    merge(session, survivor_id=survivor, absorbed_id=absorbed, actor="user:1", reason="cùng một người")
    session.commit()
    Worker(engine=engine).run_until_idle()
    session.rollback()
    session.expire_all()
    assert {deal.id: deal.profile_id for deal in session.scalars(select(Deal))} == {kept.id: survivor,
                                                                                   moved.id: survivor}
    assert session.get(Task, task.id).profile_id == survivor  # type: ignore[union-attr]
    found, total = deals.list_deals(session, scope=ALL, profile_ids=[survivor])
    assert total == 2 and {deal.id for deal in found} == {kept.id, moved.id}


def test_a_leads_status_changes_show_on_the_customers_timeline(session: Session) -> None:
    lead = leads.capture(session, source="form", phone="0904000012", name="Hằng").lead
    agent = make_user(session, role=Role.owner)
    leads.update_lead(session, principal=principal_for_user(agent), lead_id=lead.id, status=LeadStatus.contacted)
    leads.update_lead(session, principal=principal_for_user(agent), lead_id=lead.id, status=LeadStatus.contacted)
    leads.update_lead(session, principal=principal_for_user(agent), lead_id=lead.id, status=LeadStatus.qualified)
    changes = list(session.scalars(select(Event).where(Event.event == leads.LEAD_STATUS_CHANGED)
                                   .order_by(Event.id)))
    assert [(e.profile_id, e.properties["from"], e.properties["to"]) for e in changes] == [
        (lead.profile_id, "new", "contacted"), (lead.profile_id, "contacted", "qualified")]
    page = customers.customer_timeline(session, profile_id=lead.profile_id, cursor=None, limit=20)
    shown = [(item.data["properties"]["from"], item.data["properties"]["to"]) for item in page.items
             if item.kind == "event" and item.title == leads.LEAD_STATUS_CHANGED]
    assert shown == [("contacted", "qualified"), ("new", "contacted")]  # newest first


def test_the_timeline_shows_only_the_deals_the_viewer_may_see(session: Session,
                                                               browser_for: Callable[[User], Browser]) -> None:
    profile = leads.capture(session, source="form", phone="0904000013", name="Minh").lead.profile_id
    hanoi, saigon = make_store(session), make_store(session)
    agent = make_user(session, role=Role.agent, store=hanoi)
    branch_manager = make_user(session, role=Role.manager, store=saigon)
    owner = make_user(session, role=Role.owner)
    deals.create_deal(session, actor=ACTOR, scope=ALL, title="Hà Nội", profile_id=profile, store_id=hanoi.id)
    deals.create_deal(session, actor=ACTOR, scope=ALL, title="Sài Gòn", profile_id=profile, store_id=saigon.id)

    def deal_titles(user: object) -> set[str]:
        principal = principal_for_user(user)  # type: ignore[arg-type]
        page = customers.customer_timeline(session, profile_id=profile, cursor=None, limit=50, viewer=principal)
        assert not [item for item in page.items if item.kind == "event" and item.title.startswith("Deal ")]
        return {item.title for item in page.items if item.kind == "deal"}

    assert deal_titles(agent) == {"Hà Nội · Mới"}
    assert deal_titles(branch_manager) == {"Sài Gòn · Mới"}
    assert deal_titles(owner) == {"Hà Nội · Mới", "Sài Gòn · Mới"}
    everything = customers.customer_timeline(session, profile_id=profile, cursor=None, limit=50)
    assert {item.title for item in everything.items if item.kind == "deal"} == {"Hà Nội · Mới", "Sài Gòn · Mới"}
    assert session.scalars(select(Event).where(Event.event == "Deal Created")).all()  # still in the event log
    answer = browser_for(agent).request("GET", f"/customers/{profile}/timeline", params={"limit": 50})
    assert answer.status_code == 200, answer.text
    assert [item["title"] for item in answer.json()["items"] if item["kind"] == "deal"] == ["Hà Nội · Mới"]


def test_the_timeline_shows_the_leads_captures_only_to_those_who_may_see_the_lead(session: Session) -> None:
    hanoi, saigon = make_store(session), make_store(session)
    lead = leads.capture(session, source="form", phone="0904000014", name="Hạnh", store_id=hanoi.id).lead
    here = make_user(session, role=Role.agent, store=hanoi)
    elsewhere = make_user(session, role=Role.agent, store=saigon)
    owner = make_user(session, role=Role.owner)

    def lead_items(user: User | None) -> list[str]:
        viewer = principal_for_user(user) if user is not None else None
        page = customers.customer_timeline(session, profile_id=lead.profile_id, cursor=None, limit=50,
                                           viewer=viewer)
        return [item.kind for item in page.items if item.kind == "lead"]

    assert lead_items(here) == ["lead"]
    assert lead_items(owner) == ["lead"]
    assert lead_items(None) == ["lead"]  # the system's own reads see everything
    assert lead_items(elsewhere) == []
