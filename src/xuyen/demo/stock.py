"""The demo shop's stock: goods in at the central warehouse and the three stores, a few variants running low or
sold out, the marketplace buffers (2 units off Shopee, 1 off Lazada) and two transfers, one still on the road.

Leaves in ``context.extra["stock"]``: ``sold_out`` and ``low`` (SKUs), ``transfers`` (ids)."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import buffers, moves
from xuyen.commerce.stock.models import Location
from xuyen.commerce.stock.service import StockLine
from xuyen.demo.registry import DemoContext, demo_step

STEP = "tồn kho"
ACTOR = "demo"
SOLD_OUT = 6
LOW = 8
BUFFERS = {SalesChannel.shopee: 2, SalesChannel.lazada: 1}


@demo_step(STEP, order=62)
def add_stock(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Goods in everywhere, some variants low or sold out, channel buffers and transfers."""
    variants: dict[str, int] = context.extra["catalogue"]["variants"]
    places: dict[str, Location] = context.extra["locations"]
    skus = sorted(variants)
    picked = rng.sample(skus, SOLD_OUT + LOW)
    sold_out, low = set(picked[:SOLD_OUT]), set(picked[SOLD_OUT:])
    warehouse = next(place for place in places.values() if place.store_id is None)
    stores = sorted((place for place in places.values() if place.store_id is not None), key=lambda p: p.code)
    for place in [warehouse, *stores]:
        lines = [StockLine(variants[sku], _quantity(rng, sku, at_warehouse=place is warehouse, sold_out=sold_out,
                                                    low=low))
                 for sku in skus]
        moves.add_receipt(session, location_id=place.id, lines=[line for line in lines if line.quantity > 0],
                          actor=ACTOR, reference=f"PN-{place.code}-001", reason="Nhập hàng đầu mùa")
    for channel, quantity in BUFFERS.items():
        buffers.put_buffer(session, channel=channel, quantity=quantity, actor=ACTOR)
    plenty = [sku for sku in skus if sku not in sold_out and sku not in low]
    arrived = moves.add_transfer(session, from_location_id=warehouse.id, to_location_id=stores[0].id,
                                 lines=[StockLine(variants[sku], 3) for sku in plenty[:2]], actor=ACTOR,
                                 reason="Bổ sung hàng cho cửa hàng", received=True)
    on_the_road = moves.add_transfer(session, from_location_id=warehouse.id, to_location_id=stores[-1].id,
                                     lines=[StockLine(variants[plenty[2]], 4)], actor=ACTOR,
                                     reason="Bổ sung hàng cho cửa hàng")
    context.extra["stock"] = {"sold_out": sorted(sold_out), "low": sorted(low),
                              "transfers": [arrived.id, on_the_road.id]}


def _quantity(rng: random.Random, sku: str, *, at_warehouse: bool, sold_out: set[str], low: set[str]) -> int:
    if sku in sold_out:
        return 0
    if sku in low:
        return rng.randint(1, 2) if at_warehouse else rng.choice((0, 0, 1))
    return rng.randint(20, 60) if at_warehouse else rng.randint(2, 12)
