"""The SLA badge on the inbox pages, and the settings page where managers add policies and change the survey."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api_client import Browser
from tests.inbox.conftest import Channels, ago
from tests.inbox.sla_support import messenger_says, newest_conversation, on_monday

HTML = {"Accept": "text/html"}


def get(browser: Browser, path: str) -> httpx.Response:
    return browser.client.get(path, headers=HTML, follow_redirects=False)


def post(browser: Browser, path: str, data: dict[str, object]) -> httpx.Response:
    return browser.client.post(path, data={"csrf_token": browser.csrf, **data}, headers=HTML,  # type: ignore[arg-type]
                               follow_redirects=False)


def test_the_list_and_the_conversation_show_the_most_urgent_clock(client: TestClient, channels: Channels,
                                                                   engine: Engine, agent: Browser) -> None:
    messenger_says(client, channels, "psid-badge", "m_badge", "Shop ơi", on_monday(11, 30))
    cid = newest_conversation(agent, engine)
    listed = get(agent, "/inbox")
    assert listed.status_code == 200 and 'class="sla sla--running"' in listed.text
    assert "Phản hồi đầu tiên: còn 1 giờ 0 phút" in listed.text  # the agent reads Vietnamese
    shown = get(agent, f"/inbox/{cid}")
    assert shown.status_code == 200 and "Phản hồi đầu tiên: còn 1 giờ 0 phút" in shown.text
    messenger_says(client, channels, "psid-late-badge", "m_late_badge", "Alo", ago(days=3))
    late = newest_conversation(agent, engine)
    assert 'class="sla sla--breached"' in get(agent, f"/inbox/{late}").text
    assert 'class="sla sla--breached"' in get(agent, "/inbox/list-part?status=open").text


def test_managers_add_a_policy_and_change_the_survey_on_the_settings_page(manager: Browser) -> None:
    page = get(manager, "/inbox/sla")
    assert page.status_code == 200 and "Default" in page.text and "Mặc định" in page.text
    added = post(manager, "/inbox/sla", {"name": "Zalo nhanh", "first_response": "20", "resolution": "480",
                                         "warning_percent": "75", "channel_kinds": ["zalo"]})
    assert added.status_code == 303 and added.headers["location"] == "/inbox/sla"
    created = next(policy for policy in manager.request("GET", "/inbox/sla/policies").json()
                   if policy["name"] == "Zalo nhanh")
    assert (created["first_response"], created["resolution"], created["channel_kinds"]) == ("PT20M", "PT8H", ["zalo"])
    refused = post(manager, "/inbox/sla", {"name": "Sai", "first_response": "abc"})
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    none = post(manager, "/inbox/sla", {"name": "Trống", "warning_percent": "80"})
    assert none.status_code == 422 and "at least one target" in none.text
    saved = post(manager, "/inbox/sla/survey", {"survey_text": "Chấm điểm giúp shop: {link}", "expiry_days": "5",
                                                "reply_hours": "12", "enabled": "on"})
    assert saved.status_code == 303
    settings = manager.request("GET", "/inbox/csat/settings").json()
    assert (settings["survey_text"], settings["expiry_days"], settings["reply_hours"]) == (
        "Chấm điểm giúp shop: {link}", 5, 12)
    bad = post(manager, "/inbox/sla/survey", {"survey_text": "Không có đường dẫn", "expiry_days": "5",
                                              "reply_hours": "12"})
    assert bad.status_code == 422 and "{link}" in bad.text


def test_the_settings_page_is_for_managers_and_its_forms_need_the_token(agent: Browser, manager: Browser,
                                                                        client: TestClient) -> None:
    assert get(agent, "/inbox/sla").status_code == 403
    assert post(agent, "/inbox/sla", {"name": "X", "first_response": "10"}).status_code == 403
    assert client.get("/inbox/sla", headers=HTML, follow_redirects=False).status_code == 303  # to sign in
    forged = manager.client.post("/inbox/sla", data={"csrf_token": "wrong", "name": "X", "first_response": "10"},
                                 headers=HTML, follow_redirects=False)
    assert forged.status_code == 403
    assert [policy["name"] for policy in manager.request("GET", "/inbox/sla/policies").json()] == ["Default"]
