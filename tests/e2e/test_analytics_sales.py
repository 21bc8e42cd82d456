"""The sales and customers dashboard in a real browser: the owner signs in straight onto it for March of the small
known shop (tests/analytics/sales_data.py), reads the tiles' and charts' numbers, then narrows it to one channel
with the filter bar."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.analytics import sales_data
from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.analytics import rollups

pytestmark = pytest.mark.browser


def _value(page: Page, selector: str) -> str | None:
    return page.locator(selector).first.get_attribute("data-value")


def test_the_owner_reads_march_and_narrows_it_to_the_tills(live_server: str, page: Page, session: Session) -> None:
    people = seed_shop(session)
    sales_data.build(session)
    rollups.rebuild(session, first=date(2026, 1, 1), last=date(2026, 3, 10))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(live_server + "/login?next=%2Fanalytics%2Fsales%3Ffrom%3D2026-03-01%26to%3D2026-03-10")
    page.get_by_label("Địa chỉ email").fill(people.owner.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/analytics/sales?*")
    expect(page.get_by_role("heading", name="Bán hàng và khách hàng", exact=True)).to_be_visible()

    assert _value(page, '[data-kpi="revenue"]') == "1250000"
    assert _value(page, '[data-kpi="orders"]') == "6"
    assert _value(page, '[data-kpi="average_order"]') == "208333"
    assert _value(page, '[data-kpi="customers"]') == "3"
    assert _value(page, '[data-kpi="multi_channel_share"]') == "0.3333"
    assert _value(page, '[data-kpi="repeat_rate"]') == "0.6667"
    days = page.locator('[data-chart="revenue-per-day"] .chart__point')
    expect(days).to_have_count(10)
    assert days.nth(0).get_attribute("data-value") == "420000"  # 23:30 on 1 March stays on 1 March
    assert days.nth(1).get_attribute("data-value") == "80000"
    bars = page.locator('[data-chart="revenue-by-channel"] .chart__bar')
    assert [bars.nth(i).get_attribute("data-value") for i in range(bars.count())] == ["1050000", "200000"]
    cell = page.locator('[data-chart="retention-cohorts"] [data-row="01/2026 (2)"][data-column="+1"]')
    assert cell.get_attribute("data-value") == "0.5"

    page.locator("form.filters select[name=channel]").select_option("pos")
    page.get_by_role("button", name="Áp dụng").click()
    page.wait_for_url("**channel=pos**")
    expect(page.locator('[data-kpi="revenue"]')).to_have_attribute("data-value", "1050000")
    assert _value(page, '[data-kpi="orders"]') == "4"
    assert _value(page, '[data-kpi="customers"]') == "2"
    assert errors == []
