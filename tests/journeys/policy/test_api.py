"""The messaging policy API: managers read and change the settings and the suppression list, every change
audited; bad settings are answered with problem+json and nothing changes; agents may not touch it; the decision
preview answers what the policy would do."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.journeys.policy.conftest import consent, customer
from xuyen.audit import AuditEntry
from xuyen.journeys.policy import settings
from xuyen.journeys.policy.models import Suppression

DEFAULTS = {"timezone": "Asia/Ho_Chi_Minh", "sending_from": "07:00", "sending_until": "22:00",
            "total_cap": {"limit": 3, "hours": 24},
            "channel_caps": {name: {"limit": 3, "hours": 24} for name in ("zalo", "messenger", "whatsapp", "sms",
                                                                         "email")},
            "channel_order": ["zalo", "messenger", "whatsapp", "sms", "email"], "capped_purposes": ["marketing"],
            "quiet_exempt": ["transactional"]}


def _audited(session: Session) -> list[dict[str, Any]]:
    session.rollback()
    return [{"action": entry.action, **entry.detail} for entry in session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("messaging_policy.%")).order_by(AuditEntry.id))]


def test_a_manager_reads_and_changes_the_settings_and_the_change_is_audited(session: Session,
                                                                            manager: Browser) -> None:
    read = manager.request("GET", "/messaging-policy/settings")
    assert read.status_code == 200 and read.json() == DEFAULTS
    wanted = {**DEFAULTS, "sending_from": "08:30", "sending_until": "21:00", "total_cap": {"limit": 5, "hours": 48},
              "channel_caps": {"sms": {"limit": 1, "hours": 24}}, "quiet_exempt": ["transactional", "care"]}
    changed = manager.request("PUT", "/messaging-policy/settings", json=wanted)
    assert changed.status_code == 200, changed.text
    assert changed.json() == wanted == manager.request("GET", "/messaging-policy/settings").json()
    config = settings.current(session)
    assert (config.allowed_from, config.allowed_until, config.total.limit) == (510, 1260, 5)
    [entry] = _audited(session)
    assert entry["action"] == "messaging_policy.settings_changed"
    assert (entry["before"]["allowed_from"], entry["after"]["allowed_from"]) == (420, 510)


def test_bad_settings_are_refused_and_nothing_changes(session: Session, manager: Browser) -> None:
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"timezone": "Sao Hỏa/Thủ đô"}, 422, "invalid_timezone"),
        ({"sending_from": "25:00"}, 422, "validation_failed"),
        ({"sending_from": "07:00", "sending_until": "07:00"}, 422, "invalid_hours"),
        ({"total_cap": {"limit": -1, "hours": 24}}, 422, "validation_failed"),
        ({"channel_caps": {"fax": {"limit": 1, "hours": 24}}}, 422, "invalid_channel"),
        ({"channel_order": ["sms", "email"]}, 422, "invalid_channel_order"),
        ({"capped_purposes": ["spam"]}, 422, "invalid_purpose"),
        ({"surprise": True}, 422, "validation_failed"),
    ]
    for change, status, code in cases:
        assert_problem(manager.request("PUT", "/messaging-policy/settings", json={**DEFAULTS, **change}), status,
                       code)
    assert_problem(manager.request("PUT", "/messaging-policy/settings", content=b"{not json",
                                   headers={"content-type": "application/json"}), 422, "validation_failed")
    assert manager.request("GET", "/messaging-policy/settings").json() == DEFAULTS
    assert _audited(session) == []


def test_a_manager_keeps_the_suppression_list(session: Session, manager: Browser) -> None:
    lan = customer(session)
    added = manager.request("POST", "/messaging-policy/suppressions",
                            json={"kind": "phone", "value": "0912.345.678", "reason": "Khách báo tin rác"})
    assert added.status_code == 201, added.text
    assert (added.json()["value"], added.json()["source"]) == ("+84912345678", "manual")
    by_profile = manager.request("POST", "/messaging-policy/suppressions",
                                 json={"kind": "profile", "value": str(lan), "reason": "Yêu cầu không liên hệ"})
    assert by_profile.status_code == 201, by_profile.text
    assert_problem(manager.request("POST", "/messaging-policy/suppressions",
                                   json={"kind": "phone", "value": "+84912345678", "reason": "Lần nữa"}),
                   409, "already_suppressed")
    listed = manager.request("GET", "/messaging-policy/suppressions").json()
    assert [item["kind"] for item in listed] == ["profile", "phone"]
    assert manager.request("DELETE", f"/messaging-policy/suppressions/{added.json()['id']}").status_code == 204
    assert_problem(manager.request("DELETE", f"/messaging-policy/suppressions/{added.json()['id']}"), 404,
                   "suppression_not_found")
    assert [entry["action"] for entry in _audited(session)] == [
        "messaging_policy.suppressed", "messaging_policy.suppressed", "messaging_policy.unsuppressed"]


def test_bad_suppressions_are_refused_and_nothing_is_kept(session: Session, manager: Browser) -> None:
    for body, code in [({"kind": "phone", "value": "abc", "reason": "x"}, "invalid_value"),
                       ({"kind": "email", "value": "not-an-address", "reason": "x"}, "invalid_value"),
                       ({"kind": "profile", "value": "999999", "reason": "x"}, "customer_not_found"),
                       ({"kind": "device", "value": "1", "reason": "x"}, "validation_failed"),
                       ({"kind": "email", "value": "a@b.vn", "reason": ""}, "validation_failed"),
                       ({"kind": "email", "value": "a@b.vn", "reason": "x" * 501}, "validation_failed"),
                       ({"kind": "email", "value": "x" * 400, "reason": "x"}, "validation_failed")]:
        response = manager.request("POST", "/messaging-policy/suppressions", json=body)
        assert response.status_code in (404, 422), response.text
        assert response.json()["code"] == code
    assert session.scalars(select(Suppression)).all() == []
    assert_problem(manager.request("DELETE", "/messaging-policy/suppressions/0"), 422, "validation_failed")


def test_the_decision_preview_says_what_the_policy_would_do(session: Session, manager: Browser) -> None:
    lan = customer(session)
    consent(session, lan, "sms")
    body = {"profile_id": lan, "purpose": "marketing", "at": "2026-12-07T16:00:00Z"}
    night = manager.request("POST", "/messaging-policy/decisions", json=body).json()
    assert (night["action"], night["code"], night["until"]) == ("defer", "quiet_hours", "2026-12-08T00:00:00Z")
    day = manager.request("POST", "/messaging-policy/decisions", json={**body, "at": "2026-12-07T03:00:00+00:00"})
    assert (day.json()["action"], day.json()["channel"], day.json()["routes"][0]["address"]) == (
        "send", "sms", "+84912345678")
    assert_problem(manager.request("POST", "/messaging-policy/decisions", json={**body, "purpose": "spam"}), 422,
                   "invalid_purpose")
    assert_problem(manager.request("POST", "/messaging-policy/decisions", json={**body, "profile_id": 987654}),
                   404, "customer_not_found")


def test_staff_below_manager_may_not_touch_the_policy(session: Session, agent: Browser) -> None:
    assert_problem(agent.request("GET", "/messaging-policy/settings"), 403, "role_required")
    assert_problem(agent.request("PUT", "/messaging-policy/settings", json=DEFAULTS), 403, "role_required")
    assert_problem(agent.request("GET", "/messaging-policy/suppressions"), 403, "role_required")
    assert_problem(agent.request("POST", "/messaging-policy/suppressions",
                                 json={"kind": "phone", "value": "0912345678", "reason": "x"}), 403, "role_required")
    assert_problem(agent.request("POST", "/messaging-policy/decisions",
                                 json={"profile_id": 1, "purpose": "care"}), 403, "role_required")
    assert session.scalars(select(Suppression)).all() == []


def test_the_api_needs_a_signed_in_caller(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/messaging-policy/settings"), 401, "not_authenticated")
    assert_problem(client.post("/api/v1/messaging-policy/suppressions",
                               json={"kind": "phone", "value": "0912345678", "reason": "x"}), 401, "not_authenticated")
