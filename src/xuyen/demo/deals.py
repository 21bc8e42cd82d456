"""The demo shop's sales pipeline: deals for customers in every stage of the default pipeline, with products from
the catalogue, owned by the stores' staff; a few lost with a reason, a few won and two of those made into orders."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.clock import utcnow
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.errors import Conflict
from xuyen.fields import service as field_service
from xuyen.identity.models import Profile, ProfileIdentifier
from xuyen.sales.deals import pipelines, service
from xuyen.sales.deals.converting import add_order_for
from xuyen.sales.deals.models import StageKind
from xuyen.sales.deals.service import Actor, LineWanted
from xuyen.sales.scope import SalesScope

STEP = "cơ hội bán hàng"
EVERYTHING = SalesScope(everything=True)
# How many deals end in each stage of the default pipeline, in its order.
PER_STAGE = {"Mới": 8, "Đã liên hệ": 7, "Báo giá": 7, "Thương lượng": 5, "Thắng": 6, "Thua": 4}
CONVERTED = 2
TITLES = ("Đồng phục nhân viên", "Quà Tết cho đối tác", "Áo dài lễ tân", "Trang phục sự kiện", "Đặt may áo nhóm",
          "Quà tặng khách hàng thân thiết", "Bộ sưu tập mùa cưới", "Đơn sỉ cho đại lý", "Áo thun in logo",
          "Trang phục hội nghị")


DELIVERY_NOTES = ("Giao giờ hành chính", "Gọi trước 30 phút", "Giao tại cửa hàng Hàng Gai", "Gói quà giúp khách")


@demo_step(STEP, order=92)
def add_deals(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Deals for customers who gave a phone, walked through the stages one by one so their history is real."""
    pipeline = pipelines.ensure_defaults(session)
    stages = {stage.name: stage for stage in pipelines.stages_of(session, pipeline_id=pipeline.id)}
    order = list(stages)
    staff = sorted((u for u in context.users.values() if u.role in (Role.agent, Role.manager)),
                   key=lambda user: user.email)
    customers = list(session.scalars(
        select(ProfileIdentifier.profile_id).join(Profile, Profile.id == ProfileIdentifier.profile_id)
        .where(ProfileIdentifier.type == "phone", Profile.merged_into_id.is_(None))
        .order_by(ProfileIdentifier.profile_id).distinct()))
    skus = _sellable(context)
    reasons = pipelines.lost_reasons(session)
    if not customers or not staff or not skus:
        return
    made, converted = 0, 0
    defined = {custom.key for custom in field_service.list_fields(session, entity="deal")}  # the fields step's
    for stage_name, count in PER_STAGE.items():
        for _ in range(count):
            owner = rng.choice(staff)
            actor = Actor(name=f"user:{owner.id}", user_id=owner.id)
            deal = service.add_deal(
                session, actor=actor, scope=EVERYTHING, title=f"{rng.choice(TITLES)} · {made + 1:02d}",
                profile_id=rng.choice(customers), owner_id=owner.id, store_id=owner.store_id,
                expected_close=(utcnow() + timedelta(days=rng.randint(-10, 45))).date(),
                lines=[LineWanted(sku=sku, quantity=rng.randint(1, 3)) for sku in rng.sample(skus, rng.randint(1, 3))],
                custom_values={key: value for key, value in _custom_values(random.Random(f"demo-deal-fields-{made}"))
                               .items() if key in defined})
            target = stages[stage_name]
            for name in order[1:order.index(stage_name) + 1]:
                if stages[name].kind is StageKind.open or name == stage_name:
                    service.apply_move(session, deal_id=deal.id, stage_id=stages[name].id, actor=actor,
                                       scope=EVERYTHING,
                                       lost_reason_id=rng.choice(reasons).id if stages[name].kind is StageKind.lost
                                       else None)
            if target.kind is StageKind.won and converted < CONVERTED:
                converted += _convert(session, deal.id, actor)
            made += 1
    context.extra[STEP] = {"deals": made, "orders": converted}


def _custom_values(own: random.Random) -> dict[str, Any]:
    """What was agreed with the customer: how they pay, when they want the goods, and sometimes a delivery note."""
    values: dict[str, Any] = {"thanh_toan": own.choice(("tien_mat", "chuyen_khoan", "chuyen_khoan", "tra_gop")),
                              "ngay_giao": (utcnow() + timedelta(days=own.randint(3, 40))).date().isoformat()}
    if own.random() < 0.3:
        values["ghi_chu_giao"] = own.choice(DELIVERY_NOTES)
    return values


def _convert(session: Session, deal_id: int, actor: Actor) -> int:
    """Make the won deal's order (1), or leave it won without one when the demo's stock is short (0)."""
    try:
        with session.begin_nested():
            add_order_for(session, deal_id=deal_id, actor=actor, scope=EVERYTHING)
    except Conflict:
        return 0
    return 1


def _sellable(context: DemoContext) -> list[str]:
    """SKUs with a price that the demo's stock can cover for a few units."""
    found = context.extra.get("catalogue", {})
    return sorted(sku for sku in found.get("variants", {}) if found.get("prices", {}).get(sku))[:40]
