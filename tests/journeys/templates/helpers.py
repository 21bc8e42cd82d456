"""Message template test helpers: the variants of a shop's order-status template, and a customer to send it to."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from tests.customers.duplicates.helpers import add_customer
from xuyen.customers.models import CustomerProfile

ACTOR = "user:1 quanly@shop.vn"

ORDER_VARIANTS: dict[str, Any] = {
    "email": {"subject": "{{ profile.first_name }} ơi, đơn {{ event.properties.order_id }} đang được giao",
              "html": "<p>Chào {{ profile.name|first_name }},</p><p>Đơn hàng <b>{{ event.properties.order_id }}</b> "
                      "trị giá {{ event.properties.total|money }} đang trên đường giao.</p>"
                      "{% for p in products %}<p><a href=\"{{ p.url }}\">{{ p.name }}</a> {{ p.price|money }}</p>"
                      "{% endfor %}"},
    "sms": {"text": "Xuyên: Chào {{ profile.first_name }}, đơn {{ event.properties.order_id }} "
                    "({{ event.properties.total|money }}) đang được giao, dự kiến {{ event.properties.eta|date }}.",
            "strip_accents": True},
    "zns": {"template_id": "231677", "params": [
        {"name": "customer_name", "value": "{{ profile.name }}", "max_length": 30},
        {"name": "order_code", "value": "{{ event.properties.order_id }}"},
        {"name": "amount", "value": "{{ event.properties.total|money }}", "max_length": 20}]},
    "messenger": {"text": "Chào {{ profile.first_name }}! Đơn {{ event.properties.order_id }} đang được giao."},
    "zalo_oa": {"text": "Chào {{ profile.first_name }}! Đơn {{ event.properties.order_id }} đang được giao."},
}

SHIPPED = {"name": "Order Shipped", "properties": {
    "order_id": "DH1024", "total": 1250000, "eta": "2026-12-08T17:30:00Z",
    "products": [{"sku": "AO-TRANG-M", "name": "Áo sơ mi trắng", "price": 450000, "url": "https://shop.vn/ao"},
                 {"sku": "QUAN-DEN-30", "name": "Quần tây đen", "price": 800000, "url": "https://shop.vn/quan"}]}}


def customer(session: Session, *, name: str = "Nguyễn Thị Lan", traits: dict[str, Any] | None = None) -> int:
    """A committed customer with a phone and e-mail (and ``traits``); the profile id."""
    profile_id = add_customer(session, name=name, birth_date=date(1992, 3, 8), phone="0912 345 678",
                              email="lan.nguyen@gmail.com")
    if traits:
        row = session.get(CustomerProfile, profile_id)
        assert row is not None
        row.traits = traits
        session.commit()
    return profile_id
