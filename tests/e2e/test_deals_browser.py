"""Deals in a real browser: an agent drags a deal onto the won column of the board (HTML5 drag and drop, our own
script submitting the card's move form), opens the deal, makes its order and lands on the order."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.commerce.orders.support import make_shop
from tests.e2e.board import drag_card
from tests.sales.deals.support import ALL, customer
from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.sales.deals import service
from xuyen.sales.deals.models import StageKind
from xuyen.sales.deals.service import Actor, LineWanted


def test_drag_a_deal_to_won_and_make_its_order(live_server: str, page: Page, session: Session) -> None:
    shop = seed_shop(session)
    make_shop(session)
    agent = shop.hanoi_agent
    deal = service.create_deal(session, actor=Actor(name="test"), scope=ALL, title="Đồng phục lễ tân",
                               profile_id=customer(session), owner_id=agent.id, store_id=shop.hanoi.id,
                               lines=[LineWanted(sku="AO-DEN-M", quantity=2)])

    page.goto(live_server + "/login?next=%2Fdeals")
    page.get_by_label("Địa chỉ email").fill(agent.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    card = page.locator(f"#deal-{deal.id}")
    expect(card).to_be_visible()
    expect(page.locator("[data-stage-kind=open]").first.locator(f"#deal-{deal.id}")).to_be_visible()
    expect(card).to_contain_text("398.000")

    won = page.locator("[data-stage-kind=won]")
    drag_card(page, card, won)
    expect(won.locator("[data-count]")).to_have_text("1 cơ hội")  # the board as the server draws it after the move
    expect(won.locator(f"#deal-{deal.id}")).to_be_visible()
    session.rollback()
    session.expire_all()
    assert service.get_deal(session, deal_id=deal.id, scope=ALL).status is StageKind.won

    page.locator(f"#deal-{deal.id}").get_by_role("link", name="Đồng phục lễ tân").click()
    page.get_by_role("button", name="Tạo đơn hàng").click()
    page.wait_for_url("**/orders/*")
    expect(page.locator("main")).to_contain_text("AO-DEN-M")
    expect(page.locator("main")).to_contain_text("398.000")
    session.rollback()
    session.expire_all()
    order_id = service.get_deal(session, deal_id=deal.id, scope=ALL).order_id
    assert order_id is not None and page.url.endswith(f"/orders/{order_id}")
