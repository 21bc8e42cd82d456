"""Pushes from Shopee and Lazada at ``/webhooks/marketplaces/...``: verified over the raw bytes, kept, deduplicated,
queued and answered; refused whole when unsigned, malformed, oversized or for a shop not connected."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.api_client import assert_problem
from tests.commerce.marketplaces.conftest import SELLER, SHOP, connect_lazada, connect_shopee
from tests.fakes.lazada import FakeLazada, LazadaOrder
from tests.fakes.shopee import FakeShopee, ShopeeOrder, encode

from xuyen.commerce.marketplaces.models import ActivityEntry, ActivityKind, MarketplacePush
from xuyen.jobs import Job

HOST = "http://testserver"


def _shopee_order(sn: str, status: str = "READY_TO_SHIP") -> ShopeeOrder:
    now = int(time.time())
    return ShopeeOrder(order_sn=sn, status=status, create_time=now - 600, update_time=now - 5, items=[],
                       total_amount=100000.0)


def _count(session: Session, model: type) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _import_jobs(session: Session) -> list[Job]:
    session.rollback()
    return list(session.scalars(select(Job).where(Job.name == "marketplaces.import_order")))


def test_a_signed_shopee_push_is_kept_queued_and_answered_with_an_empty_200(
        client: TestClient, session: Session, shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connect_shopee(session, fake, url)
    fake.add_order(SHOP, _shopee_order("2512060001ABC"))
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    body, headers = fake.order_push(SHOP, "2512060001ABC", callback_url=HOST + path)
    answer = client.post(path, content=body, headers=headers)
    assert answer.status_code == 200 and answer.content == b""
    [push] = session.scalars(select(MarketplacePush)).all()
    assert push.body == body.decode() and push.external_order_id == "2512060001ABC" and push.kind == "order"
    [queued] = _import_jobs(session)
    assert queued.payload["order_ids"] == ["2512060001ABC"]
    kinds = [entry.kind for entry in session.scalars(select(ActivityEntry))]
    assert ActivityKind.push_received in kinds

    again = client.post(path, content=body, headers=headers)  # delivered twice: nothing more happens
    assert again.status_code == 200 and again.content == b""
    assert _count(session, MarketplacePush) == 1 and len(_import_jobs(session)) == 1


def test_a_push_with_a_wrong_signature_is_refused_and_nothing_kept(
        client: TestClient, session: Session, shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connect_shopee(session, fake, url)
    fake.add_order(SHOP, _shopee_order("S1"))
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    body, headers = fake.order_push(SHOP, "S1", callback_url=HOST + "/elsewhere")
    assert_problem(client.post(path, content=body, headers=headers), 401, "push_signature_invalid")
    body, headers = fake.order_push(SHOP, "S1", callback_url=HOST + path)
    assert_problem(client.post(path, content=body + b" ", headers=headers), 401, "push_signature_invalid")
    assert_problem(client.post(path, content=body), 401, "push_signature_invalid")
    assert _count(session, MarketplacePush) == 0 and _import_jobs(session) == []


def test_a_signed_but_malformed_push_is_refused(client: TestClient, session: Session,
                                                shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connect_shopee(session, fake, url)
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    for body in (b"{not json", b'{"code":3,"shop_id":880001,"data":{"status":"X"}}'):
        answer = client.post(path, content=body, headers=fake.push_headers(body, callback_url=HOST + path))
        assert_problem(answer, 422, "push_invalid")
    assert _count(session, MarketplacePush) == 0


def test_an_oversized_push_is_refused_before_it_is_read(client: TestClient, session: Session,
                                                        shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connect_shopee(session, fake, url)
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    body = encode({"code": 3, "shop_id": SHOP, "data": {"ordersn": "S", "status": "x" * 1_100_000}})
    answer = client.post(path, content=body, headers=fake.push_headers(body, callback_url=HOST + path))
    assert answer.status_code == 413
    assert _count(session, MarketplacePush) == 0


def test_pushes_for_an_unknown_app_or_shop_are_refused(client: TestClient, session: Session,
                                                       shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connect_shopee(session, fake, url)
    assert_problem(client.post("/webhooks/marketplaces/shopee/999", content=b"{}"), 404, "marketplace_app_unknown")
    assert_problem(client.post("/webhooks/marketplaces/ebay/1", content=b"{}"), 404, "marketplace_unknown")
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    body = encode({"code": 3, "shop_id": 123, "data": {"ordersn": "S1", "status": "UNPAID", "update_time": 1}})
    answer = client.post(path, content=body, headers=fake.push_headers(body, callback_url=HOST + path))
    assert_problem(answer, 404, "marketplace_shop_unknown")
    assert _count(session, MarketplacePush) == 0


def test_other_pushes_are_kept_once_but_start_no_import(client: TestClient, session: Session,
                                                        shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connect_shopee(session, fake, url)
    path = f"/webhooks/marketplaces/shopee/{fake.partner_id}"
    body = encode({"code": 4, "shop_id": SHOP, "data": {"ordersn": "S1", "tracking_no": "VN1"}, "timestamp": 1})
    for _ in range(2):
        answer = client.post(path, content=body, headers=fake.push_headers(body, callback_url=HOST + path))
        assert answer.status_code == 200
    assert _count(session, MarketplacePush) == 1 and _import_jobs(session) == []


def test_a_signed_lazada_trade_order_push_is_kept_and_queued_once(client: TestClient, session: Session,
                                                                   lazada: tuple[FakeLazada, str]) -> None:
    fake, url = lazada
    connect_lazada(session, fake, url)
    now = int(time.time())
    fake.add_order(SELLER, LazadaOrder(order_id=71001, statuses=["pending"], created=now - 60, updated=now,
                                       items=[{"order_item_id": 1, "status": "pending", "sku": "A"}], price="1.00"))
    body, headers = fake.order_push(SELLER, 71001)
    path = f"/webhooks/marketplaces/lazada/{fake.app_key}"
    for _ in range(2):
        answer = client.post(path, content=body, headers=headers)
        assert answer.status_code == 200
    [queued] = _import_jobs(session)
    assert queued.payload["order_ids"] == ["71001"]
    forged = json.dumps({**json.loads(body), "seller_id": "999"}).encode()
    assert_problem(client.post(path, content=forged, headers=headers), 401, "push_signature_invalid")
