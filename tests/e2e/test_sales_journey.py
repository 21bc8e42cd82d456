"""The whole sales journey in a real browser: a visitor sends the website lead form embedded on the shop's own site
(another origin), the assignment rule gives the lead to an agent; the agent signs in, finds the lead on the leads
page as theirs, opens a deal for the customer with a catalogue product, drags it across the board stage by stage to
won, makes its order, and finds that order on the orders page with the customer and the amount."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.commerce.orders.support import make_shop
from tests.e2e.board import drag_card
from tests.e2e.conftest import BROWSER_WAIT_MS
from tests.e2e.shop_site import ShopSite
from tests.factories import PASSWORD, make_user
from tests.ui.helpers import seed_shop
from xuyen.auth.models import Role
from xuyen.commerce.orders.models import Order
from xuyen.config import get_settings
from xuyen.sales.deals import pipelines, service
from xuyen.sales.deals.models import Deal, StageKind
from xuyen.sales.leads import configuration
from xuyen.sales.leads.models import Lead

pytestmark = pytest.mark.browser

VISITOR = "Ngô Thị Hằng"


@pytest.fixture(autouse=True)
def quick_people(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_LEADS_FORM_MIN_SECONDS", "1")
    monkeypatch.setenv("XUYEN_LEADS_CHECK_MX", "false")
    get_settings.cache_clear()


@pytest.fixture
def visitor(chromium: Browser) -> Iterator[Page]:
    """The shop's visitor: a browser of their own, on the shop's site."""
    context = chromium.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(BROWSER_WAIT_MS)
    yield context.new_page()
    context.close()


def _visitor_sends_the_form(page: Page, live_server: str, shop: ShopSite, form_key: str) -> None:
    shop.show(live_server, f'<script src="{live_server}/forms/lead.js" data-form="{form_key}" async></script>',
              inline_styles=True)
    page.goto(f"{shop.url}/ao-dai?utm_source=zalo")
    page.get_by_label("Họ tên").fill(VISITOR)
    page.get_by_label("Số điện thoại").fill("0918 222 555")
    page.get_by_label("Lời nhắn").fill("Công ty em cần 2 áo thun đen size M")
    page.wait_for_timeout(1200)  # a person takes longer than the form's minimum
    page.get_by_role("button", name="Gửi").click()
    expect(page.get_by_role("status")).to_have_text("Cảm ơn bạn! Chúng tôi sẽ liên hệ sớm.")


def _drag_to(page: Page, card_selector: str, stage_id: int) -> None:
    """Drag the card onto the stage's column; the server draws the board again with the card there."""
    card = page.locator(card_selector)
    column = page.locator(f'[data-stage-id="{stage_id}"]')
    drag_card(page, card, column)
    # the board as the server draws it after the move: the card in that column
    expect(column.locator(card_selector)).to_be_visible()
    expect(column.locator("[data-count]")).to_have_text("1 cơ hội")


def test_from_the_shops_lead_form_to_an_order(live_server: str, page: Page, visitor: Page, shop: ShopSite,
                                              session: Session) -> None:
    seed_shop(session)
    make_shop(session)
    # An online sales agent, bound to no branch: the orders page shows them every branch's orders (a branch's
    # agent sees only that branch's, and an order made from a deal belongs to no branch).
    agent = make_user(session, role=Role.agent, name="Trần Văn Bảo", email="bao@xuyen.example")
    make_user(session, role=Role.agent, name="Phạm Thu Trang")  # someone the lead must not go to
    form = configuration.create_form(session, name="Tư vấn đồng phục", allowed_origins=[shop.url])
    configuration.create_rule(session, name="Website → Hoa", source="form", assign_user_id=agent.id)

    _visitor_sends_the_form(visitor, live_server, shop, form.key)
    session.rollback()
    lead = session.scalar(select(Lead))
    assert lead is not None and lead.owner_id == agent.id

    page.goto(live_server + "/login?next=%2Fleads")
    page.get_by_label("Địa chỉ email").fill(agent.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    row = page.locator("tbody tr").filter(has=page.get_by_role("link", name=VISITOR))
    expect(row).to_contain_text(agent.name)
    row.get_by_role("link", name=VISITOR).click()
    page.get_by_role("link", name=f"Khách hàng #{lead.profile_id}").click()
    page.locator("#deals").get_by_role("link", name="Cơ hội mới").click()
    page.get_by_label("Tiêu đề").fill("Đồng phục công ty chị Hằng")
    page.get_by_label("Mã SKU sản phẩm").fill("AO-DEN-M")
    page.get_by_label("Số lượng").fill("2")
    page.get_by_role("button", name="Mở cơ hội").click()
    page.wait_for_url(re.compile(r".*/deals/\d+$"))
    expect(page.locator("main")).to_contain_text("398.000")
    deal_id = int(page.url.rsplit("/", 1)[1])

    page.goto(live_server + "/deals")
    session.rollback()
    opened = session.get(Deal, deal_id)
    assert opened is not None and opened.profile_id == lead.profile_id and opened.owner_id == agent.id
    stages = pipelines.stages_of(session, pipeline_id=opened.pipeline_id)
    expect(page.locator(f'[data-stage-id="{stages[0].id}"] #deal-{deal_id}')).to_be_visible()
    for stage in [s for s in stages if s.kind is StageKind.open][1:] + [s for s in stages
                                                                        if s.kind is StageKind.won]:
        _drag_to(page, f"#deal-{deal_id}", stage.id)
    session.rollback()
    deal = session.get(Deal, deal_id)
    assert deal is not None and deal.status is StageKind.won and deal.profile_id == lead.profile_id
    assert len(_moves(session, deal_id)) == 5  # opened, then four moves

    page.locator(f"#deal-{deal_id}").get_by_role("link", name="Đồng phục công ty chị Hằng").click()
    page.get_by_role("button", name="Tạo đơn hàng").click()
    page.wait_for_url("**/orders/*")
    session.rollback()
    order = session.scalar(select(Order))
    assert order is not None and order.profile_id == lead.profile_id and order.total == 398_000

    page.goto(live_server + "/orders")
    order_row = page.locator("tbody tr").filter(has=page.get_by_role("link", name=order.number, exact=True))
    expect(order_row).to_contain_text("398.000")
    expect(order_row.locator(f'a[href="/customers/{lead.profile_id}"]')).to_be_visible()


def _moves(session: Session, deal_id: int) -> list[int]:
    return [change.to_stage_id for change in service.history_of(session, deal_id=deal_id)]
