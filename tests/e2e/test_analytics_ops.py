"""The inbox and stock health dashboards in a real browser, on the small known data sets of the analytics tests: a
manager signs in, opens each dashboard, filters the inbox to one channel, and reads the charts' numbers."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from sqlalchemy.orm import Session

from tests.analytics import inbox_data, stock_data
from tests.factories import PASSWORD, make_user
from xuyen.auth.models import Role

pytestmark = pytest.mark.browser


def _values(page: Page, selector: str) -> dict[str, str]:
    marks = page.locator(selector)
    return {marks.nth(index).get_attribute("data-label") or "": marks.nth(index).get_attribute("data-value") or ""
            for index in range(marks.count())}


def test_the_inbox_and_stock_dashboards_draw_the_known_figures(live_server: str, page: Page,
                                                                session: Session) -> None:
    inbox_data.build(session)
    stock_data.build(session)
    boss = make_user(session, role=Role.manager)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(live_server + "/login?next=%2Fanalytics")
    page.get_by_label("Địa chỉ email").fill(boss.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(live_server + "/analytics")
    page.locator(".dashboards").get_by_role("link", name="Hộp thư", exact=True).click()
    page.wait_for_url("**/analytics/inbox")
    page.get_by_label("Từ").fill("2026-03-02")
    page.get_by_label("Đến").fill("2026-03-08")
    page.get_by_role("button", name="Áp dụng").click()
    page.wait_for_url("**/analytics/inbox?*")
    by_channel = _values(page, '[data-chart="volume-by-channel"] .chart__bar')
    assert by_channel == {"Zalo OA": "2", "Facebook Messenger": "2"}
    hours = {label: value for label, value in _values(page, '[data-chart="volume-by-hour"] .chart__point').items()
             if value != "0.0"}
    assert hours == {"09": "1.0", "11": "2.0", "16": "1.0"}
    assert page.locator('[data-kpi="first_response_median"]').get_attribute("data-value") == "4200.0"
    assert page.locator('[data-kpi="csat_average"]').get_attribute("data-value") == "4.0"

    page.locator('select[name="kind"]').select_option("zalo")
    page.get_by_role("button", name="Áp dụng").click()
    page.wait_for_url("**kind=zalo*")
    assert page.locator('[data-kpi="first_response_median"]').get_attribute("data-value") == "4500.0"
    assert page.locator('[data-kpi="sla_compliance"]').get_attribute("data-value") == "0.5"

    page.goto(live_server + "/analytics/stock")
    assert _values(page, '[data-chart="out-of-stock"] .chart__bar') == {
        "Website": "2", "Ứng dụng di động": "1", "POS tại cửa hàng": "2", "Trò chuyện": "1", "Shopee": "1",
        "Lazada": "0", "TikTok Shop": "0"}
    assert _values(page, '[data-chart="sell-through"] .chart__bar') == {"Áo dài lụa": "37.5", "Nón lá": "0.0"}
    assert page.locator('[data-kpi="reservations"]').get_attribute("data-value") == "1"
    assert not errors
