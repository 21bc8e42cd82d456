"""The shop's prices and promotions: the catalogue's retail prices on the base list, a Shopee price, an end-of-season
price in one store, and the promotions a Vietnamese fashion chain runs (a category sale, buy two get one,
a spend threshold with a gift, a store-only discount, a discount for the top loyalty tiers and a Tết coupon).

Leaves ``context.extra["pricing"]``: ``promotions`` (id by name) and ``coupon`` (the Tết code).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.pricing import admin, prices, promotions
from xuyen.demo.registry import DemoContext, demo_step

STEP = "giá và khuyến mãi"
ACTOR = "demo"
COUPON = "TET2027"


def _promotions(categories: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"name": "Giảm 15% áo sơ mi", "kind": "percent", "scope": "categories",
         "targets": [categories["Áo sơ mi"]], "params": {"percent": 15}, "stack_group": "giam-theo-danh-muc"},
        {"name": "Mua 2 tặng 1 áo thun", "kind": "buy_x_get_y", "scope": "categories",
         "targets": [categories["Áo thun"]], "params": {"buy": 2, "get": 1}},
        {"name": "Đơn từ 1.500.000đ tặng túi tote", "kind": "threshold",
         "params": {"min_subtotal": 1_500_000, "gift_sku": "PK002-BE"}},
        {"name": "Đơn từ 800.000đ giảm 50.000đ", "kind": "threshold", "params": {"min_subtotal": 800_000,
                                                                               "amount": 50_000}},
        {"name": "Khách mua tại cửa hàng giảm 5%", "kind": "percent", "params": {"percent": 5},
         "channels": ["pos"], "priority": -10},
        {"name": "Hạng Vàng và Kim cương giảm thêm 5%", "kind": "percent", "params": {"percent": 5},
         "tiers": ["gold", "diamond"], "priority": -20},
        {"name": "Mã TET2027 giảm 100.000đ", "kind": "fixed", "params": {"amount": 100_000},
         "requires_coupon": True},
    ]


@demo_step(STEP, order=64)
def add_pricing(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Base prices from the catalogue, two overrides, seven promotions and the Tết coupon."""
    catalogue: dict[str, Any] = context.extra["catalogue"]
    admin.add_defaults(session)  # the migration makes them; a database emptied since has none
    price_list = prices.base_price_list(session)
    admin.add_prices(session, price_list_id=price_list.id, amounts={}, actor=ACTOR,
                     sku_amounts=dict(catalogue["prices"]))
    admin.add_override(session, changes={"channel": "shopee", "kind": "percent", "percent": 8, "round_to": 1000,
                                         "reason": "Bù phí sàn Shopee"}, actor=ACTOR)
    clearance = rng.choice(sorted(sku for sku in catalogue["variants"] if sku.startswith("QJ003")))
    store = context.stores["HN01"]
    admin.add_override(session, changes={"variant_id": catalogue["variants"][clearance], "store_id": store.id,
                                         "kind": "fixed", "amount": 390_000, "reason": "Xả hàng cuối mùa",
                                         "ends_at": utcnow() + timedelta(days=30)}, actor=ACTOR)
    made = {spec["name"]: promotions.add_promotion(session, changes=spec, actor=ACTOR).id
            for spec in _promotions(catalogue["categories"])}
    promotions.add_coupon(session, promotion_id=made["Mã TET2027 giảm 100.000đ"], code=COUPON, max_uses=500,
                          per_customer_limit=1, actor=ACTOR)
    context.extra["pricing"] = {"promotions": made, "coupon": COUPON}
