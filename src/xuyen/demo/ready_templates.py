"""The message templates the ready-made journeys add to the shop's own (``message_templates``): suggestions after a
purchase that leave out what was bought, a coupon to use in a store, the win-back pair, care after an alteration, an
offer near the Hàng Gai store and the delivery notice. Vietnamese, for the channels each one fits."""

from __future__ import annotations

from typing import Any

_SIGNATURE = "<p>Lụa Mây · <a href=\"https://luamay.vn\">luamay.vn</a> · Hotline 1900 6868</p>"
HELLO = "<p>Chào {{ profile.first_name|default('bạn') }},</p>\n"

# Products the shop suggests after a purchase, in this order; the message shows the first three the order did not
# hold (by SKU), so it never offers what the customer has just bought.
SUGGESTIONS: tuple[tuple[str, str, int], ...] = (
    ("KL-DA-02", "Khăn lụa dài vẽ tay hoa sen", 690_000),
    ("PK-CV-01", "Cà vạt lụa tơ tằm", 350_000),
    ("SM-LU-01", "Sơ mi lụa nữ tay dài", 890_000),
    ("QU-LU-01", "Quần lụa ống suông", 750_000),
    ("KL-VU-01", "Khăn lụa vuông họa tiết chim Lạc", 450_000),
)
_SUGGESTED = "[" + ", ".join(f"{{'sku': '{sku}', 'name': '{name}', 'price': {price}}}"
                            for sku, name, price in SUGGESTIONS) + "]"
_NOT_BOUGHT = ("{% set bought = products|map(attribute='sku')|list %}"
               "{% set picks = (" + _SUGGESTED + ")|rejectattr('sku', 'in', bought)|list %}")

SUGGEST_AFTER_PURCHASE: dict[str, Any] = {
    "email": {
        "subject": "{{ profile.first_name|default('Bạn') }} ơi, vài món hợp với đơn hàng vừa rồi",
        "html": _NOT_BOUGHT + HELLO +
                "<p>Mong bạn đã ưng đơn hàng <b>{{ event.properties.order_id }}</b>. Nếu muốn phối thêm, "
                "Lụa Mây gợi ý:</p>\n<ul>\n{% for p in picks[:3] %}<li>{{ p.name }} — {{ p.price|money }}</li>\n"
                "{% endfor %}</ul>\n" + _SIGNATURE},
    "sms": {"text": _NOT_BOUGHT + "Lua May goi y phoi cung don {{ event.properties.order_id }}: "
                    "{% for p in picks[:2] %}{{ p.name }}{% if not loop.last %}, {% endif %}{% endfor %}. luamay.vn",
            "strip_accents": True},
    "zalo_oa": {"text": _NOT_BOUGHT + "Chào {{ profile.first_name|default('bạn') }}! Phối cùng đơn "
                        "{{ event.properties.order_id }}, Lụa Mây gợi ý: "
                        "{% for p in picks[:3] %}{{ p.name }}{% if not loop.last %}, {% endif %}{% endfor %}."},
}

STORE_COUPON: dict[str, Any] = {
    "email": {
        "subject": "Mã giảm 10% khi ghé cửa hàng Lụa Mây",
        "html": HELLO + "<p>Bạn thường mua online tại Lụa Mây. Ghé một trong ba cửa hàng (Hàng Gai, Bạch Đằng, "
                "Đồng Khởi) để sờ tận tay lụa tơ tằm và được may đo miễn phí; đưa mã <b>{{ coupon }}</b> cho "
                "thu ngân để được giảm 10%. Mã chỉ dùng tại cửa hàng, trong 30 ngày.</p>\n" + _SIGNATURE},
}

MISS_YOU: dict[str, Any] = {
    "email": {
        "subject": "Lâu rồi không gặp {{ profile.first_name|default('bạn') }}",
        "html": HELLO + "<p>Đã lâu bạn chưa ghé Lụa Mây. Bộ sưu tập áo dài Tết và khăn lụa vẽ tay mới đã về, "
                "mời bạn xem tại <a href=\"https://luamay.vn/moi-ve\">luamay.vn/moi-ve</a>.</p>\n" + _SIGNATURE},
    "sms": {"text": "Lua May: {{ profile.first_name|default('Ban') }} oi, lau roi chua gap ban! Bo suu tap "
                    "ao dai Tet moi da ve: luamay.vn/moi-ve", "strip_accents": True},
    "zalo_oa": {"text": "Chào {{ profile.first_name|default('bạn') }}, lâu rồi không gặp! Áo dài Tết và khăn lụa "
                        "vẽ tay mới đã về, bạn xem tại luamay.vn/moi-ve nhé."},
}

COME_BACK: dict[str, Any] = {
    "email": {
        "subject": "Một món quà để {{ profile.first_name|default('bạn') }} quay lại Lụa Mây",
        "html": HELLO + "<p>Lụa Mây gửi bạn mã <b>{{ coupon }}</b> giảm 10% cho đơn tiếp theo, online hay tại "
                "cửa hàng, trong 14 ngày.</p>\n" + _SIGNATURE},
    "sms": {"text": "Lua May tang {{ profile.first_name|default('ban') }} ma {{ coupon }} giam 10% don tiep "
                    "theo, dung trong 14 ngay. luamay.vn", "strip_accents": True},
    "zalo_oa": {"text": "Lụa Mây tặng {{ profile.first_name|default('bạn') }} mã {{ coupon }} giảm 10% cho đơn "
                        "tiếp theo, dùng trong 14 ngày."},
}

CARE_AFTER_ALTERATION: dict[str, Any] = {
    "email": {
        "subject": "Giữ chiếc áo dài vừa sửa luôn đẹp",
        "html": HELLO + "<p>Cửa hàng {{ event.properties.store_code }} đã {{ event.properties.service|lower }} "
                "cho bạn. Vài lưu ý để áo giữ dáng: giặt tay nước lạnh, không vắt; phơi trong bóng râm; là ở "
                "nhiệt độ thấp từ mặt trái; treo bằng móc vai tròn. Nếu áo chưa vừa, cửa hàng sửa lại miễn phí "
                "trong 30 ngày.</p>\n" + _SIGNATURE},
    "sms": {"text": "Lua May: ao dai da sua cua ban: giat tay nuoc lanh, phoi trong bong ram, la mat trai. "
                    "Chua vua? Sua lai mien phi trong 30 ngay.", "strip_accents": True},
    "zalo_oa": {"text": "Chào {{ profile.first_name|default('bạn') }}! Áo dài vừa sửa: giặt tay nước lạnh, phơi "
                        "trong bóng râm, là mặt trái ở nhiệt độ thấp. Chưa vừa ý, cửa hàng sửa lại miễn phí trong "
                        "30 ngày."},
}

NEAR_STORE: dict[str, Any] = {
    "email": {
        "subject": "Cuối tuần này ở Lụa Mây Hàng Gai, gần nhà bạn",
        "html": HELLO + "<p>Bạn ở gần cửa hàng Lụa Mây Hàng Gai. Cuối tuần này cửa hàng mời trà và may đo áo "
                "dài miễn phí, khách mua tại cửa hàng được giảm 5%.</p>\n" + _SIGNATURE},
    "sms": {"text": "Lua May Hang Gai (gan ban): cuoi tuan nay moi tra, may do ao dai mien phi, giam 5% khi mua "
                    "tai cua hang.", "strip_accents": True},
    "zalo_oa": {"text": "Lụa Mây Hàng Gai ở gần bạn: cuối tuần này mời trà, may đo áo dài miễn phí và giảm 5% "
                        "khi mua tại cửa hàng."},
}

DELIVERED: dict[str, Any] = {
    "email": {
        "subject": "Đơn hàng {{ event.properties.order_id }} đã giao",
        "html": HELLO + "<p>Đơn hàng <b>{{ event.properties.order_id }}</b> đã được giao. Có gì chưa ổn, bạn "
                "trả lời thư này hoặc gọi 1900 6868.</p>\n" + _SIGNATURE},
    "sms": {"text": "Lua May: Don {{ event.properties.order_id }} da giao. Can ho tro: 1900 6868.",
            "strip_accents": True},
    "zalo_oa": {"text": "Đơn hàng {{ event.properties.order_id }} của {{ profile.first_name|default('bạn') }} đã "
                        "được giao. Cần hỗ trợ, bạn nhắn cho Lụa Mây nhé."},
}

# name, purpose, description, variants
TEMPLATES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("Gợi ý sau mua hàng", "marketing", "Gợi ý món phối cùng, không bao giờ gợi ý món khách vừa mua.",
     SUGGEST_AFTER_PURCHASE),
    ("Mã giảm giá chỉ dùng tại cửa hàng", "marketing", "Gửi khách mua online để mời ghé cửa hàng.", STORE_COUPON),
    ("Lâu rồi không gặp", "marketing", "Lần nhắn đầu cho khách lâu không mua.", MISS_YOU),
    ("Quà để quay lại", "marketing", "Lần nhắn thứ hai, kèm mã giảm giá.", COME_BACK),
    ("Bảo quản áo dài sau khi sửa", "care", "Gửi một ngày sau khi cửa hàng sửa áo cho khách.",
     CARE_AFTER_ALTERATION),
    ("Ưu đãi gần cửa hàng Hàng Gai", "marketing", "Gửi khách ở gần cửa hàng.", NEAR_STORE),
    ("Đơn hàng đã giao", "transactional", "Gửi khi hãng vận chuyển báo đã giao.", DELIVERED),
)
