"""A Shopee order end to end, with the catalogue, stock and orders domains answering for themselves: the push
makes our order and holds its stock, Shopee is told what it may sell now, shipping consumes the stock, a
cancelled order gives it back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.commerce.marketplaces.conftest import (
    SELLER,
    SHOP,
    connect_lazada,
    connect_shopee,
    list_variant,
    make_variant,
)
from tests.fakes.lazada import FakeLazada, LazadaOrder
from tests.fakes.shopee import FakeShopee, ShopeeOrder

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import orders_sync, stock_sync
from xuyen.commerce.orders import service as orders
from xuyen.commerce.stock import locations, moves
from xuyen.commerce.stock import service as stock
from xuyen.commerce.stock.models import LocationKind
from xuyen.commerce.stock.service import StockLine
from xuyen.worker import Worker

HOST = "http://testserver"


def _push(client: TestClient, fake: FakeShopee, order_sn: str) -> None:
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    body, headers = fake.order_push(SHOP, order_sn, callback_url=HOST + path)
    assert client.post(path, content=body, headers=headers).status_code == 200


def _settle(engine: Engine, session: Session, connection_id: int) -> None:
    """Run the workers, then the coalesced stock push as if its few seconds had passed."""
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    stock_sync.send_stock_pushes(session, connection_id=connection_id, now=datetime.now(UTC) + timedelta(seconds=6))
    session.commit()


def test_a_shopee_order_holds_ships_and_gives_back_stock(client: TestClient, engine: Engine, session: Session,
                                                         shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    variant = make_variant(session, "AT-DEN-M")
    list_variant(session, variant, channel=SalesChannel.shopee, account=str(SHOP), item_id="1001", model_id="5001")
    fake.stock[SHOP][(1001, 5001)] = 0
    warehouse = locations.create(session, code="KHO", name="Kho tổng", kind=LocationKind.warehouse)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(variant.id, 10)], actor="test")
    _settle(engine, session, connection.id)
    assert fake.stock[SHOP][(1001, 5001)] == 10

    now = int(time.time())
    items = [{"item_id": 1001, "item_name": "Áo thun", "model_id": 5001, "model_name": "Đen, M", "model_sku": "",
              "model_quantity_purchased": 2, "model_original_price": 199000.0, "model_discounted_price": 179000.0}]
    fake.add_order(SHOP, ShopeeOrder(order_sn="2512060001ABC", status="READY_TO_SHIP", create_time=now - 600,
                                     update_time=now - 60, items=items, total_amount=388000.0,
                                     buyer_user_id=7_700_001, buyer_username="lan.nguyen"))
    _push(client, fake, "2512060001ABC")
    _settle(engine, session, connection.id)
    [order], _ = orders.list_orders(session, channel=SalesChannel.shopee)
    assert order.external_id == "2512060001ABC" and order.status.value == "placed" and order.total == 388_000
    assert stock.available_for_channel(session, channel=SalesChannel.shopee, variant_ids=[variant.id]) == \
        {variant.id: 8}
    assert fake.stock[SHOP][(1001, 5001)] == 8  # Shopee sells what is left, not what is on hand

    fake.orders[SHOP]["2512060001ABC"].status = "SHIPPED"
    fake.orders[SHOP]["2512060001ABC"].update_time = now
    _push(client, fake, "2512060001ABC")
    _settle(engine, session, connection.id)
    session.rollback()
    assert orders.get_order(session, order_id=order.id).status.value == "shipped"
    assert fake.stock[SHOP][(1001, 5001)] == 8

    fake.add_order(SHOP, ShopeeOrder(order_sn="2512060002XYZ", status="READY_TO_SHIP", create_time=now - 30,
                                     update_time=now - 20, items=items, total_amount=388000.0))
    _push(client, fake, "2512060002XYZ")
    _settle(engine, session, connection.id)
    assert fake.stock[SHOP][(1001, 5001)] == 6
    fake.orders[SHOP]["2512060002XYZ"].status = "CANCELLED"
    fake.orders[SHOP]["2512060002XYZ"].update_time = now + 1
    _push(client, fake, "2512060002XYZ")
    _settle(engine, session, connection.id)
    assert fake.stock[SHOP][(1001, 5001)] == 8


def test_a_lazada_order_found_by_the_recovery_sync_maps_its_skus_and_holds_stock(
        engine: Engine, session: Session, lazada: tuple[FakeLazada, str]) -> None:
    fake, url = lazada
    connection = connect_lazada(session, fake, url)
    jeans = make_variant(session, "QJ-30")
    list_variant(session, jeans, channel=SalesChannel.lazada, account=SELLER, item_id="3001", sku="QJ-30")
    fake.stock[SELLER][("3001", "QJ-30")] = 0
    warehouse = locations.create(session, code="KHO", name="Kho tổng", kind=LocationKind.warehouse)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(jeans.id, 5)], actor="test")
    now = int(time.time())
    rows = [{"order_item_id": 10 + index, "order_id": 71001, "name": "Quần jean", "sku": sku, "shop_sku": "x",
             "sku_id": sku_id, "product_id": item, "item_price": "250000.00", "paid_price": "250000.00",
             "voucher_seller": "0.00", "status": "pending", "buyer_id": 5_550_001}
            for index, (item, sku, sku_id) in enumerate(((3001, "QJ-30", "9001"), (3001, "QJ-30", "9001"),
                                                          (3999, "NOT-LISTED", "9009")))]
    fake.add_order(SELLER, LazadaOrder(order_id=71001, statuses=["pending"], created=now - 600, updated=now - 30,
                                       items=rows, price="775000.00", buyer_id=5_550_001, first_name="Minh"))
    orders_sync.sync_orders(session, connection_id=connection.id)  # no push came: the recovery finds it
    session.commit()
    [order], _ = orders.list_orders(session, channel=SalesChannel.lazada)
    detail = orders.order_detail(session, order_id=order.id)
    assert sorted((line.external_sku, line.quantity, line.variant_id) for line in detail.lines) == \
        [("NOT-LISTED", 1, None), ("QJ-30", 2, jeans.id)]
    assert order.needs_attention  # the unknown listing is kept and flagged, never dropped
    _settle(engine, session, connection.id)
    assert fake.stock[SELLER][("3001", "QJ-30")] == 3
