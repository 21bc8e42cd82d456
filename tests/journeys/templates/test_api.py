"""The message templates API: CRUD with versions, bad input, permissions, and previews for real customers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, agent, assert_problem, manager  # noqa: F401
from tests.journeys.templates.helpers import ORDER_VARIANTS, SHIPPED, customer
from xuyen.journeys.templates.models import MessageTemplate, MessageTemplateVersion

BODY = {"name": "Trạng thái đơn hàng", "purpose": "transactional", "variants": ORDER_VARIANTS}


def test_managers_create_change_and_archive_templates(session: Session, manager: Browser,  # noqa: F811
                                                      agent: Browser) -> None:  # noqa: F811
    created = manager.request("POST", "/message-templates", json=BODY)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["version"] == 1 and template["variants"]["email"]["text"] == ""
    assert_problem(manager.request("POST", "/message-templates", json=BODY), 409, "duplicate_template")
    assert_problem(agent.request("POST", "/message-templates", json={**BODY, "name": "Khác"}), 403, "role_required")
    path = f"/message-templates/{template['id']}"
    changed = manager.request("PATCH", path, json={"version": 1, "variants": {"sms": {"text": "Chào bạn"}}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and list(changed.json()["variants"]) == ["sms"]
    assert_problem(manager.request("PATCH", path, json={"version": 1, "name": "Cũ"}), 409, "version_conflict")
    assert_problem(agent.request("PATCH", path, json={"version": 2, "name": "x"}), 403, "role_required")
    archived = manager.request("PATCH", path, json={"version": 2, "archived": True}).json()
    assert archived["archived"] is True and archived["version"] == 2
    assert agent.request("GET", "/message-templates").json() == []
    assert len(agent.request("GET", "/message-templates?archived=true").json()) == 1
    assert [v["version"] for v in agent.request("GET", f"{path}/versions").json()] == [2, 1]
    assert agent.request("GET", path).json()["name"] == "Trạng thái đơn hàng"
    assert_problem(agent.request("GET", "/message-templates/999"), 404, "template_not_found")


def test_bad_templates_are_refused_with_the_part_and_line(session: Session, manager: Browser) -> None:  # noqa: F811
    broken = manager.request("POST", "/message-templates", json={**BODY, "variants": {
        "email": {"subject": "Chào", "html": "<p>một</p>\n<p>{{ profile.name </p>"}}})
    problem = assert_problem(broken, 422, "syntax_error")
    assert problem["details"]["part"] == "email.html" and problem["details"]["line"] == 2
    assert_problem(manager.request("POST", "/message-templates", json={**BODY, "purpose": "spam"}), 422,
                   "unknown_purpose")
    assert_problem(manager.request("POST", "/message-templates", json={**BODY, "variants": {"fax": {}}}), 422,
                   "unknown_channel")
    assert_problem(manager.request("POST", "/message-templates", json={**BODY, "colour": "red"}), 422,
                   "validation_failed")
    assert_problem(manager.request("POST", "/message-templates", json={**BODY, "name": "x" * 201}), 422,
                   "validation_failed")
    huge = {"sms": {"text": "x" * 50_001}}
    refused = manager.request("POST", "/message-templates", json={**BODY, "variants": huge})
    assert refused.status_code in (413, 422)
    assert session.scalar(select(func.count()).select_from(MessageTemplate)) == 0
    assert session.scalar(select(func.count()).select_from(MessageTemplateVersion)) == 0


def test_preview_renders_every_channel_for_a_customer(session: Session, manager: Browser,  # noqa: F811
                                                      agent: Browser) -> None:  # noqa: F811
    template = manager.request("POST", "/message-templates", json=BODY).json()
    lan = customer(session)
    path = f"/message-templates/{template['id']}/preview"
    shown = agent.request("POST", path, json={"profile_id": lan, "event": SHIPPED})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["customer_name"] == "Nguyễn Thị Lan"
    by_channel = {r["channel"]: r for r in body["rendered"]}
    assert by_channel["email"]["subject"] == "Lan ơi, đơn DH1024 đang được giao"
    assert by_channel["sms"]["sms"]["with_accents"]["encoding"] == "UCS-2"
    assert by_channel["sms"]["sms"]["sent"]["encoding"] == "GSM-7"
    assert by_channel["zns"]["zns_params"]["amount"] == "1.250.000 ₫"
    searched = agent.request("POST", path, json={"query": "0912345678", "event": SHIPPED}).json()
    assert searched["customer_id"] == lan
    without_event = agent.request("POST", path, json={"profile_id": lan}).json()
    sms = next(r for r in without_event["rendered"] if r["channel"] == "sms")
    assert sms["ok"] is False and sms["problems"][0]["code"] == "missing_value"
    assert_problem(agent.request("POST", path, json={"profile_id": 987654}), 404, "customer_not_found")
    assert_problem(agent.request("POST", path, json={"query": "không ai cả"}), 404, "customer_not_found")
    assert_problem(agent.request("POST", "/message-templates/999/preview", json={"profile_id": lan}), 404,
                   "template_not_found")
    assert_problem(agent.request("POST", path, json={"profile_id": lan, "extra": {"note": "x" * 70_000}}), 422,
                   "extra_too_large")
    assert_problem(agent.request("POST", path, json={"query": "x" * 201}), 422, "validation_failed")
