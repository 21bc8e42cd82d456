"""The chat widget in a real browser: a shop's page (another origin, under a strict Content-Security-Policy) embeds
the widget from a live Xuyên server; the visitor writes, the agent sees it in the inbox and answers through the
API, and the answer appears in the widget live."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.e2e.shop_site import ShopSite
from tests.factories import PASSWORD, make_user
from tests.live_server import REQUEST_SECONDS
from xuyen.auth.models import Role
from xuyen.channels.webchat import identity_hash
from xuyen.events.models import ChannelType, Event
from xuyen.events.service import create_source
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.models import ProfileIdentifier
from xuyen.inbox import connections
from xuyen.worker import Worker

pytestmark = pytest.mark.browser

ANONYMOUS_ID = "e2e-7c1d2f4a-anon"
IDENTITY_SECRET = "identity-secret-for-e2e-0123456789"


def widget(live_server: str, channel_id: int) -> str:
    """The tag that embeds the chat widget of ``channel_id`` from ``live_server``."""
    return f'<script src="{live_server}/chat/widget.js" data-channel="{channel_id}" async></script>'


def complaints_of(page: Page) -> list[str]:
    """What the browser's console complains about while the test runs (CSP refusals among them)."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text) if message.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


@pytest.fixture
def chat_id(session: Session, shop: ShopSite) -> int:
    channel = connections.add_channel(session, kind="webchat", name="Chat trên website",
                                      settings={"allowed_origins": shop.url, "colour": "#9f1239"},
                                      secrets={"widget_secret": "widget-secret-for-e2e-0123456789",
                                               "identity_secret": IDENTITY_SECRET}, actor="test")
    return channel.id


@pytest.fixture
def staff(live_server: str, session: Session) -> Iterator[httpx.Client]:
    """An agent signed in to the live server's API."""
    agent = make_user(session, role=Role.agent)
    with httpx.Client(base_url=live_server, timeout=REQUEST_SECONDS) as http:
        signed_in = http.post("/api/v1/auth/session", json={"email": agent.email, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        http.headers["X-CSRF-Token"] = signed_in.json()["csrf_token"]
        yield http


def test_a_visitor_chats_with_an_agent_through_the_widget(live_server: str, shop: ShopSite, page: Page,
                                                          chat_id: int, staff: httpx.Client, engine: Engine,
                                                          session: Session, tmp_path: object) -> None:
    _source, write_key = create_source(session, name="Website", channel=ChannelType.web)
    tracked = httpx.post(f"{live_server}/v1/page", json={"anonymousId": ANONYMOUS_ID, "name": "Áo dài lụa",
                                                         "messageId": "e2e-page-1"},
                         headers={"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()})
    assert tracked.status_code == 200
    page.context.add_cookies([{"name": "ajs_anonymous_id", "value": f"%22{ANONYMOUS_ID}%22", "url": shop.url}])
    shop.show(live_server, widget(live_server, chat_id), lang="vi")
    complaints = complaints_of(page)
    page.goto(f"{shop.url}/ao-dai-lua?utm_source=zalo")

    bubble = page.get_by_role("button", name="Mở khung chat")
    expect(bubble).to_have_attribute("aria-expanded", "false")
    bubble.click()
    panel = page.get_by_role("dialog", name="Chat với cửa hàng")
    expect(panel).to_be_visible()
    expect(bubble).to_have_attribute("aria-expanded", "true")
    expect(panel.get_by_text("Xin chào! Chúng tôi có thể giúp gì cho bạn?")).to_be_visible()
    box = panel.get_by_label("Tin nhắn")
    expect(box).to_be_focused()
    box.fill("Shop ơi, áo dài lụa còn size M không ạ?")
    panel.get_by_role("button", name="Gửi").click()
    log = panel.get_by_role("log")
    expect(log.get_by_text("Shop ơi, áo dài lụa còn size M không ạ?")).to_be_visible()
    expect(log.get_by_text("Đang gửi…")).to_have_count(0)

    Worker(engine=engine).run_until_idle()
    (conversation,) = staff.get("/api/v1/conversations", params={"status": "open"}).json()
    detail = staff.get(f"/api/v1/conversations/{conversation['id']}").json()
    assert [message["text"] for message in detail["messages"]] == ["Shop ơi, áo dài lụa còn size M không ạ?"]
    session.rollback()
    tracked_profile = session.scalar(select(Event.profile_id).where(Event.message_id == "e2e-page-1"))
    assert tracked_profile is not None
    assert resolve_profile_id(session, profile_id=tracked_profile) == detail["customer_id"]  # one customer

    reply = staff.post(f"/api/v1/conversations/{conversation['id']}/replies",
                       json={"text": "Dạ còn ạ, chị ghé shop thử nhé!"})
    assert reply.status_code == 202, reply.text
    expect(log.get_by_text("Dạ còn ạ, chị ghé shop thử nhé!")).to_be_visible()  # live, no reload
    page.screenshot(path=str(tmp_path) + "/widget.png")  # type: ignore[operator]

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bubble).to_be_focused()
    staff.post(f"/api/v1/conversations/{conversation['id']}/replies", json={"text": "Shop mở cửa đến 21 giờ ạ."})
    expect(page.get_by_role("button", name="Mở khung chat (1 tin nhắn mới)")).to_be_visible()

    page.reload()  # a returning visitor: the conversation so far, from the history
    page.get_by_role("button", name="Mở khung chat").click()
    texts = page.get_by_role("log").get_by_role("listitem")
    expect(texts).to_have_text(["Xin chào! Chúng tôi có thể giúp gì cho bạn?",
                                "Shop ơi, áo dài lụa còn size M không ạ?", "Dạ còn ạ, chị ghé shop thử nhé!",
                                "Shop mở cửa đến 21 giờ ạ."])
    stored = json.loads(page.evaluate(f"localStorage.getItem('xuyen_chat_{chat_id}')"))
    assert stored["aid"] == ANONYMOUS_ID  # the tracking cookie's id, not one of the widget's own
    assert not [text for text in complaints if "Content Security Policy" in text or "Refused" in text], complaints


def test_on_an_english_page_without_analytics_the_widget_keeps_its_own_id_and_learns_who_signed_in(
        live_server: str, shop: ShopSite, page: Page, chat_id: int, staff: httpx.Client, engine: Engine,
        session: Session) -> None:
    shop.show(live_server, widget(live_server, chat_id), lang="en")
    complaints = complaints_of(page)
    page.goto(f"{shop.url}/")
    page.get_by_role("button", name="Open chat").click()
    panel = page.get_by_role("dialog", name="Chat with us")
    expect(panel.get_by_text("Hi! How can we help you?")).to_be_visible()
    panel.get_by_label("Message").fill("Do you ship to Đà Nẵng?")
    panel.get_by_label("Message").press("Enter")
    expect(panel.get_by_text("Sending…")).to_have_count(0)
    own_id = json.loads(page.evaluate(f"localStorage.getItem('xuyen_chat_{chat_id}')"))["aid"]
    assert len(own_id) == 36
    Worker(engine=engine).run_until_idle()
    (conversation,) = staff.get("/api/v1/conversations", params={"status": "open"}).json()
    assert staff.get(f"/api/v1/conversations/{conversation['id']}").json()["messages"][0]["text"] == \
        "Do you ship to Đà Nẵng?"
    panel.get_by_role("button", name="Close chat").click()
    expect(page.get_by_role("button", name="Open chat")).to_be_focused()

    # The customer signs in on the single-page site: its backend hands the page their id and its hash.
    page.evaluate("who => window.XuyenChat.identify(who)",
                  {"userId": "KH-3003", "userHash": identity_hash(IDENTITY_SECRET, "KH-3003")})
    page.get_by_role("button", name="Open chat").click()
    panel.get_by_label("Message").fill("I just signed in")
    panel.get_by_role("button", name="Send").click()
    expect(panel.get_by_text("Sending…")).to_have_count(0)
    Worker(engine=engine).run_until_idle()
    session.rollback()
    holders = dict(session.execute(select(ProfileIdentifier.value, ProfileIdentifier.profile_id).where(
        ProfileIdentifier.value.in_([own_id, "KH-3003"]))).all())
    assert holders[own_id] == holders["KH-3003"]  # the visitor is now the signed-in customer
    assert not [text for text in complaints if "Content Security Policy" in text], complaints
