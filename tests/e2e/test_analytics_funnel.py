"""The funnel and attribution dashboards in a real browser on a small known data set: the charts carry the numbers
computed by hand, and choosing another attribution model redraws the chart.

Two customers in March 2026: the first clicks a Zalo promotion (10/3), views a product on the website (17/3) and
buys for 1,000,000 ₫ at the till (20/3); the second's first order is 200,000 ₫ on the website (25/3), a trial."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.analytics.journey_data import Shop, at
from tests.ui.helpers import PASSWORD, seed_shop

pytestmark = pytest.mark.browser

MARCH = "from=2026-03-01&to=2026-03-31"


def _bars(page: Page, chart: str) -> dict[str, str]:
    marks = page.locator(f'[data-chart="{chart}"] .chart__bar')
    return {marks.nth(index).get_attribute("data-label") or "": marks.nth(index).get_attribute("data-value") or ""
            for index in range(marks.count())}


def test_the_funnel_and_attribution_charts_carry_the_numbers(live_server: str, page: Page, session: Session) -> None:
    shop = seed_shop(session)
    events = Shop(session)
    events.record("zalo", at(10), "Promotion Clicked", phone="0904000001")
    events.page("web", at(17), phone="0904000001")
    events.record("web", at(17, 4), "Product Viewed", phone="0904000001")
    events.record("pos", at(20), "Order Completed", phone="0904000001", total=1_000_000)
    events.record("web", at(25), "Order Completed", phone="0904000002", total=200_000)

    page.goto(live_server + f"/login?next=%2Fanalytics%2Ffunnel%3F{MARCH.replace('&', '%26')}")
    page.get_by_label("Địa chỉ email").fill(shop.hanoi_manager.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/analytics/funnel*")
    expect(page.locator('[data-chart="funnel-stages"]')).to_be_visible()
    # Both customers' furthest stage is purchase: 2 in every stage up to purchase, none after.
    assert _bars(page, "funnel-stages") == {"Nhận biết": "2", "Cân nhắc": "2", "Đánh giá": "2", "Dùng thử": "2",
                                            "Mua hàng": "2", "Sử dụng": "0", "Giới thiệu": "0", "Mua lại": "0"}
    # The first customer: awareness on Zalo, consideration on the website; the second: trial then purchase on the
    # website.
    assert page.locator('[data-move="zalo>web"]').get_attribute("data-value") == "1"
    assert page.locator('[data-move="web>web"]').get_attribute("data-value") == "1"

    page.goto(live_server + f"/analytics/attribution?{MARCH}")
    # Linear: the Zalo click and the website visit share the 1,000,000; the second order had no touchpoint.
    assert _bars(page, "attribution-revenue") == {"Zalo OA": "500000", "Website": "500000",
                                                  "Trực tiếp / không rõ": "200000"}
    chooser = page.get_by_role("form", name="Mô hình ghi nhận")
    chooser.locator('select[name="model"]').select_option("first_touch")
    chooser.get_by_role("button", name="Áp dụng").click()
    page.wait_for_url("**model=first_touch*")
    assert _bars(page, "attribution-revenue") == {"Zalo OA": "1000000", "Trực tiếp / không rõ": "200000"}
