"""The lead scoring page: managers see the rules, add behaviour and fit rules, switch them off, remove them and set
the decay (bad input shown with its reason, nothing kept); agents may not open it; the leads list shows and sorts
by score and a lead's page says why it has its score."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.api_client import Browser
from tests.factories import make_user
from tests.sales.scoring.conftest import add_rule, capture, run_worker
from xuyen.auth.models import Role, User
from xuyen.sales.scoring import rules
from xuyen.sales.scoring.models import CapPeriod, RuleKind, ScoringRule


def _rules(session: Session) -> list[ScoringRule]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(ScoringRule).order_by(ScoringRule.id)))


def test_a_manager_edits_the_rules_on_the_page(session: Session, manager: Browser) -> None:
    page = manager.client.get("/leads/scoring")
    assert page.status_code == 200 and "Chấm điểm khách hàng tiềm năng" in page.text
    assert '<option value="Lead Captured">' in page.text  # the events offered
    added = manager.client.post("/leads/scoring/rules", follow_redirects=False, data={
        "csrf_token": manager.csrf, "kind": "behaviour", "name": "Nhắn tin", "event": "Message Received",
        "points": "10", "cap_points": "20", "cap_period": "day"})
    assert added.status_code == 303 and added.headers["location"] == "/leads/scoring"
    fit = manager.client.post("/leads/scoring/rules", follow_redirects=False, data={
        "csrf_token": manager.csrf, "kind": "fit", "name": "Hà Nội", "attribute": "province", "op": "equals",
        "value": "Hà Nội", "points": "+15"})
    assert fit.status_code == 303
    [behaviour, province] = _rules(session)
    assert (behaviour.event, behaviour.cap_points, behaviour.cap_period) == ("Message Received", 20, CapPeriod.day)
    assert (province.attribute, province.points) == ("province", 15)
    shown = manager.client.get("/leads/scoring").text
    assert "Nhắn tin" in shown and "Hà Nội" in shown and "20 mỗi ngày" in shown
    off = manager.client.post(f"/leads/scoring/rules/{behaviour.id}/active", follow_redirects=False,
                              data={"csrf_token": manager.csrf, "active": "0"})
    assert off.status_code == 303 and _rules(session)[0].active is False
    gone = manager.client.post(f"/leads/scoring/rules/{province.id}/delete", follow_redirects=False,
                               data={"csrf_token": manager.csrf})
    assert gone.status_code == 303 and [rule.id for rule in _rules(session)] == [behaviour.id]
    decay = manager.client.post("/leads/scoring/settings", follow_redirects=False,
                                data={"csrf_token": manager.csrf, "half_life_days": "45"})
    assert decay.status_code == 303
    session.rollback()
    assert rules.half_life_days(session) == 45
    suggested = manager.client.post("/leads/scoring/suggested", follow_redirects=False,
                                    data={"csrf_token": manager.csrf})
    assert suggested.status_code == 303 and len(_rules(session)) == 1 + len(rules.SUGGESTED_RULES)


def test_bad_input_is_shown_with_its_reason_and_nothing_is_kept(session: Session, manager: Browser) -> None:
    for data in ({"kind": "behaviour", "name": "Xem", "event": "Product Viewed", "points": "nhiều"},
                 {"kind": "behaviour", "name": "Xem", "event": "Product Viewed", "points": "5", "cap_points": "x"},
                 {"kind": "fit", "name": "Ngân sách", "attribute": "field.lead.budget", "op": "between",
                  "value": "1..", "points": "5"},
                 {"kind": "spam", "name": "x", "points": "1"}):
        refused = manager.client.post("/leads/scoring/rules", data={"csrf_token": manager.csrf, **data})
        assert refused.status_code == 422, data
        assert 'role="alert"' in refused.text
    assert manager.client.post("/leads/scoring/settings", data={"csrf_token": manager.csrf,
                                                                "half_life_days": "0"}).status_code == 422
    assert manager.client.post("/leads/scoring/rules", data={"kind": "fit", "name": "x", "points": "1",
                                                             "csrf_token": "forged"}).status_code == 403
    assert _rules(session) == []


def test_agents_may_not_open_or_post_the_scoring_page(session: Session, agent: Browser) -> None:
    assert agent.client.get("/leads/scoring").status_code == 403
    posted = agent.client.post("/leads/scoring/rules", data={
        "csrf_token": agent.csrf, "kind": "fit", "name": "x", "attribute": "email", "op": "is_set", "value": "yes",
        "points": "5"})
    assert posted.status_code == 403 and _rules(session) == []
    assert 'href="/leads/scoring"' not in agent.client.get("/leads").text


def test_the_lists_score_and_the_leads_reasons(session: Session, engine: Engine,
                                               browser_for: Callable[[User], Browser]) -> None:
    add_rule(session, kind=RuleKind.behaviour, name="Để lại thông tin", points=20, event="Lead Captured")
    add_rule(session, kind=RuleKind.fit, name="Ở Hà Nội", points=10, attribute="province", op="equals",
             value="Hà Nội")
    hot = capture(session, phone="0914000001", name="Khách Nóng", province="Hà Nội")
    cold = capture(session, phone="0914000002", name="Khách Nguội", province="Huế")
    run_worker(session, engine)
    boss = browser_for(make_user(session, role=Role.owner))
    listed = boss.client.get("/leads?sort=score&min_score=25").text
    assert "Khách Nóng" in listed and "Khách Nguội" not in listed and 'href="/leads/scoring"' in listed
    everyone = boss.client.get("/leads?sort=score").text
    assert everyone.index("Khách Nóng") < everyone.index("Khách Nguội")
    detail = boss.client.get(f"/leads/{hot.id}").text
    assert "Điểm: 30" in detail and "Ở Hà Nội" in detail and "Để lại thông tin" in detail
    assert "Lead Captured" in detail  # the latest points, with their event
    assert "Điểm: 20" in boss.client.get(f"/leads/{cold.id}").text
