"""The segment rule builder in a real browser: a manager builds a rule by pointing and clicking (a condition on
the province and a group of two order conditions), previews it and saves it; the saved rule is the JSON the
builder wrote."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.ui.helpers import PASSWORD, seed_shop
from xuyen.segments.models import Segment


def test_a_manager_builds_a_rule_by_clicking_and_saves_it(live_server: str, page: Page, session: Session) -> None:
    shop = seed_shop(session)
    page.goto(live_server + "/login?next=%2Fsegments%2Fnew")
    page.get_by_label("Địa chỉ email").fill(shop.hanoi_manager.email)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_label("Tên", exact=True).fill("Khách Đà Nẵng mua nhiều")
    builder = page.locator(".rule-builder")
    expect(builder).to_be_visible()
    top = builder.locator("fieldset").first
    # Start from an empty "all of" group: remove the example's conditions.
    while top.locator(":scope > ol > li").count():
        top.locator(":scope > ol > li").first.get_by_role("button", name="Bỏ điều kiện").first.click()
    top.locator(":scope > p select").select_option("province")
    top.locator(":scope > p").get_by_role("button", name="Thêm điều kiện").click()
    province = top.get_by_label("Tỉnh/thành").last
    province.fill("Đà Nẵng")
    province.dispatch_event("change")
    top.locator(":scope > p").get_by_role("button", name="Thêm nhóm").click()
    inner = top.locator("fieldset").first
    inner.locator(":scope > p select").select_option("orders")
    inner.locator(":scope > p").get_by_role("button", name="Thêm điều kiện").click()
    value = inner.get_by_label("Giá trị").last
    value.fill("3")
    value.dispatch_event("change")
    definition = json.loads(page.locator("#segment-definition").input_value())
    assert definition == {"all": [{"province": "Đà Nẵng"},
                                  {"any": [{"orders": "count", "op": "gte", "value": 3, "days": 365}]}]}
    page.get_by_role("button", name="Xem trước").click()
    expect(page.get_by_role("heading", name="Xem trước: 0")).to_be_visible()
    page.get_by_role("button", name="Lưu phân khúc").click()
    page.wait_for_url("**/segments/*")
    session.rollback()
    saved = session.scalar(select(Segment).where(Segment.name == "Khách Đà Nẵng mua nhiều"))
    assert saved is not None and saved.definition == definition
