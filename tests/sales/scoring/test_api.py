"""The lead scoring API: managers add, change and remove rules and set the decay, every change audited; bad rules
answered with problem+json and nothing kept; staff below manager may not touch it; the leads list sorts and
filters by score."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.factories import make_user
from tests.sales.scoring.conftest import add_rule, capture, run_worker
from xuyen.audit import AuditEntry
from xuyen.auth.models import Role, User
from xuyen.sales.scoring.models import RuleKind, ScoringRule

BEHAVIOUR = {"kind": "behaviour", "name": "Thêm vào giỏ", "points": 8, "event": "Product Added", "cap_points": 24,
             "cap_period": "day"}


def _audited(session: Session) -> list[str]:
    session.rollback()
    return [entry.action for entry in session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("lead_scoring.%")).order_by(AuditEntry.id))]


def test_a_manager_keeps_the_rules_and_every_change_is_audited(session: Session, manager: Browser) -> None:
    created = manager.request("POST", "/lead-scoring/rules", json=BEHAVIOUR)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert (rule["event"], rule["cap_points"], rule["cap_period"], rule["active"]) == ("Product Added", 24, "day",
                                                                                       True)
    fit = manager.request("POST", "/lead-scoring/rules", json={"kind": "fit", "name": "Hà Nội", "points": 10,
                                                               "attribute": "province", "op": "equals",
                                                               "value": "Hà Nội"})
    assert fit.status_code == 201, fit.text
    changed = manager.request("PATCH", f"/lead-scoring/rules/{rule['id']}",
                              json={"points": 5, "cap_points": None, "cap_period": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["points"], changed.json()["cap_points"], changed.json()["name"]) == (5, None,
                                                                                                "Thêm vào giỏ")
    listed = manager.request("GET", "/lead-scoring/rules").json()
    assert [(item["kind"], item["name"]) for item in listed] == [("behaviour", "Thêm vào giỏ"), ("fit", "Hà Nội")]
    assert manager.request("DELETE", f"/lead-scoring/rules/{rule['id']}").status_code == 204
    assert_problem(manager.request("DELETE", f"/lead-scoring/rules/{rule['id']}"), 404, "scoring_rule_not_found")
    settings = manager.request("PUT", "/lead-scoring/settings", json={"half_life_days": 14})
    assert settings.status_code == 200, settings.text
    assert settings.json()["half_life_days"] == 14 and "Lead Captured" in settings.json()["events"]
    assert manager.request("GET", "/lead-scoring/settings").json()["half_life_days"] == 14
    assert _audited(session) == ["lead_scoring.rule_created", "lead_scoring.rule_created",
                                 "lead_scoring.rule_changed", "lead_scoring.rule_deleted",
                                 "lead_scoring.settings_changed"]


def test_the_suggested_rules_are_added_once(session: Session, manager: Browser) -> None:
    first = manager.request("POST", "/lead-scoring/rules/suggested")
    assert first.status_code == 201, first.text
    assert len(first.json()) >= 8 and {rule["kind"] for rule in first.json()} == {"behaviour", "fit"}
    assert manager.request("POST", "/lead-scoring/rules/suggested").json() == []


@pytest.mark.parametrize(("body", "status", "code"), [
    ({**BEHAVIOUR, "event": ""}, 422, "event_missing"),
    ({**BEHAVIOUR, "cap_period": None}, 422, "cap_incomplete"),
    ({**BEHAVIOUR, "points": 0}, 422, "points_out_of_range"),
    ({**BEHAVIOUR, "points": 100_000}, 422, "validation_failed"),
    ({**BEHAVIOUR, "surprise": 1}, 422, "validation_failed"),
    ({"kind": "fit", "name": "x", "points": 5, "attribute": "field.customer.none", "op": "equals", "value": "1"},
     422, "unknown_field"),
    ({"kind": "fit", "name": "x", "points": 5, "attribute": "province", "op": "between", "value": ".."},
     422, "invalid_condition"),
])
def test_bad_rules_are_refused_and_nothing_is_kept(session: Session, manager: Browser, body: dict[str, object],
                                                   status: int, code: str) -> None:
    assert_problem(manager.request("POST", "/lead-scoring/rules", json=body), status, code)
    session.rollback()
    assert session.scalars(select(ScoringRule)).all() == []
    assert _audited(session) == []


def test_a_bad_change_leaves_the_rule_as_it_was(session: Session, manager: Browser) -> None:
    rule = manager.request("POST", "/lead-scoring/rules", json=BEHAVIOUR).json()
    assert_problem(manager.request("PATCH", f"/lead-scoring/rules/{rule['id']}", json={"event": "Lead Score Changed"}),
                   422, "event_not_scorable")
    assert_problem(manager.request("PUT", "/lead-scoring/settings", json={"half_life_days": 0}), 422,
                   "validation_failed")
    assert manager.request("GET", "/lead-scoring/rules").json()[0]["event"] == "Product Added"


def test_staff_below_manager_may_not_read_or_change_scoring(session: Session, agent: Browser) -> None:
    rule = add_rule(session, kind=RuleKind.fit, name="Có e-mail", points=5, attribute="email", op="is_set",
                    value="yes")
    assert_problem(agent.request("GET", "/lead-scoring/rules"), 403, "role_required")
    assert_problem(agent.request("POST", "/lead-scoring/rules", json=BEHAVIOUR), 403, "role_required")
    assert_problem(agent.request("PATCH", f"/lead-scoring/rules/{rule.id}", json={"points": 50}), 403,
                   "role_required")
    assert_problem(agent.request("DELETE", f"/lead-scoring/rules/{rule.id}"), 403, "role_required")
    assert_problem(agent.request("PUT", "/lead-scoring/settings", json={"half_life_days": 3}), 403, "role_required")
    session.rollback()
    assert session.get(ScoringRule, rule.id).points == 5  # type: ignore[union-attr]


def test_an_owner_may_edit_the_rules_too(owner: Browser) -> None:
    assert owner.request("POST", "/lead-scoring/rules", json=BEHAVIOUR).status_code == 201


def test_the_leads_list_sorts_and_filters_by_score(session: Session, engine: Engine,
                                                   browser_for: Callable[[User], Browser]) -> None:
    add_rule(session, kind=RuleKind.fit, name="Hà Nội", points=30, attribute="province", op="equals",
             value="Hà Nội")
    add_rule(session, kind=RuleKind.fit, name="Có e-mail", points=10, attribute="email", op="is_set", value="yes")
    best = capture(session, phone="0913000001", province="Hà Nội", email="a@shop.vn")
    middle = capture(session, phone="0913000002", province="Hà Nội")
    low = capture(session, phone="0913000003")
    run_worker(session, engine)
    owner = browser_for(make_user(session, role=Role.owner))
    by_score = owner.request("GET", "/leads", params={"sort": "score"}).json()
    assert [(lead["id"], lead["score"]) for lead in by_score] == [(best.id, 40), (middle.id, 30), (low.id, 0)]
    assert {part["name"] for part in by_score[0]["score_parts"]["fit"]} == {"Hà Nội", "Có e-mail"}
    assert [lead["id"] for lead in owner.request("GET", "/leads", params={"min_score": 30}).json()] == [
        middle.id, best.id]
    assert_problem(owner.request("GET", "/leads", params={"sort": "loudest"}), 422, "validation_failed")
