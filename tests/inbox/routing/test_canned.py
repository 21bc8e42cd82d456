"""Canned responses: placeholders filled in (and the unknown ones left alone), shared and personal responses (a
personal one wins), /shortcuts expanded for a conversation, unknown shortcuts, permissions and bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem, bearer
from tests.factories import make_store, make_user
from tests.inbox.conftest import Channels
from tests.inbox.routing.conftest import conversation_of, customer_writes, customer_writes_on_whatsapp, settle
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role, User
from xuyen.config import get_settings
from xuyen.inbox.routing.canned import fill_placeholders, shortcut_in

GREETING = "Dạ em chào {{ten_khach}}, em là {{ ten_nhan_vien }} của {{TEN_CUA_HANG}} ạ. {{ma_don}}"


# The expansion itself --------------------------------------------------------------------------------------


def test_placeholders_are_filled_and_unknown_ones_left_as_written() -> None:
    text, missing = fill_placeholders(GREETING, {"ten_khach": "chị Lan", "ten_nhan_vien": "Hoa",
                                                 "ten_cua_hang": "Xuyên Quận 1"})
    assert text == "Dạ em chào chị Lan, em là Hoa của Xuyên Quận 1 ạ. {{ma_don}}"
    assert missing == []


def test_placeholders_without_a_value_are_emptied_and_reported() -> None:
    text, missing = fill_placeholders("Chào {{ten_khach}}! {{ten_khach}} ơi, {{ten_cua_hang}}.",
                                      {"ten_khach": None, "ten_cua_hang": ""})
    assert text == "Chào !  ơi, ."
    assert missing == ["ten_khach", "ten_cua_hang"]
    assert fill_placeholders("{{ }} {{1x}} {ten_khach}", {"ten_khach": "A"}) == ("{{ }} {{1x}} {ten_khach}", [])


@pytest.mark.parametrize(("text", "shortcut"), [
    ("/chao", "chao"), ("  /Chao xin chờ", "chao"), ("/doi-tra\ntiếp", "doi-tra"), ("/chao_2", "chao_2"),
    ("chao", None), ("/", None), ("/chào", None), ("x /chao", None), ("/" + "a" * 41, None),
])
def test_a_reply_starts_with_a_shortcut_or_not(text: str, shortcut: str | None) -> None:
    assert shortcut_in(text) == shortcut


# Through the API -----------------------------------------------------------------------------------------


@pytest.fixture
def clerk(session: Session, browser_for: Callable[[User], Browser]) -> Browser:
    """An agent working in a store (the store's name is the shop's name in their replies)."""
    store = make_store(session, name="Xuyên Quận 1")
    return browser_for(make_user(session, role=Role.agent, store=store, name="Lê Thị Hoa"))


def test_a_shortcut_expands_with_the_customers_the_agents_and_the_shops_names(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        clerk: Browser) -> None:
    created = manager.request("POST", "/inbox/canned-responses", json={"shortcut": "/Chao", "text": GREETING,
                                                                       "shared": True})
    assert created.status_code == 201, created.text
    assert created.json()["shortcut"] == "chao" and created.json()["shared"] is True
    customer_writes_on_whatsapp(client, channels, "84901234567", "Nguyễn Thị Lan", "Chào shop")
    settle(engine)
    cid = conversation_of(session, "84901234567").id
    expanded = clerk.request("POST", "/inbox/canned-responses/expand",
                             json={"text": "/chao Đơn của chị đã giao.", "conversation_id": cid})
    assert expanded.status_code == 200, expanded.text
    body = expanded.json()
    assert body["text"] == ("Dạ em chào Nguyễn Thị Lan, em là Lê Thị Hoa của Xuyên Quận 1 ạ. {{ma_don}} "
                            "Đơn của chị đã giao.")
    assert body["missing"] == [] and body["shortcut"] == "chao"


def test_a_customer_without_a_name_and_a_shop_without_one_are_reported_missing(
        client: TestClient, channels: Channels, engine: Engine, session: Session, manager: Browser,
        agent: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    manager.request("POST", "/inbox/canned-responses", json={"shortcut": "chao", "text": GREETING, "shared": True})
    psid = customer_writes(client, channels, "Alo")  # Messenger gives no name
    settle(engine)
    cid = conversation_of(session, psid).id
    body = agent.request("POST", "/inbox/canned-responses/expand", json={"text": "/chao", "conversation_id": cid})
    assert body.json()["missing"] == ["ten_khach", "ten_cua_hang"]
    monkeypatch.setenv("XUYEN_INBOX_SHOP_NAME", "Thời trang Xuyên")
    get_settings.cache_clear()
    body = agent.request("POST", "/inbox/canned-responses/expand", json={"text": "/chao"})
    assert "của Thời trang Xuyên ạ" in body.json()["text"] and body.json()["missing"] == ["ten_khach"]


def test_a_personal_response_wins_over_the_shared_one_and_stays_personal(
        manager: Browser, agent: Browser, clerk: Browser) -> None:
    manager.request("POST", "/inbox/canned-responses", json={"shortcut": "cam-on", "text": "Cảm ơn anh/chị!",
                                                             "shared": True})
    mine = agent.request("POST", "/inbox/canned-responses", json={"shortcut": "cam-on", "text": "Em cảm ơn ạ 🙏"})
    assert mine.status_code == 201 and mine.json()["shared"] is False
    assert agent.request("POST", "/inbox/canned-responses/expand", json={"text": "/cam-on"}).json()["text"] == \
        "Em cảm ơn ạ 🙏"
    assert clerk.request("POST", "/inbox/canned-responses/expand", json={"text": "/cam-on"}).json()["text"] == \
        "Cảm ơn anh/chị!"
    assert [item["shared"] for item in agent.request("GET", "/inbox/canned-responses").json()] == [False, True]
    assert [item["shared"] for item in clerk.request("GET", "/inbox/canned-responses").json()] == [True]
    rid = mine.json()["id"]
    assert_problem(clerk.request("PATCH", f"/inbox/canned-responses/{rid}", json={"text": "x"}), 404,
                   "canned_response_not_found")
    assert_problem(clerk.request("DELETE", f"/inbox/canned-responses/{rid}"), 404, "canned_response_not_found")
    changed = agent.request("PATCH", f"/inbox/canned-responses/{rid}", json={"shortcut": "camon"})
    assert changed.status_code == 200 and changed.json()["shortcut"] == "camon"
    assert agent.request("DELETE", f"/inbox/canned-responses/{rid}").status_code == 204
    assert agent.request("POST", "/inbox/canned-responses/expand", json={"text": "/cam-on"}).json()["text"] == \
        "Cảm ơn anh/chị!"


def test_unknown_shortcuts_bad_input_and_permissions(session: Session, client: TestClient, manager: Browser,
                                                     agent: Browser) -> None:
    assert_problem(agent.request("POST", "/inbox/canned-responses/expand", json={"text": "/khongco"}), 404,
                   "canned_response_not_found")
    assert_problem(agent.request("POST", "/inbox/canned-responses/expand", json={"text": "xin chào"}), 422,
                   "canned_shortcut_missing")
    assert_problem(agent.request("POST", "/inbox/canned-responses/expand",
                                 json={"text": "/x", "conversation_id": 999_999}), 404, "canned_response_not_found")
    agent.request("POST", "/inbox/canned-responses", json={"shortcut": "x", "text": "X"})
    assert_problem(agent.request("POST", "/inbox/canned-responses/expand",
                                 json={"text": "/x", "conversation_id": 999_999}), 404, "conversation_not_found")
    assert_problem(agent.request("POST", "/inbox/canned-responses",
                                 json={"shortcut": "chung", "text": "Cho mọi người", "shared": True}), 403,
                   "role_required")
    assert_problem(agent.request("POST", "/inbox/canned-responses", json={"shortcut": "chào", "text": "x"}), 422,
                   "canned_shortcut_invalid")
    assert_problem(agent.request("POST", "/inbox/canned-responses", json={"shortcut": "a b", "text": "x"}), 422,
                   "canned_shortcut_invalid")
    assert_problem(agent.request("POST", "/inbox/canned-responses", json={"shortcut": "ok", "text": "   "}), 422,
                   "canned_text_invalid")
    assert_problem(agent.request("POST", "/inbox/canned-responses", json={"shortcut": "ok", "text": "x" * 5001}),
                   422, "validation_failed")
    assert_problem(agent.request("POST", "/inbox/canned-responses", json={"shortcut": "X", "text": "again"}), 409,
                   "canned_shortcut_taken")
    assert_problem(agent.request("POST", "/inbox/canned-responses/expand", json={"text": "/x" * 10_001}), 422,
                   "validation_failed")
    assert client.get("/api/v1/inbox/canned-responses").status_code == 401
    _row, key = auth_service.create_api_key(session, name="Chatbot", role=Role.manager)
    shared = client.post("/api/v1/inbox/canned-responses", headers=bearer(key),
                         json={"shortcut": "bot", "text": "Bot trả lời", "shared": True})
    assert shared.status_code == 201, shared.text
    assert_problem(client.post("/api/v1/inbox/canned-responses", headers=bearer(key),
                               json={"shortcut": "bot2", "text": "x"}), 422, "canned_personal_needs_user")
