"""The message template pages: list, editor, saving with bad input and stale versions, permissions, preview."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api_client import Browser, agent, manager  # noqa: F401
from tests.journeys.templates.helpers import ACTOR, ORDER_VARIANTS, customer
from xuyen.journeys.templates import service
from xuyen.journeys.templates.models import MessageTemplate

PAGE = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
FORM = {"name": "Chúc mừng sinh nhật", "purpose": "marketing",
        "email_subject": "Chúc mừng sinh nhật {{ profile.first_name }}",
        "email_html": "<p>Tặng bạn mã {{ coupon|default('SINHNHAT') }}</p>",
        "sms_text": "Xuyên chúc {{ profile.first_name }} sinh nhật vui vẻ! Mã quà: {{ coupon|default('SINHNHAT') }}, "
                    "giảm 20% cho đơn từ {{ 500000|money }} đến hết tháng này.",
        "sms_strip": "1", "zns_template_id": "300100",
        "zns_params": "customer_name = {{ profile.name }}\nvoucher = {{ coupon|default('SINHNHAT') }} | 20"}


def _get(browser: Browser, path: str, **params: Any) -> httpx.Response:
    return browser.client.get(path, params=params, headers=PAGE, follow_redirects=False)


def _post(browser: Browser, path: str, data: dict[str, str]) -> httpx.Response:
    return browser.client.post(path, content=urlencode([("csrf_token", browser.csrf), *data.items()]),
                               headers={**PAGE, "content-type": "application/x-www-form-urlencoded"},
                               follow_redirects=False)


def test_a_manager_writes_a_template_and_previews_it_for_a_customer(session: Session, manager: Browser) -> None:  # noqa: F811
    assert "Mẫu tin nhắn" in _get(manager, "/templates").text
    assert _get(manager, "/templates/new").status_code == 200
    saved = _post(manager, "/templates", FORM)
    assert saved.status_code == 303, saved.text
    template: MessageTemplate = session.scalars(select(MessageTemplate)).one()
    assert template.variants["zns"]["params"] == [
        {"name": "customer_name", "value": "{{ profile.name }}", "max_length": 30},
        {"name": "voucher", "value": "{{ coupon|default('SINHNHAT') }}", "max_length": 20}]
    assert template.variants["sms"]["strip_accents"] is True and "messenger" not in template.variants
    listed = _get(manager, "/templates").text
    assert "Chúc mừng sinh nhật" in listed
    customer(session)
    page = _get(manager, saved.headers["location"], customer="Nguyễn Thị Lan")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Chúc mừng sinh nhật Lan" in text
    assert "Xuyen chuc Lan sinh nhat vui ve! Ma qua: SINHNHAT, giam 20% cho don tu 500.000 VND" in text
    assert 'data-encoding="GSM-7"' in page.text and "Gửi không dấu tiết kiệm 1 tin" in text
    assert "Nguyễn Thị Lan" in text and "300100" in text
    missing = _get(manager, saved.headers["location"], customer="không có ai")
    assert "Không tìm thấy khách hàng" in html.unescape(missing.text)


def test_refused_saves_keep_what_was_typed(session: Session, manager: Browser) -> None:  # noqa: F811
    broken = _post(manager, "/templates", {**FORM, "sms_text": "Chào\n{{ profile.name "})
    assert broken.status_code == 422
    assert "sms.text: Line 2" in html.unescape(broken.text) and "Chào" in broken.text
    assert session.scalar(select(func.count()).select_from(MessageTemplate)) == 0
    assert _post(manager, "/templates", {"name": "Trống", "purpose": "care"}).status_code == 422
    template = service.create_template(session, name="Đơn hàng", purpose="transactional", variants=ORDER_VARIANTS,
                                       actor=ACTOR)
    service.update_template(session, template_id=template.id, expected_version=1, actor=ACTOR, description="x")
    stale = _post(manager, f"/templates/{template.id}", {**FORM, "name": "Đơn hàng", "version": "1"})
    assert stale.status_code == 409
    assert "Có người đã lưu mẫu này" in html.unescape(stale.text)
    fresh = _post(manager, f"/templates/{template.id}", {**FORM, "name": "Đơn hàng", "version": "2"})
    assert fresh.status_code == 303
    session.expire_all()
    assert service.get_template(session, template_id=template.id).version == 3


def test_agents_read_and_preview_but_do_not_edit(session: Session, agent: Browser) -> None:  # noqa: F811
    template = service.create_template(session, name="Đơn hàng", purpose="transactional", variants=ORDER_VARIANTS,
                                       actor=ACTOR)
    page = _get(agent, f"/templates/{template.id}")
    assert page.status_code == 200 and "<fieldset disabled>" in page.text
    assert 'href="/templates/new"' not in _get(agent, "/templates").text
    customer(session)
    shipped = '{"name": "Order Shipped", "properties": {"order_id": "DH7", "total": 99000}}'
    shown = html.unescape(_get(agent, f"/templates/{template.id}", customer="0912 345 678", event=shipped).text)
    assert "Lan ơi, đơn DH7 đang được giao" in shown and "99.000 ₫" in shown
    bad = html.unescape(_get(agent, f"/templates/{template.id}", customer="Lan", event="[1, 2]").text)
    assert "Sự kiện mẫu không phải là một đối tượng JSON." in bad
    assert _get(agent, "/templates/new").status_code == 403
    assert _post(agent, f"/templates/{template.id}", {**FORM, "version": "1"}).status_code == 403
    assert _post(agent, f"/templates/{template.id}/archive", {}).status_code == 403
    assert _get(agent, "/templates/999").status_code == 404
