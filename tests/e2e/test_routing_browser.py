"""Inbox routing in a real browser: an agent goes online from the inbox header and is given the conversation that
was waiting, puts a label on it, types a /shortcut that becomes the saved reply with her name in it, and finds the
conversation again by searching without diacritics."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.fakes.meta import GraphFake, messenger_message, messenger_webhook, meta_json, sign
from tests.fakes.server import serving
from tests.live_server import REQUEST_SECONDS
from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.auth.service import principal_for_user
from xuyen.inbox.connections import add_channel
from xuyen.inbox.models import Conversation
from xuyen.inbox.routing import canned, labels, service
from xuyen.worker import Worker

PAGE_ID, TOKEN, SECRET, PSID = "104729384756102", "EAAG-page-token", "meta-app-secret", "6024829371649999"


@pytest.fixture
def graph() -> Iterator[tuple[GraphFake, str]]:
    fake = GraphFake()
    fake.add_page(PAGE_ID, token=TOKEN, app_secret=SECRET)
    with serving(fake.app) as url:
        yield fake, url


@pytest.fixture
def start_worker(engine: Engine) -> Iterator[Callable[[], None]]:
    stop = threading.Event()
    thread = threading.Thread(target=Worker(engine=engine, poll_seconds=0.05).run, args=(stop,), daemon=True)
    yield thread.start
    stop.set()
    if thread.is_alive():
        thread.join(timeout=15)


def given_to(session: Session, user_id: int, timeout: float = 10.0) -> bool:
    """Whether a conversation is assigned to ``user_id`` within ``timeout`` seconds (the worker offers it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.rollback()
        if session.scalar(select(Conversation.id).where(Conversation.assignee_id == user_id)) is not None:
            return True
        time.sleep(0.1)
    return False


def test_an_agent_comes_online_labels_answers_with_a_shortcut_and_searches(
        live_server: str, page: Page, session: Session, graph: tuple[GraphFake, str],
        start_worker: Callable[[], None]) -> None:
    shop = seed_shop(session)
    agent = shop.hanoi_agent
    channel = add_channel(session, kind="messenger", name="Fanpage Xuyên", actor="test",
                          settings={"page_id": PAGE_ID, "graph_api_base": graph[1]},
                          secrets={"app_secret": SECRET, "page_access_token": TOKEN, "verify_token": "v"})
    team = service.create_team(session, name="Bán hàng", user_ids=[agent.id], actor="test")
    service.create_rule(session, name="Mọi tin", team_id=team.team.id, conditions={}, actor="test")
    labels.create_label(session, name="Khách sỉ", colour="#0f766e", actor="test")
    canned.create_response(session, shortcut="chao", text="Dạ em là {{ten_nhan_vien}} của {{ten_cua_hang}} ạ.",
                           shared=True, principal=principal_for_user(shop.owner), actor="test")
    session.rollback()
    start_worker()
    body = meta_json(messenger_webhook(PAGE_ID, messenger_message(PAGE_ID, PSID, "m_route_1", datetime.now(UTC),
                                                                  text="Váy lụa còn màu đỏ không ạ?")))
    answer = httpx.post(f"{live_server}/webhooks/{channel.id}", content=body,
                        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)},
                        timeout=REQUEST_SECONDS)
    assert answer.status_code == 200

    page.goto(live_server + "/login?next=%2Finbox")
    page.get_by_label("Địa chỉ email").fill(agent.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    availability = page.get_by_label("Tôi đang")
    expect(availability).to_have_value("offline")
    availability.select_option("online")
    page.get_by_role("button", name="Đổi").click()
    expect(page.get_by_label("Tôi đang")).to_have_value("online")
    assert given_to(session, agent.id), "coming online offers the team's waiting conversation"

    page.locator(".inbox-list__item a", has_text="Messenger").first.click()
    expect(page.locator("#thread")).to_contain_text("Váy lụa còn màu đỏ không ạ?")
    page.locator("#add-label").select_option(label="Khách sỉ")
    page.get_by_role("button", name="Gắn nhãn").click()
    expect(page.locator(".label-list")).to_contain_text("Khách sỉ")

    reply = page.get_by_label("Câu trả lời của bạn")
    reply.click()
    reply.press_sequentially("/chao")
    reply.press(" ")
    expect(reply).to_have_value(f"Dạ em là {agent.name} của {shop.hanoi.name} ạ.")

    page.goto(live_server + "/inbox")
    page.get_by_label("Tìm hội thoại").fill("vay lua mau do")
    page.get_by_label("Tìm hội thoại").press("Enter")
    expect(page.locator(".search__snippet")).to_have_text("Váy lụa còn màu đỏ không ạ?")
    page.goto(live_server + "/inbox/teams")
    expect(page.locator("table")).to_contain_text(agent.name)
