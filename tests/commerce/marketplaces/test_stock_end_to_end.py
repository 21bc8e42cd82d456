"""Stock pushes driven by the stock domain itself: goods received, a channel buffer, a sale at a till, each
changing what Shopee may sell; the worker turns the stock events into one push of the latest value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.commerce.marketplaces.conftest import SHOP, Contracts, connect_shopee, list_variant, make_variant
from tests.fakes.shopee import FakeShopee

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import stock_sync
from xuyen.commerce.marketplaces.models import StockPush, StockPushState
from xuyen.commerce.stock import buffers, locations, moves
from xuyen.commerce.stock import service as stock
from xuyen.commerce.stock.models import LocationKind
from xuyen.commerce.stock.service import StockLine
from xuyen.worker import Worker


def _push_due(session: Session, connection_id: int) -> stock_sync.PushSummary:
    session.rollback()
    summary = stock_sync.send_stock_pushes(session, connection_id=connection_id,
                                           now=datetime.now(UTC) + timedelta(seconds=6))
    session.commit()
    return summary


def test_what_shopee_may_sell_follows_the_stock_domain(engine: Engine, session: Session,
                                                       shopee: tuple[FakeShopee, str], real_stock: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    variant = make_variant(session, "AT-DEN-M")
    listing = list_variant(session, variant, channel=SalesChannel.shopee, account=str(SHOP), item_id="1001",
                           model_id="5001")
    fake.stock[SHOP][(1001, 5001)] = 0
    warehouse = locations.create(session, code="KHO-HCM", name="Kho Thủ Đức", kind=LocationKind.warehouse)
    store = locations.create(session, code="CH-Q1", name="Cửa hàng Quận 1", kind=LocationKind.store, ships=False)

    moves.receive(session, location_id=warehouse.id, lines=[StockLine(variant.id, 20)], actor="test")
    moves.receive(session, location_id=store.id, lines=[StockLine(variant.id, 7)], actor="test")  # not shipped
    buffers.set_buffer(session, channel=SalesChannel.shopee, quantity=3, variant_id=variant.id, actor="test")
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    [row] = session.scalars(select(StockPush)).all()
    assert row.listing_id == listing.id and row.state == StockPushState.pending and row.generation == 3

    assert _push_due(session, connection.id).sent == {listing.id: 17}  # the warehouse's 20 less the buffer
    assert fake.stock[SHOP][(1001, 5001)] == 17
    assert len(fake.calls_to("/api/v2/product/update_stock")) == 1

    stock.reserve(session, reference="WEB-1", lines=[StockLine(variant.id, 2)], channel=SalesChannel.web,
                  actor="test", expires_at=None)
    session.commit()
    Worker(engine=engine, periodic=False).run_until_idle()
    assert _push_due(session, connection.id).sent == {listing.id: 15}
    assert fake.stock[SHOP][(1001, 5001)] == 15
