"""Marketplace orders: a push's order fetched and handed over as an ``ExternalOrder``; orders whose push never came
found by the recovery sync; an unchanged order never handed over twice; failures retried; tokens refreshed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.commerce.marketplaces.conftest import (
    SELLER,
    SHOP,
    Contracts,
    connect_lazada,
    connect_shopee,
    fresh,
)
from tests.fakes.lazada import FakeLazada, LazadaOrder
from tests.fakes.shopee import FakeShopee, ShopeeOrder

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import orders_sync
from xuyen.commerce.marketplaces.models import (
    ActivityEntry,
    ActivityKind,
    ConnectionStatus,
    MarketplaceConnection,
    SeenOrder,
)
from xuyen.commerce.orders.external import ExternalStatus
from xuyen.jobs import Job
from xuyen.sealing import unseal
from xuyen.worker import Worker

HOST = "http://testserver"


def _order(sn: str, *, status: str = "READY_TO_SHIP", updated: int | None = None, phone: str = "84******89",
           created: int | None = None) -> ShopeeOrder:
    now = int(time.time())
    return ShopeeOrder(order_sn=sn, status=status, create_time=created or now - 3600, update_time=updated or now - 60,
                       items=[{"item_id": 1001, "item_name": "Áo thun", "model_id": 5001, "model_name": "Đen, M",
                               "model_sku": "AT-DEN-M", "model_quantity_purchased": 2,
                               "model_original_price": 199000.0, "model_discounted_price": 179000.0}],
                       total_amount=388000.0, buyer_user_id=7_700_001, buyer_username="lan.nguyen", phone=phone)


def _activity(session: Session, kind: ActivityKind) -> list[ActivityEntry]:
    session.rollback()  # a new transaction sees what the worker committed
    return list(session.scalars(select(ActivityEntry).where(ActivityEntry.kind == kind).order_by(ActivityEntry.id)))


def test_a_pushed_order_is_fetched_and_handed_over_once(client: TestClient, engine: Engine, session: Session,
                                                        shopee: tuple[FakeShopee, str], contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    fake.add_order(SHOP, _order("2512060001ABC", phone="0912345678"))
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    body, headers = fake.order_push(SHOP, "2512060001ABC", callback_url=HOST + path)
    assert client.post(path, content=body, headers=headers).status_code == 200
    Worker(engine=engine, periodic=False).run_until_idle()

    [order] = contracts.orders
    assert (order.channel, order.account, order.external_id, order.status, order.raw_status) == \
        (SalesChannel.shopee, str(SHOP), "2512060001ABC", ExternalStatus.to_ship, "READY_TO_SHIP")
    assert order.total == 388_000 and order.payment_method == "cod" and order.buyer_name == "lan.nguyen"
    assert order.buyer_identifiers == [("marketplace_buyer_id", "7700001", f"shopee:{SHOP}"),
                                       ("phone", "0912345678", None)]
    [line] = order.lines
    assert (line.external_item_id, line.external_model_id, line.external_sku, line.quantity, line.unit_price) == \
        ("1001", "5001", "AT-DEN-M", 2, 179_000)
    assert order.shipping_address["district"] == "Quận 1" and "phone" not in order.shipping_address
    seen = session.scalars(select(SeenOrder)).one()
    assert (seen.connection_id, seen.external_id, seen.status, seen.order_id) == \
        (connection.id, "2512060001ABC", "to_ship", 1)
    assert len(_activity(session, ActivityKind.order_imported)) == 1

    # the same state pushed again (another push code, a redelivery with a new timestamp): not handed over again
    body2, headers2 = fake.order_push(SHOP, "2512060001ABC", callback_url=HOST + path)
    client.post(path, content=body2, headers=headers2)
    Worker(engine=engine, periodic=False).run_until_idle()
    assert len(contracts.orders) == 1

    # the order moves on: handed over as an update
    fake.orders[SHOP]["2512060001ABC"].status = "SHIPPED"
    fake.orders[SHOP]["2512060001ABC"].update_time += 30
    body3, headers3 = fake.order_push(SHOP, "2512060001ABC", callback_url=HOST + path)
    client.post(path, content=body3, headers=headers3)
    Worker(engine=engine, periodic=False).run_until_idle()
    assert [o.status for o in contracts.orders] == [ExternalStatus.to_ship, ExternalStatus.shipped]
    assert len(_activity(session, ActivityKind.order_updated)) == 1


def test_orders_whose_push_never_came_are_recovered(session: Session, shopee: tuple[FakeShopee, str],
                                                    contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    for index in range(120):  # more than a page of the order list
        fake.add_order(SHOP, _order(f"LOST{index:03d}"))
    summary = orders_sync.sync_orders(session, connection_id=connection.id)
    session.commit()
    assert len(summary.imported) == 120 and len(contracts.orders) == 120
    assert fresh(session, connection).orders_synced_until is not None
    [found] = _activity(session, ActivityKind.orders_recovered)
    assert "120" in found.message

    again = orders_sync.sync_orders(session, connection_id=connection.id)
    session.commit()
    assert again.imported == [] and again.updated == [] and len(contracts.orders) == 120

    fake.orders[SHOP]["LOST007"].status = "CANCELLED"
    fake.orders[SHOP]["LOST007"].update_time = int(time.time())
    third = orders_sync.sync_orders(session, connection_id=connection.id)
    session.commit()
    assert third.updated == ["LOST007"] and contracts.orders[-1].status == ExternalStatus.cancelled


def test_recovery_lists_long_gaps_in_windows_the_platform_accepts(session: Session, shopee: tuple[FakeShopee, str],
                                                                  contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    old = int((datetime.now(UTC) - timedelta(days=20)).timestamp())
    fake.add_order(SHOP, _order("OLD", created=old - 60, updated=old))
    fake.add_order(SHOP, _order("NEW"))
    connection.orders_synced_until = datetime.now(UTC) - timedelta(days=25)
    session.commit()
    summary = orders_sync.sync_orders(session, connection_id=connection.id)
    session.commit()
    assert sorted(summary.imported) == ["NEW", "OLD"]
    calls = fake.calls_to("/api/v2/order/get_order_list")
    assert len(calls) == 2
    assert all(int(q["time_to"]) - int(q["time_from"]) <= 15 * 86_400 for _, q, _ in calls)


def test_a_push_and_the_recovery_finding_the_same_change_hand_it_over_once(
        session: Session, shopee: tuple[FakeShopee, str], contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    fake.add_order(SHOP, _order("BOTH"))
    orders_sync.import_orders(session, connection_id=connection.id, order_ids=["BOTH"], source="push")
    session.commit()
    orders_sync.sync_orders(session, connection_id=connection.id)
    session.commit()
    assert [order.external_id for order in contracts.orders] == ["BOTH"]


def test_a_platform_outage_queues_the_import_again_with_backoff(session: Session, shopee: tuple[FakeShopee, str],
                                                                contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    fake.add_order(SHOP, _order("S1"))
    fake.fail_next((500, "error_server"))
    summary = orders_sync.import_orders(session, connection_id=connection.id, order_ids=["S1"], source="push")
    session.commit()
    assert summary.failed == ["S1"] and contracts.orders == []
    [retry] = session.scalars(select(Job).where(Job.name == orders_sync.IMPORT_JOB)).all()
    assert retry.payload["attempt"] == 2 and retry.run_at > datetime.now(UTC)
    [failed] = _activity(session, ActivityKind.order_failed)
    assert failed.level == "warning" and "error_server" in failed.message


def test_an_expired_token_is_refreshed_and_the_new_pair_kept_sealed(session: Session,
                                                                     shopee: tuple[FakeShopee, str],
                                                                     contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    fake.add_order(SHOP, _order("S1"))
    fake.expire_token(SHOP)
    orders_sync.import_orders(session, connection_id=connection.id, order_ids=["S1"], source="push")
    session.commit()
    assert len(contracts.orders) == 1
    stored = fresh(session, connection)
    secrets = unseal(stored.sealed_secrets)
    assert secrets["access_token"] == fake.tokens[SHOP]["access_token"]
    assert secrets["refresh_token"] == fake.tokens[SHOP]["refresh_token"]
    assert stored.token_expires_at is not None
    assert len(_activity(session, ActivityKind.tokens_refreshed)) == 1


def test_a_token_about_to_expire_is_refreshed_before_the_call(session: Session, shopee: tuple[FakeShopee, str],
                                                               contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    connection.token_expires_at = datetime.now(UTC) + timedelta(seconds=30)
    session.commit()
    fake.add_order(SHOP, _order("S1"))
    orders_sync.import_orders(session, connection_id=connection.id, order_ids=["S1"], source="push")
    session.commit()
    assert [path for path, _, _ in fake.calls] == ["/api/v2/auth/access_token/get", "/api/v2/order/get_order_detail"]
    stored = fresh(session, connection)
    assert stored.token_expires_at > datetime.now(UTC) + timedelta(hours=3)
    assert unseal(stored.sealed_secrets)["access_token"] == fake.tokens[SHOP]["access_token"]


def test_a_refused_refresh_flags_the_shop_for_its_owner(session: Session, shopee: tuple[FakeShopee, str],
                                                        contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    fake.add_order(SHOP, _order("S1"))
    fake.expire_token(SHOP)
    fake.tokens[SHOP]["refresh_token"] = "revoked-at-the-platform"
    orders_sync.import_orders(session, connection_id=connection.id, order_ids=["S1"], source="push")
    session.commit()
    stored: MarketplaceConnection = fresh(session, connection)
    assert stored.status == ConnectionStatus.needs_attention and "refresh" in (stored.status_reason or "")
    assert contracts.orders == []
    # a flagged shop is not called again until it is reconnected
    calls = len(fake.calls)
    assert orders_sync.sync_orders(session, connection_id=connection.id).imported == []
    assert len(fake.calls) == calls


def test_lazada_orders_are_recovered_and_mapped(session: Session, lazada: tuple[FakeLazada, str],
                                                contracts: Contracts) -> None:
    fake, url = lazada
    connection = connect_lazada(session, fake, url)
    now = int(time.time())
    items = [{"order_item_id": 10 + index, "order_id": 71001, "name": "Quần jean", "sku": "QJ-30", "shop_sku": "x",
              "sku_id": "9001", "product_id": 3001, "item_price": "250000.00", "paid_price": "250000.00",
              "voucher_seller": "0.00", "status": "packed", "buyer_id": 5_550_001} for index in range(3)]
    fake.add_order(SELLER, LazadaOrder(order_id=71001, statuses=["packed"], created=now - 600, updated=now - 30,
                                       items=items, price="750000.00", buyer_id=5_550_001, first_name="Minh",
                                       phone="0987654321"))
    summary = orders_sync.sync_orders(session, connection_id=connection.id)
    session.commit()
    assert summary.imported == ["71001"]
    [order] = contracts.orders
    assert (order.channel, order.account, order.status, order.total) == \
        (SalesChannel.lazada, SELLER, ExternalStatus.to_ship, 750_000)
    assert order.buyer_identifiers == [("marketplace_buyer_id", "5550001", f"lazada:{SELLER}"),
                                       ("phone", "0987654321", None)]
    assert [(line.external_model_id, line.external_sku, line.quantity) for line in order.lines] == \
        [("", "QJ-30", 3)]
    assert order.payment_method == "cod"


def test_an_order_paid_to_the_platform_is_a_bank_transfer_to_the_shop(session: Session,
                                                                     shopee: tuple[FakeShopee, str],
                                                                     contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    paid = _order("PAID")
    paid.cod = False
    fake.add_order(SHOP, paid)
    orders_sync.import_orders(session, connection_id=connection.id, order_ids=["PAID"], source="push")
    session.commit()
    assert [order.payment_method for order in contracts.orders] == ["bank_transfer"]
