"""The journeys API: managers build, check, publish, pause, resume and archive journeys (audited); agents read;
bad definitions answered with every problem by path and nothing kept; unknown ids, oversized bodies refused."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.journeys.flows.conftest import customer, run_worker, track
from xuyen.audit import AuditEntry
from xuyen.journeys.flows.models import Journey

DEFINITION = {"trigger": {"type": "event", "event": "Checkout Started"}, "settings": {"holdout_percent": 0},
              "start": "wait", "nodes": {"wait": {"type": "delay", "for": {"hours": 1}, "next": "done"},
                                         "done": {"type": "update_profile", "traits": {"reminded": True},
                                                  "next": None}}}


def _audited(session: Session) -> list[str]:
    session.rollback()
    return [entry.action for entry in session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("journey.%")).order_by(AuditEntry.id))]


def test_a_manager_builds_and_publishes_a_journey_that_agents_can_read(session: Session, engine: Engine,
                                                                        manager: Browser, agent: Browser) -> None:
    created = manager.request("POST", "/journeys", json={"name": "Nhắc giỏ hàng", "definition": DEFINITION})
    assert created.status_code == 201, created.text
    journey = created.json()
    assert (journey["status"], journey["live_version"]) == ("draft", None)
    published = manager.request("POST", f"/journeys/{journey['id']}/publish")
    assert published.status_code == 201 and published.json()["number"] == 1
    customer(session)
    track(session, event="Checkout Started")
    run_worker(session, engine)
    results = agent.request("GET", f"/journeys/{journey['id']}/results").json()
    assert results["results"]["enrolled"] == 1 and results["nodes"]["wait"] == {"entered": 1, "waiting": 1}
    [enrolment] = agent.request("GET", f"/journeys/{journey['id']}/enrolments").json()
    detail = agent.request("GET", f"/journeys/{journey['id']}/enrolments/{enrolment['id']}").json()
    assert [(step["node"], step["outcome"]) for step in detail["steps"]] == [("wait", "waiting")]
    assert manager.request("POST", f"/journeys/{journey['id']}/pause").json()["status"] == "paused"
    assert manager.request("POST", f"/journeys/{journey['id']}/resume").json()["status"] == "live"
    changed = dict(DEFINITION, settings={"holdout_percent": 10})
    assert manager.request("PUT", f"/journeys/{journey['id']}/draft", json={"definition": changed}).status_code == 200
    assert manager.request("POST", f"/journeys/{journey['id']}/publish").json()["number"] == 2
    versions = agent.request("GET", f"/journeys/{journey['id']}/versions").json()
    assert [item["number"] for item in versions] == [2, 1]
    assert agent.request("GET", f"/journeys/{journey['id']}/versions/1").json()["definition"] == DEFINITION
    assert manager.request("POST", f"/journeys/{journey['id']}/archive").json()["status"] == "archived"
    assert _audited(session) == ["journey.created", "journey.published", "journey.paused", "journey.live",
                                 "journey.draft_saved", "journey.published", "journey.archived"]


def test_a_bad_definition_names_every_problem_and_keeps_nothing(session: Session, manager: Browser) -> None:
    bad = {"trigger": {"type": "event"}, "settings": {"holdout_percent": 90}, "start": "a",
           "nodes": {"a": {"type": "split", "branches": [{"label": "A", "percent": 60, "next": "b"},
                                                        {"label": "B", "percent": 60, "next": "zz"}]},
                     "b": {"type": "send", "template_id": 999, "channel": "fax"},
                     "c": {"type": "exit"}, "Bad Id": {"type": "exit"}}}
    answer = manager.request("POST", "/journeys", json={"name": "Sai", "definition": bad})
    assert_problem(answer, 422, "invalid_journey")
    errors = answer.json()["details"]["errors"]
    assert errors["trigger.event"] == "Field required"
    assert "50" in errors["settings.holdout_percent"]
    assert errors["nodes.a"] == "the branches' percents must add up to 100"
    assert errors["nodes.b.channel"].startswith("the channel is one of")
    assert errors["nodes.c"] == "no step leads here"
    assert "Bad Id" in " ".join(errors)
    assert session.scalar(select(Journey.id)) is None
    checked = manager.request("POST", "/journeys/validate", json={"definition": DEFINITION}).json()
    assert checked == {"valid": True, "errors": {}}
    unknown_template = dict(DEFINITION, nodes={"wait": {"type": "send", "template_id": 999, "next": None}})
    assert manager.request("POST", "/journeys/validate", json={"definition": unknown_template}).json()["errors"] == {
        "nodes.wait.template_id": "there is no template 999"}


def test_loops_are_refused(manager: Browser) -> None:
    looping = dict(DEFINITION, nodes={"wait": {"type": "delay", "for": {"hours": 1}, "next": "done"},
                                      "done": {"type": "delay", "for": {"hours": 1}, "next": "wait"}})
    errors = manager.request("POST", "/journeys/validate", json={"definition": looping}).json()["errors"]
    assert errors == {"nodes.done": "this step leads back to 'wait': a journey only moves forward"}


def test_agents_may_not_change_journeys_and_unknown_ids_are_404(session: Session, manager: Browser,
                                                                agent: Browser) -> None:
    journey = manager.request("POST", "/journeys", json={"name": "Giỏ hàng", "definition": DEFINITION}).json()
    base = f"/journeys/{journey['id']}"
    for method, path in (("POST", "/journeys"), ("PUT", f"{base}/draft"), ("POST", f"{base}/publish"),
                         ("POST", f"{base}/archive")):
        assert_problem(agent.request(method, path, json={"name": "X", "definition": DEFINITION}), 403, "role_required")
    assert_problem(agent.request("GET", "/journeys/999999"), 404, "journey_not_found")
    assert_problem(manager.request("POST", f"/journeys/{journey['id']}/pause"), 409, "journey_not_live")
    assert_problem(manager.request("POST", f"/journeys/{journey['id']}/broadcast"), 409, "journey_not_live")
    assert_problem(manager.request("POST", "/journeys", json={"name": "giỏ HÀNG", "definition": DEFINITION}), 409,
                   "journey_name_taken")


def test_an_oversized_definition_is_refused(manager: Browser) -> None:
    huge = dict(DEFINITION, nodes={"wait": {"type": "delay", "for": {"hours": 1}, "label": "x" * 100, "next": None}},
                layout={f"n{i}": {"x": i, "y": i, "note": "y" * 500} for i in range(600)})
    answer = manager.request("POST", "/journeys", json={"name": "To", "definition": huge})
    assert answer.status_code in (413, 422), answer.text


def test_a_customers_timeline_shows_the_journeys_they_entered(session: Session, engine: Engine, manager: Browser,
                                                              agent: Browser) -> None:
    journey = manager.request("POST", "/journeys", json={"name": "Nhắc giỏ hàng", "definition": DEFINITION}).json()
    manager.request("POST", f"/journeys/{journey['id']}/publish")
    lan = customer(session)
    track(session, event="Checkout Started")
    run_worker(session, engine)
    items = agent.request("GET", f"/customers/{lan}/timeline").json()["items"]
    [entry] = [item for item in items if item["kind"] == "journey"]
    assert entry["title"] == "Nhắc giỏ hàng" and entry["data"]["status"] == "active"
    page = agent.client.get(f"/customers/{lan}")
    assert "Vào hành trình Nhắc giỏ hàng" in page.text and f"/journeys/{journey['id']}" in page.text
