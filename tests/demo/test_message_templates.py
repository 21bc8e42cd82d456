"""The demo's message templates: each renders on every channel for a demo customer, in Vietnamese."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.customers.models import CustomerProfile
from xuyen.demo.service import load_demo, load_steps
from xuyen.journeys.templates import service

EVENTS = {
    "Nhắc giỏ hàng bỏ quên": {"name": "Checkout Started", "properties": {"coupon": "GIOHANG10", "products": [
        {"sku": "AD-LUA-01", "name": "Áo dài lụa tơ tằm", "price": 1850000, "url": "https://luamay.vn/ao-dai"}]}},
    "Chăm sóc sau mua hàng": {"name": "Order Completed", "properties": {"order_id": "LM10245", "total": 2150000}},
    "Quà sinh nhật": None,
    "Cập nhật trạng thái đơn hàng": {"name": "Order Shipped", "properties": {
        "order_id": "LM10245", "total": 2150000, "status": "đang được giao"}},
}


def test_every_demo_template_renders_for_a_demo_customer(session: Session) -> None:
    wanted = {"cửa hàng", "nguồn", "nhân viên", "khách hàng", "hồ sơ khách hàng", "mẫu tin nhắn"}
    load_demo(session, seed=2026, steps=[step for step in load_steps() if step.name in wanted])
    session.rollback()
    templates = service.list_templates(session)
    assert {t.name for t in templates} == set(EVENTS)
    assert {t.purpose for t in templates} == {"marketing", "care", "transactional"}
    someone = session.scalars(select(CustomerProfile).where(CustomerProfile.display_name != "")
                              .order_by(CustomerProfile.profile_id)).first()
    assert someone is not None
    for template in templates:
        for channel in template.variants:
            rendered = service.render(session, template_id=template.id, channel=channel,
                                      profile_id=someone.profile_id, event=EVENTS[template.name])
            assert rendered.ok, (template.name, channel, rendered.problems)
            if channel == "sms":
                assert rendered.sms is not None and rendered.sms.sent.encoding == "GSM-7"
