"""The demo shop's message templates: the ones its journeys send (a cart left behind, care after a purchase, a
birthday coupon, an order's progress), written for e-mail, SMS, Zalo ZNS, Zalo OA and Messenger."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy.orm import Session

from xuyen.demo.registry import DemoContext, demo_step
from xuyen.journeys.templates.service import add_template

STEP = "mẫu tin nhắn"
ACTOR = "demo"

_SIGNATURE = "<p>Lụa Mây · <a href=\"https://luamay.vn\">luamay.vn</a> · Hotline 1900 6868</p>"

ABANDONED_CART: dict[str, Any] = {
    "email": {
        "subject": "{{ profile.first_name|default('Bạn') }} ơi, giỏ hàng của bạn vẫn đang chờ",
        "html": "<p>Chào {{ profile.first_name|default('bạn') }},</p>\n"
                "<p>Bạn còn để quên vài món trong giỏ hàng tại Lụa Mây:</p>\n<ul>\n"
                "{% for p in products %}<li><a href=\"{{ p.url|default('https://luamay.vn') }}\">{{ p.name }}</a>"
                " — {{ p.price|money }}</li>\n{% endfor %}</ul>\n"
                "{% if coupon is defined %}<p>Nhập mã <b>{{ coupon }}</b> để được giảm thêm 10%.</p>{% endif %}\n"
                "<p><a href=\"https://luamay.vn/gio-hang\">Hoàn tất đơn hàng</a></p>\n" + _SIGNATURE},
    "sms": {"text": "Lua May: {{ profile.first_name|default('Ban') }} oi, gio hang cua ban con "
                    "{{ products|length }} san pham. Hoan tat don tai luamay.vn/gio-hang"
                    "{% if coupon is defined %}, nhap ma {{ coupon }} giam 10%{% endif %}.",
            "strip_accents": True},
    "zalo_oa": {"text": "Chào {{ profile.first_name|default('bạn') }}! Giỏ hàng của bạn tại Lụa Mây vẫn còn "
                        "{{ products|length }} sản phẩm{% if products %}, như {{ products[0].name }}{% endif %}. "
                        "Hoàn tất đơn tại luamay.vn/gio-hang nhé."},
    "messenger": {"text": "Chào {{ profile.first_name|default('bạn') }}! Bạn còn để quên "
                          "{{ products|length }} sản phẩm trong giỏ hàng. Lụa Mây giữ hàng cho bạn đến hết hôm nay."},
}

POST_PURCHASE: dict[str, Any] = {
    "email": {
        "subject": "Cảm ơn {{ profile.first_name|default('bạn') }} đã mua sắm tại Lụa Mây",
        "html": "<p>Chào {{ profile.first_name|default('bạn') }},</p>\n"
                "<p>Cảm ơn bạn đã mua đơn hàng <b>{{ event.properties.order_id }}</b> trị giá "
                "{{ event.properties.total|money }}. Để lụa luôn mềm và bền màu, bạn nhớ giặt tay bằng nước "
                "lạnh và phơi nơi thoáng mát.</p>\n"
                "<p>Bạn thấy sản phẩm thế nào? <a href=\"https://luamay.vn/danh-gia\">Đánh giá ngay</a></p>\n"
                + _SIGNATURE},
    "zns": {"template_id": "310245", "params": [
        {"name": "customer_name", "value": "{{ profile.name }}", "max_length": 30},
        {"name": "order_code", "value": "{{ event.properties.order_id }}", "max_length": 30},
        {"name": "amount", "value": "{{ event.properties.total|money }}", "max_length": 20}]},
    "sms": {"text": "Lua May cam on ban da mua don {{ event.properties.order_id }}. Giat tay lua bang nuoc lanh, "
                    "phoi noi thoang mat de lua ben mau.", "strip_accents": True},
    "zalo_oa": {"text": "Lụa Mây cảm ơn {{ profile.first_name|default('bạn') }} đã mua đơn "
                        "{{ event.properties.order_id }}! Bạn cần tư vấn cách bảo quản lụa, cứ nhắn cho shop nhé."},
}

BIRTHDAY: dict[str, Any] = {
    "email": {
        "subject": "Chúc mừng sinh nhật {{ profile.first_name|default('bạn') }}! Lụa Mây tặng bạn một món quà",
        "html": "<p>Chúc mừng sinh nhật {{ profile.first_name|default('bạn') }}!</p>\n"
                "<p>Lụa Mây gửi tặng bạn mã <b>{{ coupon|default('SINHNHAT') }}</b> giảm 15% cho mọi đơn hàng, "
                "dùng đến hết tháng này.</p>\n" + _SIGNATURE},
    "sms": {"text": "Lụa Mây chúc mừng sinh nhật {{ profile.first_name|default('bạn') }}! Tặng bạn mã "
                    "{{ coupon|default('SINHNHAT') }} giảm 15% mọi đơn hàng đến hết tháng. luamay.vn",
            "strip_accents": True},
    "zns": {"template_id": "310246", "params": [
        {"name": "customer_name", "value": "{{ profile.name }}", "max_length": 30},
        {"name": "voucher_code", "value": "{{ coupon|default('SINHNHAT') }}", "max_length": 30}]},
}

ORDER_STATUS: dict[str, Any] = {
    "email": {
        "subject": "Đơn hàng {{ event.properties.order_id }}: {{ event.properties.status|default('đang xử lý') }}",
        "html": "<p>Chào {{ profile.first_name|default('bạn') }},</p>\n"
                "<p>Đơn hàng <b>{{ event.properties.order_id }}</b> ({{ event.properties.total|money }}) "
                "hiện {{ event.properties.status|default('đang xử lý') }}.</p>\n" + _SIGNATURE},
    "sms": {"text": "Lua May: Don {{ event.properties.order_id }} ({{ event.properties.total|money }}) "
                    "{{ event.properties.status|default('dang xu ly') }}. Tra cuu: luamay.vn/don-hang",
            "strip_accents": True},
    "zns": {"template_id": "310247", "params": [
        {"name": "customer_name", "value": "{{ profile.name }}", "max_length": 30},
        {"name": "order_code", "value": "{{ event.properties.order_id }}", "max_length": 30},
        {"name": "status", "value": "{{ event.properties.status|default('Đang xử lý') }}", "max_length": 30},
        {"name": "price", "value": "{{ event.properties.total|money }}", "max_length": 20}]},
    "zalo_oa": {"text": "Đơn hàng {{ event.properties.order_id }} của {{ profile.first_name|default('bạn') }} "
                        "{{ event.properties.status|default('đang được xử lý') }}."},
}

TEMPLATES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("Nhắc giỏ hàng bỏ quên", "marketing", "Gửi khi khách bắt đầu thanh toán mà chưa đặt hàng.", ABANDONED_CART),
    ("Chăm sóc sau mua hàng", "care", "Gửi vài ngày sau khi đơn hoàn tất: cảm ơn và cách bảo quản lụa.",
     POST_PURCHASE),
    ("Quà sinh nhật", "marketing", "Gửi vào ngày sinh nhật khách, kèm mã giảm giá.", BIRTHDAY),
    ("Cập nhật trạng thái đơn hàng", "transactional", "Gửi mỗi khi đơn hàng đổi trạng thái.", ORDER_STATUS),
)


@demo_step(STEP, order=98)
def add_message_templates(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The shop's message templates, one for each ready-made journey."""
    made = [add_template(session, name=name, purpose=purpose, description=description, variants=variants,
                         actor=ACTOR) for name, purpose, description, variants in TEMPLATES]
    context.extra[STEP] = {template.name: template.id for template in made}
