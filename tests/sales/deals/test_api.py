"""The deals and pipelines API: create, list, read, edit, move and convert within the scope rule; pipelines edited
by managers; bad input and unknown ids answered with problems."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.commerce.orders.support import make_shop
from tests.factories import make_store, make_user
from tests.sales.deals.support import customer, stage, won_stage
from xuyen.auth.models import Role, User
from xuyen.sales.deals import pipelines


def test_deal_lifecycle_through_the_api(session: Session, agent: Browser) -> None:
    make_shop(session)
    profile = customer(session)
    created = agent.request("POST", "/deals", json={
        "title": "Đồng phục", "profile_id": profile, "expected_close": "2026-12-31",
        "owner_id": agent.user_id, "lines": [{"sku": "AO-DEN-M", "quantity": 2}]})
    assert created.status_code == 201, created.text
    deal = created.json()
    assert deal["value"] == 398_000 and deal["lines"][0]["unit_price"] == 199_000 and len(deal["history"]) == 1
    listed = agent.request("GET", "/deals", params={"profile_id": profile}).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == deal["id"]
    patched = agent.request("PATCH", f"/deals/{deal['id']}", json={"title": "Đồng phục 2027",
                                                                   "expected_close": None})
    assert patched.status_code == 200 and patched.json()["expected_close"] is None
    reasons = agent.request("GET", "/deals/lost-reasons").json()
    lost = agent.request("POST", f"/deals/{deal['id']}/move", json={"stage_id": stage(session, "Thua").id})
    assert_problem(lost, 422, "lost_reason_required")
    lost = agent.request("POST", f"/deals/{deal['id']}/move",
                         json={"stage_id": stage(session, "Thua").id, "lost_reason_id": reasons[0]["id"]})
    assert lost.json()["status"] == "lost"
    assert_problem(agent.request("POST", f"/deals/{deal['id']}/convert", json={}), 409, "deal_not_won")
    won = agent.request("POST", f"/deals/{deal['id']}/move", json={"stage_id": won_stage(session).id})
    assert won.json()["status"] == "won" and won.json()["lost_reason_id"] is None
    order = agent.request("POST", f"/deals/{deal['id']}/convert", json={"payment_method": "cod"})
    assert order.status_code == 200, order.text
    again = agent.request("POST", f"/deals/{deal['id']}/convert", json={})
    assert again.json()["id"] == order.json()["id"] and order.json()["total"] == 398_000
    assert agent.request("GET", f"/deals/{deal['id']}").json()["order_id"] == order.json()["id"]


def test_bad_input_and_unknown_ids(session: Session, agent: Browser) -> None:
    profile = customer(session)
    assert_problem(agent.request("POST", "/deals", json={"title": "", "profile_id": profile}), 422,
                   "validation_failed")
    assert_problem(agent.request("POST", "/deals", json={"title": "A", "profile_id": profile, "value": -5}), 422,
                   "validation_failed")
    assert_problem(agent.request("POST", "/deals", json={"title": "A", "profile_id": profile, "extra": 1}), 422,
                   "validation_failed")
    assert_problem(agent.request("POST", "/deals", json={"title": "A", "profile_id": 424242}), 404,
                   "customer_not_found")
    assert_problem(agent.request("POST", "/deals", json={
        "title": "A", "profile_id": profile, "lines": [{"sku": "KHONG-CO", "quantity": 1}]}), 422, "unknown_sku")
    assert_problem(agent.request("GET", "/deals/999999"), 404, "deal_not_found")
    assert_problem(agent.request("POST", "/deals/999999/move", json={"stage_id": 1}), 404, "deal_not_found")
    assert_problem(agent.request("GET", "/deals", params={"limit": 0}), 422, "validation_failed")
    deal = agent.request("POST", "/deals", json={"title": "A", "profile_id": profile, "owner_id": agent.user_id})
    assert_problem(agent.request("POST", f"/deals/{deal.json()['id']}/move", json={"stage_id": 999_999}), 404,
                   "stage_not_found")


def test_other_branches_deals_are_not_found(session: Session, browser_for: Callable[[User], Browser],
                                            owner: Browser) -> None:
    profile = customer(session)
    hanoi, saigon = make_store(session), make_store(session)
    hanoi_agent = browser_for(make_user(session, role=Role.agent, store=hanoi))
    saigon_manager = browser_for(make_user(session, role=Role.manager, store=saigon))
    theirs = owner.request("POST", "/deals", json={"title": "Sài Gòn", "profile_id": profile,
                                                   "store_id": saigon.id}).json()
    mine = owner.request("POST", "/deals", json={"title": "Hà Nội", "profile_id": profile,
                                                 "store_id": hanoi.id}).json()
    assert [d["id"] for d in hanoi_agent.request("GET", "/deals").json()["items"]] == [mine["id"]]
    assert [d["id"] for d in saigon_manager.request("GET", "/deals").json()["items"]] == [theirs["id"]]
    assert_problem(hanoi_agent.request("GET", f"/deals/{theirs['id']}"), 404, "deal_not_found")
    assert_problem(hanoi_agent.request("PATCH", f"/deals/{theirs['id']}", json={"title": "X"}), 404,
                   "deal_not_found")
    assert_problem(hanoi_agent.request("POST", f"/deals/{theirs['id']}/convert", json={}), 404, "deal_not_found")
    assert_problem(hanoi_agent.request("PATCH", f"/deals/{mine['id']}", json={"store_id": saigon.id}), 422,
                   "outside_scope")
    assert len(owner.request("GET", "/deals").json()["items"]) == 2


def test_pipelines_are_edited_by_managers(session: Session, agent: Browser, manager: Browser) -> None:
    listed = agent.request("GET", "/pipelines").json()
    assert listed[0]["is_default"] and listed[0]["stages"][0]["name"] == "Mới"
    body = {"name": "Bán sỉ", "stages": [{"name": "Mới", "probability": 10}, {"name": "Chốt", "probability": 100,
                                                                             "kind": "won"},
                                         {"name": "Mất", "probability": 0, "kind": "lost"}]}
    assert_problem(agent.request("POST", "/pipelines", json=body), 403, "role_required")
    created = manager.request("POST", "/pipelines", json=body)
    assert created.status_code == 201, created.text
    assert_problem(manager.request("POST", "/pipelines", json=body), 409, "pipeline_exists")
    no_won = {**body, "name": "Khác", "stages": [{"name": "A", "probability": 1}, {"name": "B", "probability": 2},
                                                  {"name": "C", "probability": 0, "kind": "lost"}]}
    assert_problem(manager.request("POST", "/pipelines", json=no_won), 422, "invalid_stages")
    stages = created.json()["stages"]
    edited = manager.request("PATCH", f"/pipelines/{created.json()['id']}", json={"stages": [
        {"id": stages[0]["id"], "name": "Mới", "probability": 5}, {"name": "Báo giá", "probability": 50},
        *({"id": s["id"], "name": s["name"], "probability": s["probability"], "kind": s["kind"]}
          for s in stages[1:])]})
    assert [s["name"] for s in edited.json()["stages"]] == ["Mới", "Báo giá", "Chốt", "Mất"]
    assert_problem(manager.request("PATCH", "/pipelines/9999", json={"name": "X"}), 404, "pipeline_not_found")
    deal = manager.request("POST", "/deals", json={"title": "Sỉ", "profile_id": customer(session),
                                                   "pipeline_id": created.json()["id"]}).json()
    assert deal["stage_id"] == stages[0]["id"]
    without_first = [{"id": s["id"], "name": s["name"], "probability": s["probability"], "kind": s["kind"]}
                     for s in edited.json()["stages"][1:]] + [{"name": "Mới 2", "probability": 1}]
    assert_problem(manager.request("PATCH", f"/pipelines/{created.json()['id']}", json={"stages": without_first}),
                   409, "stage_has_deals")
    default_stage = stage(session, "Mới").id
    assert_problem(manager.request("POST", f"/deals/{deal['id']}/move", json={"stage_id": default_stage}), 422,
                   "stage_of_other_pipeline")
    assert manager.request("POST", "/deals/lost-reasons", json={"name": "Giao hàng chậm"}).status_code == 201
    session.rollback()
    assert "Giao hàng chậm" in [r.name for r in pipelines.lost_reasons(session)]
    assert_problem(manager.request("POST", "/deals/lost-reasons", json={"name": "Giao hàng chậm"}), 409,
                   "reason_exists")
