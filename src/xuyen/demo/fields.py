"""The demo shop's custom fields: what a fashion shop records about its customers beyond the usual (size,
interests, a wedding anniversary, a monthly budget, a note), what the sales staff ask a lead (how they heard of
the shop, their budget, the products they look at) and agree on a deal (payment, delivery date, a delivery note),
with values for a part of the customers. The leads and deals steps fill in the lead and deal fields."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.demo.registry import DemoContext, demo_step
from xuyen.fields import service
from xuyen.fields.service import OptionSpec
from xuyen.identity.models import Profile

STEP = "trường tùy chỉnh"
ACTOR = "demo"
SHARE_WITH_VALUES = 0.4
SIZES = (("s", "S"), ("m", "M"), ("l", "L"), ("xl", "XL"))
INTERESTS = (("ao_dai", "Áo dài", "Áo dài"), ("tui_xach", "Túi xách", "Handbags"), ("giay", "Giày", "Shoes"),
             ("phu_kien", "Phụ kiện", "Accessories"), ("do_cong_so", "Đồ công sở", "Office wear"))
BUDGETS = (500_000, 1_000_000, 1_500_000, 2_000_000, 3_500_000, 5_000_000)
LEAD_PRODUCTS = (("ao_dai", "Áo dài", "Áo dài"), ("vay_cuoi", "Váy cưới", "Wedding dresses"),
                 ("do_cong_so", "Đồ công sở", "Office wear"), ("dong_phuc", "Đồng phục", "Uniforms"),
                 ("phu_kien", "Phụ kiện", "Accessories"))
NOTES = ("Thích được tư vấn qua Zalo", "Hay mua quà tặng vợ", "Chỉ mua khi có khuyến mãi",
         "Khách quen chi nhánh Hà Nội", "Cần gọi trước khi giao hàng")


def _fields(session: Session) -> None:
    service.add_field(session, entity="customer", key="size_ao", label_vi="Size áo", label_en="Shirt size",
                      kind="choice", actor=ACTOR, options=[OptionSpec(key, label) for key, label in SIZES])
    service.add_field(session, entity="customer", key="so_thich", label_vi="Sở thích", label_en="Interests",
                      kind="multi_choice", actor=ACTOR,
                      options=[OptionSpec(key, vi, en) for key, vi, en in INTERESTS])
    service.add_field(session, entity="customer", key="ngay_ky_niem", label_vi="Ngày kỷ niệm cưới",
                      label_en="Wedding anniversary", kind="date", actor=ACTOR)
    service.add_field(session, entity="customer", key="ngan_sach_thang", label_vi="Ngân sách mỗi tháng (đ)",
                      label_en="Monthly budget (VND)", kind="number", actor=ACTOR)
    service.add_field(session, entity="customer", key="ghi_chu_nv", label_vi="Ghi chú của nhân viên",
                      label_en="Staff note", kind="text", actor=ACTOR)
    service.add_field(session, entity="lead", key="biet_qua", label_vi="Biết đến cửa hàng qua",
                      label_en="Heard of us via", kind="choice", actor=ACTOR,
                      options=[OptionSpec("ban_be", "Bạn bè", "Friends"), OptionSpec("facebook", "Facebook"),
                               OptionSpec("tiktok", "TikTok"), OptionSpec("di_ngang", "Đi ngang qua", "Walked past")])
    service.add_field(session, entity="lead", key="ngan_sach", label_vi="Ngân sách (đ)", label_en="Budget (VND)",
                      kind="number", actor=ACTOR)
    service.add_field(session, entity="lead", key="san_pham_quan_tam", label_vi="Sản phẩm quan tâm",
                      label_en="Products of interest", kind="multi_choice", actor=ACTOR,
                      options=[OptionSpec(key, vi, en) for key, vi, en in LEAD_PRODUCTS])
    service.add_field(session, entity="deal", key="thanh_toan", label_vi="Hình thức thanh toán",
                      label_en="Payment method", kind="choice", actor=ACTOR,
                      options=[OptionSpec("tien_mat", "Tiền mặt", "Cash"), OptionSpec("chuyen_khoan", "Chuyển khoản",
                                                                                      "Bank transfer"),
                               OptionSpec("tra_gop", "Trả góp", "Instalments")])
    service.add_field(session, entity="deal", key="ngay_giao", label_vi="Ngày giao mong muốn",
                      label_en="Wanted delivery date", kind="date", actor=ACTOR)
    service.add_field(session, entity="deal", key="ghi_chu_giao", label_vi="Ghi chú giao hàng",
                      label_en="Delivery note", kind="text", actor=ACTOR)


def _values(rng: random.Random) -> dict[str, Any]:
    values: dict[str, Any] = {"size_ao": rng.choice(SIZES)[0],
                              "so_thich": sorted(key for key, _vi, _en in rng.sample(INTERESTS, rng.randint(1, 3)))}
    if rng.random() < 0.5:
        values["ngan_sach_thang"] = rng.choice(BUDGETS)
    if rng.random() < 0.3:
        values["ngay_ky_niem"] = (date(2015, 1, 1) + timedelta(days=rng.randint(0, 3650))).isoformat()
    if rng.random() < 0.2:
        values["ghi_chu_nv"] = rng.choice(NOTES)
    return values


@demo_step(STEP, order=56)
def add_custom_fields(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The fields, and values for about 40 % of the customers."""
    _fields(session)
    profiles = list(session.scalars(select(Profile.id).where(Profile.merged_into_id.is_(None)).order_by(Profile.id)))
    chosen = sorted(rng.sample(profiles, int(len(profiles) * SHARE_WITH_VALUES)))
    for profile_id in chosen:
        service.apply_values(session, entity="customer", entity_id=profile_id, values=_values(rng), form=False,
                             actor=ACTOR)
    context.extra[STEP] = {"customers_with_values": len(chosen)}
