"""The inbox in a real browser: an agent signs in, a customer's Messenger message arrives while the conversation
is open and shows without a reload, the agent answers from the reply box, and the fake Graph API receives it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.fakes.meta import GraphFake, messenger_message, messenger_webhook, meta_json, sign
from tests.fakes.server import serving
from tests.live_server import REQUEST_SECONDS
from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.db import session_factory
from xuyen.inbox.connections import add_channel
from xuyen.inbox.routing import labels
from xuyen.worker import Worker

PAGE_ID, TOKEN, SECRET, PSID = "104729384756102", "EAAG-page-token", "meta-app-secret", "6024829371642213"


@pytest.fixture
def graph() -> Iterator[tuple[GraphFake, str]]:
    fake = GraphFake()
    fake.add_page(PAGE_ID, token=TOKEN, app_secret=SECRET)
    with serving(fake.app) as url:
        yield fake, url


@pytest.fixture
def start_worker(engine: Engine) -> Iterator[Callable[[], None]]:
    """Start a worker beside the server, as in production (once the test's own writes are done: on SQLite a
    test session that read before writing would lose the race for the write lock)."""
    stop = threading.Event()
    thread = threading.Thread(target=Worker(engine=engine, poll_seconds=0.05).run, args=(stop,), daemon=True)
    yield thread.start
    stop.set()
    if thread.is_alive():
        thread.join(timeout=15)


def customer_writes(server: str, channel_id: int, mid: str, text: str) -> None:
    at = datetime.now(UTC)
    body = meta_json(messenger_webhook(PAGE_ID, messenger_message(PAGE_ID, PSID, mid, at, text=text)))
    answer = httpx.post(f"{server}/webhooks/{channel_id}", content=body,
                        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)},
                        timeout=REQUEST_SECONDS)
    assert answer.status_code == 200, answer.text


def test_an_agent_sees_a_message_arrive_live_and_answers_it(live_server: str, page: Page, session: Session,
                                                           graph: tuple[GraphFake, str],
                                                           start_worker: Callable[[], None]) -> None:
    shop = seed_shop(session)
    fake, graph_url = graph
    channel = add_channel(session, kind="messenger", name="Fanpage Xuyên", actor="test",
                          settings={"page_id": PAGE_ID, "graph_api_base": graph_url},
                          secrets={"app_secret": SECRET, "page_access_token": TOKEN, "verify_token": "v"})
    session.rollback()
    start_worker()
    fake.customer_wrote(PAGE_ID, PSID, datetime.now(UTC))
    customer_writes(live_server, channel.id, "m_first", "Chào shop, váy lụa còn size S không ạ?")

    page.goto(live_server + "/login?next=%2Finbox")
    page.get_by_label("Địa chỉ email").fill(shop.hanoi_agent.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hộp thư")
    page.locator(".inbox-list__item a", has_text="Messenger").first.click()
    thread = page.locator("#thread")
    expect(thread).to_contain_text("Chào shop, váy lụa còn size S không ạ?")
    expect(page.locator("html")).to_have_attribute("data-inbox-live", "on")

    customer_writes(live_server, channel.id, "m_second", "Shop ơi, cho em xin giá luôn ạ")
    expect(thread).to_contain_text("Shop ơi, cho em xin giá luôn ạ")  # no reload

    page.get_by_label("Câu trả lời của bạn").fill("Dạ còn size S ạ, giá 1.250.000 ₫.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(thread).to_contain_text("Dạ còn size S ạ, giá 1.250.000 ₫.")
    deadline = time.monotonic() + 10
    while not fake.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    (sent,) = fake.sent
    assert sent.to == PSID and sent.body["message"]["text"] == "Dạ còn size S ạ, giá 1.250.000 ₫."
    expect(thread.locator(".state--sent")).to_be_visible(timeout=10_000)


def test_a_live_refresh_waits_while_the_agent_is_in_a_field(live_server: str, page: Page, session: Session,
                                                            engine: Engine, graph: tuple[GraphFake, str],
                                                            start_worker: Callable[[], None]) -> None:
    shop = seed_shop(session)
    channel = add_channel(session, kind="messenger", name="Fanpage Xuyên", actor="test",
                          settings={"page_id": PAGE_ID, "graph_api_base": graph[1]},
                          secrets={"app_secret": SECRET, "page_access_token": TOKEN, "verify_token": "v"})
    session.rollback()
    start_worker()
    page.goto(live_server + "/login?next=%2Finbox")
    page.get_by_label("Địa chỉ email").fill(shop.hanoi_agent.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("html")).to_have_attribute("data-inbox-live", "on")
    bar = page.locator("#routing-bar")
    search = page.get_by_label("Tìm hội thoại")
    search.click()
    page.evaluate("window.searchBox = document.getElementById('inbox-search')")

    with session_factory(engine)() as writer:  # the worker is running: take the write lock before reading
        labels.create_label(writer, name="Khách sỉ", colour="#0f766e", actor="test")  # the bar has news to show
    customer_writes(live_server, channel.id, "m_while_typing", "Shop ơi còn áo dài không ạ?")
    expect(page.locator("#inbox-list")).to_contain_text("Messenger")
    expect(bar).to_have_attribute("data-live-stale", "")
    assert page.evaluate("document.getElementById('inbox-search') === window.searchBox"), \
        "the field in focus is not replaced"
    expect(bar).not_to_contain_text("Khách sỉ")

    page.locator("h1").click()
    expect(bar).not_to_have_attribute("data-live-stale", "")
    expect(bar).to_contain_text("Khách sỉ")
    page.wait_for_function("document.getElementById('inbox-search') !== window.searchBox")
