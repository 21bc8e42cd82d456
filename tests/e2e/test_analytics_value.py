"""The customer value dashboard in a real browser, for five customers whose RFM scores are worked out by hand in
tests/analytics/test_rfm.py: each group's bar and each R×F cell carries the right count and revenue."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.analytics.test_rfm import AS_OF, shop
from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.analytics import value

pytestmark = pytest.mark.browser

__all__ = ["shop"]  # the five customers (A to E, E merged from two profiles) as a fixture


def _values(page: Page, chart: str, attribute: str = "data-label") -> dict[str, str]:
    marks = page.locator(f'[data-chart="{chart}"] [data-value]')
    return {marks.nth(i).get_attribute(attribute) or "": marks.nth(i).get_attribute("data-value") or ""
            for i in range(marks.count())}


def test_the_dashboard_shows_groups_grid_and_model(live_server: str, page: Page, session: Session,
                                                   shop: dict[str, int]) -> None:
    people = seed_shop(session)
    value.refresh(session, as_of=AS_OF)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + "/login?next=%2Fanalytics%2Fcustomers-value")
    page.get_by_label("Địa chỉ email").fill(people.hanoi_manager.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/analytics/customers-value")
    expect(page.get_by_role("heading", name="Giá trị khách hàng", exact=True)).to_be_visible()

    # A champion, B potential loyalist, C cannot lose, D hibernating, E need attention (test_rfm.py's hand count)
    groups = _values(page, "rfm-groups")
    assert groups["Khách hàng xuất sắc"] == "1" and groups["Có tiềm năng trung thành"] == "1"
    assert groups["Không thể để mất"] == "1" and groups["Ngủ đông"] == "1" and groups["Cần quan tâm"] == "1"
    assert groups["Khách hàng trung thành"] == "0" and groups["Đã rời bỏ"] == "0"
    revenue = _values(page, "rfm-revenue")
    assert (revenue["Khách hàng xuất sắc"], revenue["Không thể để mất"], revenue["Cần quan tâm"]) == (
        "600000", "1500000", "220000")
    cells = page.locator('[data-chart="rfm-grid"] [data-row]')
    grid = {f'{cells.nth(i).get_attribute("data-row")}{cells.nth(i).get_attribute("data-column")}':
            cells.nth(i).get_attribute("data-value") for i in range(cells.count())}
    assert len(grid) == 25
    assert {key for key, count in grid.items() if count != "0.0"} == {"R5F5", "R4F2", "R2F4", "R1F1", "R3F3"}
    assert page.locator('[data-kpi="customers"]').get_attribute("data-value") == "5"
    # five customers are too few to fit the value model: the page says so instead of predicting
    expect(page.locator('[data-fit="not-enough-data"]')).to_contain_text("Chưa đủ dữ liệu")
    assert errors == []


def test_the_segment_builder_offers_rfm_groups_and_predictions(live_server: str, page: Page,
                                                                session: Session) -> None:
    people = seed_shop(session)
    page.goto(live_server + "/login?next=%2Fsegments%2Fnew")
    page.get_by_label("Địa chỉ email").fill(people.hanoi_manager.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_label("Tên", exact=True).fill("Khách giá trị cao")
    top = page.locator(".rule-builder fieldset").first
    expect(top).to_be_visible()
    while top.locator(":scope > ol > li").count():
        top.locator(":scope > ol > li").first.get_by_role("button", name="Bỏ điều kiện").first.click()
    top.locator(":scope > p select").select_option("rfm")
    top.locator(":scope > p").get_by_role("button", name="Thêm điều kiện").click()
    top.get_by_label("Khách hàng trung thành").check()
    top.locator(":scope > p select").select_option("predicted")
    top.locator(":scope > p").get_by_role("button", name="Thêm điều kiện").click()
    bound = top.get_by_label("Giá trị").last
    bound.fill("2000000")
    bound.dispatch_event("change")
    definition = json.loads(page.locator("#segment-definition").input_value())
    assert definition == {"all": [{"rfm": ["champions", "loyal"]}, {"predicted": {"value": {"gte": 2000000}}}]}
    page.get_by_role("button", name="Xem trước").click()
    expect(page.get_by_role("heading", name="Xem trước: 0")).to_be_visible()
