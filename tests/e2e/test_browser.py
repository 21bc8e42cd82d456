"""The UI in a real browser: sign in, look around, switch language, sign out."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.live_server import REQUEST_SECONDS
from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.events.models import ChannelType
from xuyen.events.service import create_source
from xuyen.worker import Worker

pytestmark = pytest.mark.browser


def test_sign_in_browse_switch_language_and_sign_out(live_server: str, page: Page, session: Session,
                                                     tmp_path: Path) -> None:
    shop = seed_shop(session)

    page.goto(live_server + "/")
    expect(page).to_have_url(live_server + "/login?next=%2F")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.get_by_label("Địa chỉ email").fill(shop.owner.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()

    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan")
    expect(page.get_by_role("heading", name="Xuyên Hoàn Kiếm")).to_be_visible()
    expect(page.get_by_role("heading", name="Xuyên Quận 1")).to_be_visible()
    expect(page.get_by_text("Nguyễn Thị Lan", exact=True)).to_be_visible()
    screenshot = tmp_path / "overview.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000

    nav = page.get_by_role("navigation", name="Điều hướng chính")
    nav.get_by_role("link", name="Cửa hàng").click()
    expect(page).to_have_url(live_server + "/stores")
    expect(page.get_by_role("table")).to_contain_text("HN01")
    expect(page.get_by_role("table")).to_contain_text("45 Lê Lợi, Bến Nghé")

    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(live_server + "/stores")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    nav = page.get_by_role("navigation", name="Main navigation")
    expect(nav.get_by_role("link", name="Stores")).to_have_attribute("aria-current", "page")
    for label in ("Overview", "Sources", "Staff", "Jobs"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server + "/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(live_server + "/stores")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fstores$"))


def test_wrong_password_and_a_narrow_screen(live_server: str, page: Page, session: Session) -> None:
    shop = seed_shop(session)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/login")
    page.get_by_label("Địa chỉ email").fill(shop.hanoi_manager.email)
    page.get_by_label("Mật khẩu").fill("không-đúng-đâu")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("Email hoặc mật khẩu không đúng")
    expect(page.get_by_label("Địa chỉ email")).to_have_value(shop.hanoi_manager.email)

    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tổng quan")
    for path in ("/", "/stores", "/staff"):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    expect(page.get_by_role("table")).not_to_contain_text(shop.saigon_agent.email)
    page.goto(live_server + "/jobs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bạn không có quyền truy cập trang này")


def test_search_a_customer_and_read_their_timeline_across_channels(live_server: str, page: Page,
                                                                   session: Session, engine: Engine) -> None:
    shop = seed_shop(session)
    _web, web_key = create_source(session, name="Website Xuyên", channel=ChannelType.web)
    for key, calls in (
        (shop.pos_write_key, [{"type": "identify", "userId": "KH-0912345678", "timestamp": "2026-11-01T03:00:00Z",
                               "traits": {"name": "Đỗ Thị Thu", "phone": "0912345678"}},
                              {"type": "track", "userId": "KH-0912345678", "event": "Order Completed",
                               "timestamp": "2026-11-01T03:10:00Z",
                               "properties": {"order_id": "HD-001", "total": 450_000, "currency": "VND"}}]),
        (web_key, [{"type": "track", "userId": "KH-0912345678", "event": "Product Viewed",
                    "timestamp": "2026-11-02T09:00:00Z", "properties": {"name": "Áo dài lụa"}}]),
    ):
        batch = [{"messageId": f"e2e-{key[-6:]}-{n}", **call} for n, call in enumerate(calls)]
        assert httpx.post(live_server + "/v1/batch", json={"batch": batch}, auth=(key, ""),
                          timeout=REQUEST_SECONDS).status_code == 200
    Worker(engine=engine).run_until_idle()

    page.goto(live_server + "/login")
    page.get_by_label("Địa chỉ email").fill(shop.hanoi_agent.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name="Khách hàng", exact=True).click()
    expect(page).to_have_url(live_server + "/customers")

    page.get_by_role("searchbox", name="Tìm khách hàng").fill("do thi thu")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.get_by_role("link", name="Đỗ Thị Thu").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Đỗ Thị Thu")
    timeline = page.locator(".timeline")
    expect(timeline.locator(".timeline__item")).to_have_count(3)
    expect(timeline.locator(".timeline__item").first).to_contain_text("Xem sản phẩm")
    expect(timeline.locator(".timeline__item").first).to_contain_text("Website")
    expect(timeline).to_contain_text("Đặt hàng thành công")
    expect(timeline).to_contain_text("450.000 ₫")
    expect(timeline).to_contain_text("POS tại cửa hàng")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
