"""The demo's stock: goods in everywhere, some variants low or sold out, buffers, transfers."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.commerce.stock.checks import assert_consistent
from xuyen.commerce.catalogue.models import Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import buffers, moves, service
from xuyen.commerce.stock.models import StockLevel, TransferStatus
from xuyen.demo import stock as demo_stock
from xuyen.demo.service import load_demo, load_steps


def test_the_stock_step_runs_after_the_catalogue() -> None:
    names = [step.name for step in load_steps()]
    assert names.index(demo_stock.STEP) == names.index("sản phẩm") + 1


def test_the_demo_has_stock_low_and_sold_out_variants_buffers_and_transfers(session: Session) -> None:
    load_demo(session, seed=2026)
    ids = {sku: variant_id for variant_id, sku in session.execute(select(Variant.id, Variant.sku))}
    web = service.available_for_channel(session, channel=SalesChannel.web, variant_ids=list(ids.values()))
    shopee = service.available_for_channel(session, channel=SalesChannel.shopee, variant_ids=list(ids.values()))
    sold_out = [sku for sku, variant_id in ids.items() if web[variant_id] == 0]
    assert 6 <= len(sold_out) <= 12
    assert sum(1 for variant_id in ids.values() if 0 < web[variant_id] <= 10) >= 3
    plenty = [variant_id for variant_id in ids.values() if web[variant_id] > 20]
    assert plenty and all(shopee[variant_id] == web[variant_id] - 2 for variant_id in plenty)
    assert {(b.channel, b.quantity) for b in buffers.list_buffers(session)} == {("shopee", 2), ("lazada", 1)}
    assert sorted(t.status for t in moves.list_transfers(session)) == [TransferStatus.in_transit,
                                                                      TransferStatus.received]
    assert session.scalar(select(func.count(func.distinct(StockLevel.location_id)))) == 4
    assert_consistent(session)
