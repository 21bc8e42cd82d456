"""The tasks API: create, list with its filters, change, complete with an outcome, reopen and cancel; my reminders;
bad input answered with problem+json; the scope rule for agents, branch managers and API keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.factories import make_store, make_user
from tests.sales.tasks.conftest import make_customer
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.clock import utcnow
from xuyen.sales.tasks import reminders


def _due(hours: float) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


def test_a_call_from_creation_to_its_logged_outcome(session: Session, engine: Engine,
                                                    browser_for: Callable[[User], Browser]) -> None:
    agent = browser_for(make_user(session, role=Role.agent))
    customer = make_customer(session, engine)
    created = agent.request("POST", "/tasks", json={"customer_id": customer, "title": "Gọi tư vấn áo dài",
                                                   "due_at": _due(2), "deal_id": 7})
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["owner_id"], task["status"], task["kind"], task["deal_id"]) == (agent.user_id, "open", "call", 7)
    assert agent.request("GET", "/tasks", params={"mine": True}).json()[0]["id"] == task["id"]
    assert agent.request("GET", "/tasks", params={"deal_id": 7}).json()[0]["id"] == task["id"]
    assert agent.request("GET", "/tasks", params={"customer_id": customer}).json()[0]["id"] == task["id"]
    assert agent.request("GET", "/tasks", params={"overdue": True}).json() == []
    changed = agent.request("PATCH", f"/tasks/{task['id']}", json={"due_at": _due(-1), "notes": "Khách bận"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["overdue"] is True
    assert [t["id"] for t in agent.request("GET", "/tasks", params={"overdue": True}).json()] == [task["id"]]
    assert_problem(agent.request("POST", f"/tasks/{task['id']}/complete", json={}), 422, "outcome_required")
    done = agent.request("POST", f"/tasks/{task['id']}/complete", json={"outcome": "reached", "note": "Chốt đơn"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["outcome"], done.json()["outcome_note"]) == ("done", "reached",
                                                                                         "Chốt đơn")
    assert agent.request("GET", "/tasks").json() == []
    assert agent.request("GET", "/tasks", params={"status": "done"}).json()[0]["id"] == task["id"]
    assert_problem(agent.request("POST", f"/tasks/{task['id']}/cancel"), 409, "task_not_open")
    assert agent.request("POST", f"/tasks/{task['id']}/reopen").json()["status"] == "open"
    assert agent.request("POST", f"/tasks/{task['id']}/cancel").json()["status"] == "cancelled"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"title": ""}, 422, "validation_failed"),
    ({"title": "   "}, 422, "invalid_title"),
    ({"due_at": "2026-12-07T09:00:00"}, 422, "validation_failed"),
    ({"due_at": "mai"}, 422, "validation_failed"),
    ({"kind": "lunch"}, 422, "validation_failed"),
    ({"customer_id": 0}, 422, "validation_failed"),
    ({"customer_id": 999_999}, 404, "customer_not_found"),
    ({"remind_at": "2099-01-01T00:00:00+07:00"}, 422, "remind_after_due"),
    ({"colour": "red"}, 422, "validation_failed"),
])
def test_bad_input_is_answered_with_a_problem(session: Session, engine: Engine, agent: Browser,
                                              body: dict[str, object], status: int, code: str) -> None:
    customer = make_customer(session, engine)
    payload = {"customer_id": customer, "title": "Gọi", "due_at": _due(1)} | body
    assert_problem(agent.request("POST", "/tasks", json=payload), status, code)


def test_bad_changes_and_unknown_tasks(session: Session, engine: Engine, agent: Browser) -> None:
    customer = make_customer(session, engine)
    task = agent.request("POST", "/tasks", json={"customer_id": customer, "title": "Gặp", "kind": "meeting",
                                                 "due_at": _due(1)}).json()
    assert_problem(agent.request("PATCH", f"/tasks/{task['id']}", json={"status": "done"}), 422, "validation_failed")
    assert_problem(agent.request("POST", f"/tasks/{task['id']}/complete", json={"outcome": "busy"}), 422,
                   "outcome_for_calls_only")
    assert_problem(agent.request("POST", f"/tasks/{task['id']}/complete", json={"outcome": "asleep"}), 422,
                   "validation_failed")
    assert_problem(agent.request("GET", "/tasks/424242"), 404, "task_not_found")
    assert_problem(agent.request("GET", "/tasks", params={"status": "maybe"}), 422, "validation_failed")
    assert_problem(agent.request("GET", "/tasks", params={"limit": 0}), 422, "validation_failed")


def test_the_scope_rule_over_the_api(session: Session, engine: Engine, browser_for: Callable[[User], Browser]) -> None:
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    lan_user = make_user(session, role=Role.agent, store=hanoi)
    binh_user = make_user(session, role=Role.agent, store=saigon)
    lan, binh = browser_for(lan_user), browser_for(binh_user)
    hanoi_manager = browser_for(make_user(session, role=Role.manager, store=hanoi))
    customer = make_customer(session, engine)
    lans = lan.request("POST", "/tasks", json={"customer_id": customer, "title": "HN", "due_at": _due(1)}).json()
    binhs = binh.request("POST", "/tasks", json={"customer_id": customer, "title": "SG", "due_at": _due(1)}).json()
    assert [t["id"] for t in lan.request("GET", "/tasks").json()] == [lans["id"]]
    assert [t["id"] for t in hanoi_manager.request("GET", "/tasks").json()] == [lans["id"]]
    assert_problem(lan.request("GET", f"/tasks/{binhs['id']}"), 404, "task_not_found")
    assert_problem(lan.request("PATCH", f"/tasks/{binhs['id']}", json={"title": "Của tôi"}), 404, "task_not_found")
    assert_problem(lan.request("PATCH", f"/tasks/{lans['id']}", json={"owner_id": binh_user.id}), 403,
                   "outside_scope")
    assert_problem(hanoi_manager.request("POST", "/tasks", json={
        "customer_id": customer, "title": "Giao cho SG", "due_at": _due(1), "owner_id": binh_user.id}), 403,
        "outside_scope")
    _key_row, key = create_api_key(session, name="Tổng đài Sài Gòn", role=Role.agent, store_id=saigon.id)
    answer = lan.client.get(f"{API}/tasks", headers=bearer(key))
    assert [t["id"] for t in answer.json()] == [binhs["id"]]
    assert_problem(lan.client.get(f"{API}/tasks/reminders", headers=bearer(key)), 400, "user_required")


def test_my_reminders(session: Session, engine: Engine, agent: Browser) -> None:
    customer = make_customer(session, engine)
    agent.request("POST", "/tasks", json={"customer_id": customer, "title": "Gọi sớm", "due_at": _due(0.25)})
    reminders.run(session)
    session.commit()
    (item,) = agent.request("GET", "/tasks/reminders").json()
    assert (item["title"], item["read"], item["email_status"]) == ("Gọi sớm", False, "queued")
    assert agent.request("POST", "/tasks/reminders/read").json() == {"marked": 1}
    assert agent.request("GET", "/tasks/reminders").json()[0]["read"] is True
