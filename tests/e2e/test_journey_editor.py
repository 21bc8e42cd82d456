"""The journey editor in a real browser: a manager builds a small journey on the diagram (the trigger's event typed in
its panel, a send step added with the "+" on the edge and its template picked, a wait and a condition added and
deleted again), saves the draft and publishes it; a customer's Checkout Started arrives through the
Segment-compatible tracking API, the worker moves them through (the e-mail reaches a real SMTP server), and the
journey page shows the send step's figures change."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.channels.test_email import SmtpServer
from tests.journeys.flows import conftest as journey_fixtures
from tests.live_server import REQUEST_SECONDS
from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.events.models import ChannelType
from xuyen.events.service import create_source
from xuyen.journeys.flows import service
from xuyen.journeys.templates import service as templates
from xuyen.worker import Worker

pytestmark = pytest.mark.browser

smtp, mailbox = journey_fixtures.smtp, journey_fixtures.mailbox  # a real SMTP server and the shop's mailbox


@pytest.mark.usefixtures("mailbox")
def test_build_publish_and_watch_a_customer_pass(live_server: str, page: Page, session: Session, engine: Engine,
                                                 smtp: SmtpServer) -> None:
    shop = seed_shop(session)
    template = templates.create_template(session, name="Nhắc giỏ hàng", purpose="transactional", actor="user:1",
                                         variants={"email": {"subject": "Giỏ hàng của bạn",
                                                             "html": "<p>Bạn còn quên gì không?</p>",
                                                             "text": "Bạn còn quên gì không?"}})
    _web, write_key = create_source(session, name="Website Xuyên", channel=ChannelType.web)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(live_server + "/login?next=%2Fjourneys")
    page.get_by_label("Địa chỉ email").fill(shop.hanoi_manager.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Hành trình mới").click()
    page.get_by_label("Tên").fill("Giỏ hàng bị bỏ quên")
    page.get_by_role("button", name="Tạo và mở trình soạn thảo").click()
    page.wait_for_url("**/journeys/*/edit")
    journey_id = int(page.url.split("/")[-2])
    diagram = page.locator(".je-diagram")
    expect(diagram).to_be_visible()

    # The trigger: its own panel, the event typed (a known name offered, any allowed).
    page.get_by_role("button", name="Điểm bắt đầu và cài đặt").click()
    panel = page.locator("[data-panel]")
    panel.get_by_label("Tên sự kiện").fill("Checkout Started")
    panel.get_by_label("Nhóm đối chứng (%)").fill("0")
    panel.get_by_role("button", name="Đóng").click()
    expect(page.locator('[data-node="trigger"]')).to_contain_text("Checkout Started")

    # A send step on the edge from the trigger, its template picked in its form.
    page.locator('[data-add="trigger:start"]').click()
    panel.locator('[data-type="send"]').click()
    panel.get_by_label("Mẫu tin nhắn").select_option(label="Nhắc giỏ hàng")
    panel.get_by_label("Mục đích").select_option("transactional")
    panel.get_by_label("Nhãn").fill("Nhắc lần 1")
    send = page.locator(".je-node--send")
    expect(send).to_contain_text("Nhắc lần 1")
    send_id = send.get_attribute("data-node")
    assert send_id

    # A wait added after it from the keyboard, then deleted again: the send leads to the exit once more.
    add_after_send = page.locator(f'[data-add="{send_id}:next"]')
    add_after_send.focus()
    page.keyboard.press("Enter")
    panel.locator('[data-type="delay"]').click()
    expect(page.locator(".je-node--delay")).to_have_count(1)
    panel.get_by_role("button", name="Xóa bước này").click()
    expect(page.locator(".je-node--delay")).to_have_count(0)
    expect(page.locator(".je-node--exit")).to_have_count(1)

    # A condition added there and deleted again, keeping its "yes" branch (the exit); its "no" branch had nothing.
    page.locator(f'[data-add="{send_id}:next"]').click()
    panel.locator('[data-type="condition"]').click()
    expect(page.locator(".je-node--condition")).to_have_count(1)
    expect(page.locator(".je-edge__label")).to_have_count(2)
    panel.get_by_label("Rẽ nhánh theo").select_option("event")
    expect(page.locator(".je-node--condition")).to_contain_text("total ≥ 1000000")
    panel.get_by_label("Nhánh giữ lại").select_option(label="có → Thoát")
    panel.get_by_role("button", name="Xóa bước này").click()
    expect(page.locator(".je-node--condition")).to_have_count(0)
    expect(page.locator(".je-node--exit")).to_have_count(1)

    page.get_by_role("button", name="Lưu bản nháp").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu bản nháp.")
    session.rollback()
    draft = service.get_journey(session, journey_id=journey_id).draft
    assert draft["trigger"] == {"type": "event", "event": "Checkout Started", "where": {}}
    assert draft["start"] == send_id
    assert draft["nodes"][send_id]["template_id"] == template.id
    assert draft["nodes"][draft["nodes"][send_id]["next"]]["type"] == "exit"

    page.get_by_role("link", name="Quay lại hành trình").click()
    page.get_by_role("button", name="Phát hành bản nháp").click()
    expect(page.locator("[data-status]")).to_have_text("Đang chạy")
    expect(page.locator(f'[data-stats="{send_id}:flow"]')).to_contain_text("đã vào 0")

    call = {"type": "track", "event": "Checkout Started", "userId": "KH-0912345678", "messageId": "journey-e2e-1",
            "context": {"traits": {"email": "lan.khach@example.vn", "phone": "0912345678"}},
            "properties": {"value": 1_250_000}}
    tracked = httpx.post(live_server + "/v1/track", json=call, auth=(write_key, ""), timeout=REQUEST_SECONDS)
    assert tracked.status_code == 200
    Worker(engine=engine, periodic=False).run_until_idle()

    page.reload()
    expect(page.locator(f'[data-stats="{send_id}:flow"]')).to_contain_text("đã vào 1")
    expect(page.locator(f'[data-stats="{send_id}:sent"]')).to_contain_text("đã gửi 1")
    expect(page.locator("[data-result=enrolled]")).to_have_text("1")
    assert [message["Subject"] for message in journey_fixtures.arrived_to(smtp, "lan.khach@example.vn")] == [
        "Giỏ hàng của bạn"]
    assert errors == []
