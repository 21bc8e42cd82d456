"""The website lead form in a real browser: a shop's page on another origin, under a strict Content-Security-Policy,
embeds ``/forms/lead.js`` from a live Xuyên server; the script renders the form (or takes over the shop's own form),
the visitor fills it in, and the lead lands in Xuyên with the page's UTM tags."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.e2e.shop_site import ShopSite
from xuyen.config import get_settings
from xuyen.sales.leads import configuration
from xuyen.sales.leads.models import Lead, LeadCapture, LeadForm

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def quick_people(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_LEADS_FORM_MIN_SECONDS", "1")
    monkeypatch.setenv("XUYEN_LEADS_CHECK_MX", "false")
    get_settings.cache_clear()


def _form(session: Session, shop: ShopSite) -> LeadForm:
    return configuration.create_form(session, name="Tư vấn", allowed_origins=[shop.url], labels=["Tư vấn"])


def test_the_script_renders_a_form_that_sends_a_lead(page: Page, live_server: str, shop: ShopSite,
                                                     session: Session) -> None:
    form = _form(session, shop)
    shop.show(live_server, f'<script src="{live_server}/forms/lead.js" data-form="{form.key}" async></script>',
              inline_styles=True)
    complaints: list[str] = []
    page.on("pageerror", lambda error: complaints.append(str(error)))
    page.goto(f"{shop.url}/ao-dai?utm_source=facebook&utm_campaign=tet")
    page.get_by_label("Họ tên").fill("Ngô Thị Hằng")
    page.get_by_label("Số điện thoại").fill("0918 222 333")
    page.get_by_label("Lời nhắn").fill("Em cần tư vấn size")
    page.wait_for_timeout(1200)  # a person takes longer than the form's minimum
    page.get_by_role("button", name="Gửi").click()
    expect(page.get_by_role("status")).to_have_text("Cảm ơn bạn! Chúng tôi sẽ liên hệ sớm.")
    assert complaints == []
    session.rollback()
    lead = session.scalar(select(Lead))
    capture = session.scalar(select(LeadCapture))
    assert lead is not None and capture is not None
    assert lead.phone == "+84918222333" and lead.name == "Ngô Thị Hằng" and lead.labels == ["Website", "Tư vấn"]
    assert (capture.utm_source, capture.utm_campaign) == ("facebook", "tet")
    assert capture.source_detail.startswith(f"{shop.url}/ao-dai")
    assert capture.fields == {"message": "Em cần tư vấn size"}


def test_the_script_takes_over_the_shops_own_form(page: Page, live_server: str, shop: ShopSite,
                                                  session: Session) -> None:
    form = _form(session, shop)
    shop.show(live_server, '<form id="dang-ky"><label>Điện thoại <input name="phone"></label>'
                           '<label>Email <input name="email"></label>'
                           '<label>Sản phẩm <input name="product_interest"></label>'
                           '<button type="submit">Đăng ký</button></form>'
                           f'<script src="{live_server}/forms/lead.js" data-form="{form.key}" '
                           'data-target="#dang-ky" async></script>', inline_styles=True)
    page.goto(shop.url)
    page.get_by_label("Điện thoại").fill("0918222444")
    page.get_by_label("Sản phẩm").fill("Khăn lụa")
    page.wait_for_timeout(1200)
    page.get_by_role("button", name="Đăng ký").click()
    expect(page.get_by_role("status")).to_have_text("Cảm ơn bạn! Chúng tôi sẽ liên hệ sớm.")
    session.rollback()
    lead = session.scalar(select(Lead))
    assert lead is not None and lead.phone == "+84918222444" and lead.product_interest == "Khăn lụa"
