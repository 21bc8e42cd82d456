"""The SLA API: managers list, add and change policies; bad policies are refused with every problem named;
one default policy; agents read a conversation's clocks; the report's period is checked."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api_client import Browser, assert_problem

GOOD = {"name": "Zalo và Messenger", "first_response": "PT30M", "next_response": "PT1H", "resolution": "PT8H",
        "channel_kinds": ["messenger"], "warning_percent": 75}


def policies(browser: Browser) -> list[dict[str, Any]]:
    response = browser.request("GET", "/inbox/sla/policies")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def test_the_default_policy_uses_vietnamese_shop_hours_and_holidays(manager: Browser) -> None:
    (default,) = policies(manager)
    assert default["is_default"] and default["active"] and default["channel_kinds"] == []
    assert (default["first_response"], default["next_response"], default["resolution"]) == ("PT1H", "PT2H", "PT16H")
    assert default["warning_percent"] == 80
    calendar = default["calendar"]
    assert calendar["timezone"] == "Asia/Ho_Chi_Minh"
    assert calendar["hours"]["monday"] == ["08:00-12:00", "13:30-17:30"]
    assert calendar["hours"]["saturday"] == ["08:00-12:00"] and calendar["hours"]["sunday"] == []
    years = {day[:4] for day in calendar["holidays"]}
    assert len(years) == 3 and any(day.endswith("-09-02") for day in calendar["holidays"])
    assert len(policies(manager)) == 1  # made once


def test_managers_add_and_change_policies(manager: Browser) -> None:
    created = manager.request("POST", "/inbox/sla/policies", json=GOOD)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["first_response"] == "PT30M" and body["resolution"] == "PT8H" and body["warning_percent"] == 75
    assert body["calendar"]["hours"]["saturday"] == ["08:00-12:00"] and not body["is_default"]
    changed = manager.request("PATCH", f"/inbox/sla/policies/{body['id']}",
                              json={"first_response": 900, "next_response": None, "name": "Chat"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["first_response"], changed.json()["next_response"]) == ("PT15M", None)
    assert manager.request("GET", f"/inbox/sla/policies/{body['id']}").json()["name"] == "Chat"
    seconds = manager.request("POST", "/inbox/sla/policies", json={"name": "Email", "resolution": "24:00:00",
                                                                   "channel_kinds": ["email"]})
    assert seconds.status_code == 201 and seconds.json()["resolution"] == "P1D"  # 24 hours of business time, not a day


def test_a_new_default_takes_over_and_the_old_one_is_turned_off(manager: Browser) -> None:
    (old,) = policies(manager)
    new = manager.request("POST", "/inbox/sla/policies", json={"name": "Mới", "first_response": "PT2H",
                                                               "is_default": True}).json()
    found = {policy["id"]: policy for policy in policies(manager)}
    assert found[new["id"]]["is_default"] and not found[old["id"]]["is_default"]
    assert found[old["id"]]["active"] is False
    body = assert_problem(manager.request("PATCH", f"/inbox/sla/policies/{new['id']}", json={"is_default": False}),
                          422, "invalid_sla_policy")
    assert "another one" in body["detail"]
    assert_problem(manager.request("PATCH", f"/inbox/sla/policies/{new['id']}", json={"active": False}), 422,
                   "invalid_sla_policy")
    assert_problem(manager.request("PATCH", f"/inbox/sla/policies/{new['id']}", json={"channel_kinds": ["sms"]}),
                   422, "invalid_sla_policy")
    assert policies(manager)[-1]["id"] == new["id"]  # nothing half-saved


def test_bad_policies_are_refused_with_every_problem_named(manager: Browser) -> None:
    body = assert_problem(manager.request("POST", "/inbox/sla/policies", json={
        "name": "  ", "first_response": -60, "resolution": "P400D", "warning_percent": 150,
        "channel_kinds": ["telegraph"],
        "calendar": {"timezone": "Asia/Hanoi_City", "hours": {"monday": ["08:00-12:00", "11:00-13:00"]}}}),
        422, "invalid_sla_policy")
    problems = body["details"]["problems"]
    for part in ("name:", "first response: give from 1 minute to 365 days of business time, not -60 seconds",
                 "resolution:", "warning_percent:", "'telegraph'", "overlap"):
        assert any(part in problem for problem in problems), (part, problems)
    zone = assert_problem(manager.request("POST", "/inbox/sla/policies", json={
        **GOOD, "calendar": {"timezone": "Asia/Hanoi_City", "hours": {"monday": ["08:00-12:00"]}}}), 422,
        "invalid_sla_policy")
    assert "unknown time zone 'Asia/Hanoi_City'" in zone["detail"]
    no_target = assert_problem(manager.request("POST", "/inbox/sla/policies", json={"name": "Trống"}), 422,
                               "invalid_sla_policy")
    assert "at least one target" in no_target["detail"]
    assert_problem(manager.request("POST", "/inbox/sla/policies", json={"name": "X", "first_response": 0.5}), 422,
                   "invalid_sla_policy")  # below a minute
    assert_problem(manager.request("POST", "/inbox/sla/policies", json={"name": "X", "first_response": "1 hour"}),
                   422, "validation_failed")
    assert_problem(manager.request("POST", "/inbox/sla/policies", json={"first_response": "PT1H"}), 422,
                   "validation_failed")
    assert_problem(manager.request("POST", "/inbox/sla/policies", json={**GOOD, "color": "red"}), 422,
                   "validation_failed")
    assert_problem(manager.request("POST", "/inbox/sla/policies", json={**GOOD, "calendar": "vietnam"}), 422,
                   "validation_failed")
    assert_problem(manager.request("POST", "/inbox/sla/policies", json={**GOOD, "name": "x" * 101}), 422,
                   "validation_failed")
    malformed = manager.request("POST", "/inbox/sla/policies", content=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert_problem(malformed, 422, "validation_failed")
    (default,) = policies(manager)
    assert_problem(manager.request("PATCH", f"/inbox/sla/policies/{default['id']}", json={"name": None}), 422,
                   "invalid_sla_policy")
    assert policies(manager) == [default]


def test_names_are_unique_and_unknown_policies_are_404(manager: Browser) -> None:
    assert manager.request("POST", "/inbox/sla/policies", json=GOOD).status_code == 201
    assert_problem(manager.request("POST", "/inbox/sla/policies", json={**GOOD, "name": GOOD["name"].upper()}),
                   409, "sla_policy_name_taken")
    assert_problem(manager.request("GET", "/inbox/sla/policies/999999"), 404, "sla_policy_not_found")
    assert_problem(manager.request("PATCH", "/inbox/sla/policies/999999", json={"position": 1}), 404,
                   "sla_policy_not_found")
    assert_problem(manager.request("GET", "/inbox/sla/policies/0"), 422, "validation_failed")
    assert_problem(manager.request("GET", "/inbox/sla/policies/abc"), 422, "validation_failed")


def test_an_oversized_calendar_is_refused_before_it_is_read(manager: Browser) -> None:
    huge = {**GOOD, "calendar": {"holidays": ["2026-01-01"] * 120_000}}
    assert_problem(manager.request("POST", "/inbox/sla/policies", json=huge), 413, "payload_too_large")


def test_only_managers_see_and_change_policies_and_the_report(agent: Browser, client: TestClient) -> None:
    assert_problem(agent.request("GET", "/inbox/sla/policies"), 403, "role_required")
    assert_problem(agent.request("POST", "/inbox/sla/policies", json=GOOD), 403, "role_required")
    assert_problem(agent.request("PATCH", "/inbox/sla/policies/1", json={"position": 2}), 403, "role_required")
    assert_problem(agent.request("GET", "/inbox/sla/report"), 403, "role_required")
    assert client.get("/api/v1/inbox/sla/policies").status_code == 401
    assert client.get("/api/v1/conversations/1/sla").status_code == 401
    assert_problem(agent.request("GET", "/conversations/999999/sla"), 404, "conversation_not_found")
    assert_problem(agent.request("GET", "/conversations/0/sla"), 422, "validation_failed")


def test_the_report_period_is_checked(manager: Browser) -> None:
    assert manager.request("GET", "/inbox/sla/report").json()["rows"] == []  # the last 30 days
    for since, until in (("2026-03-02T00:00:00+07:00", "2026-03-01T00:00:00+07:00"),
                         ("2026-03-01T00:00:00", "2026-03-02T00:00:00"),
                         ("2024-01-01T00:00:00Z", "2026-01-01T00:00:00Z")):
        assert_problem(manager.request("GET", "/inbox/sla/report", params={"since": since, "until": until}), 422,
                       "invalid_period")
    assert_problem(manager.request("GET", "/inbox/sla/report", params={"since": "yesterday"}), 422,
                   "validation_failed")
