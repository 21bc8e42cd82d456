"""Paying with ZaloPay against a local fake of its gateway over real HTTP: the create-order form signed with key1
gets an ``order_url``, the callback signed with key2 places the order once, and a forged, repeated, wrongly
priced, unknown or malformed callback changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import API, bearer
from tests.commerce.orders.support import LAN, make_shop
from tests.fakes.server import serving
from tests.fakes.zalopay import FakeZalopay
from tests.live_server import LiveServer, call
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.commerce.orders import online, service
from xuyen.commerce.orders.building import LineIn, PaymentIn
from xuyen.commerce.orders.gateways import zalopay
from xuyen.commerce.orders.models import OrderStatus, Payment, PaymentMethod, PaymentStatus
from xuyen.commerce.orders.records import payments_of
from xuyen.config import Settings
from xuyen.errors import BadGateway, ServiceUnavailable

APP_ID, KEY1, KEY2 = "2553", "PcY4iZIKFCIdgZvA6ueMcMHHUbRLYjPL", "kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz"
DONE, ALREADY = {"return_code": 1, "return_message": "success"}, {"return_code": 2, "return_message": "already handled"}


@pytest.fixture
def gateway(db_url: str, engine: Engine) -> Iterator[tuple[FakeZalopay, str, zalopay.ZalopayConfig]]:
    """The fake ZaloPay, and our app served for real so that the fake can call back: (fake, app URL, config)."""
    fake = FakeZalopay(app_id=APP_ID, key1=KEY1, key2=KEY2)
    with serving(fake.app()) as zalopay_url:
        fake.base_url = zalopay_url
        settings = Settings(database_url=db_url, env="test", log_json=False, zalopay_app_id=APP_ID,
                            zalopay_key1=KEY1, zalopay_key2=KEY2, zalopay_endpoint=f"{zalopay_url}/v2/create",
                            zalopay_redirect_url="https://shop.example.vn/thanh-toan/ket-qua")
        server = LiveServer(settings, engine)
        settings.zalopay_callback_url = f"{server.url}/payments/zalopay/callback"
        server.start()
        try:
            yield fake, server.url, online.zalopay_config(settings)
        finally:
            server.stop()


def _pending_order(session: Session) -> int:
    make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN,
                                   payments=[PaymentIn(PaymentMethod.zalopay)], actor="web")
    return order.id


def _payment(session: Session, order_id: int) -> Payment:
    session.rollback()
    return next(p for p in payments_of(session, order_id) if p.method is PaymentMethod.zalopay)


def _pay(zalopay_url: str, app_trans_id: str) -> dict[str, Any]:
    return dict(call("POST", f"{zalopay_url}/_fake/pay", data={"app_trans_id": app_trans_id}).json())


def test_a_zalopay_payment_places_the_order_once(session: Session,
                                                 gateway: tuple[FakeZalopay, str, zalopay.ZalopayConfig]) -> None:
    fake, app_url, _config = gateway
    order_id = _pending_order(session)
    _row, key = auth_service.create_api_key(session, name="web shop", role=Role.agent)
    answer = call("POST", f"{app_url}{API}/orders/{order_id}/payments/zalopay", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["url"].startswith(f"{fake.base_url}/openinapp?order=")
    [(trans_id, sent)] = fake.created.items()
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%y%m%d_")
    assert trans_id.startswith(today) and trans_id.endswith(".1") and sent["amount"] == "349000"
    assert json.loads(sent["embed_data"]) == {"redirecturl": "https://shop.example.vn/thanh-toan/ket-qua"}
    assert [item["itemid"] for item in json.loads(sent["item"])] == ["SOMI-M"]
    assert sent["callback_url"] == f"{app_url}/payments/zalopay/callback"
    assert 300 <= int(sent["expire_duration_seconds"]) <= 3600

    assert _pay(fake.base_url, trans_id) == DONE
    payment = _payment(session, order_id)
    order = service.get_order(session, order_id=order_id)
    assert order.status is OrderStatus.placed and order.paid_at is not None
    assert payment.status is PaymentStatus.paid and payment.provider_reference
    reference = payment.provider_reference
    data = fake.callback_data(trans_id)
    assert call("POST", f"{app_url}/payments/zalopay/callback", json=fake.callback_body(data)).json() == ALREADY
    assert _payment(session, order_id).provider_reference == reference


def test_the_same_order_url_while_it_stands(session: Session,
                                            gateway: tuple[FakeZalopay, str, zalopay.ZalopayConfig]) -> None:
    fake, _app_url, config = gateway
    order_id = _pending_order(session)
    first = online.zalopay_order_url(session, order_id=order_id, config=config)
    assert online.zalopay_order_url(session, order_id=order_id, config=config) == first
    assert len(fake.created) == 1


def test_forged_wrongly_priced_unknown_and_malformed_callbacks_change_nothing(
        session: Session, gateway: tuple[FakeZalopay, str, zalopay.ZalopayConfig]) -> None:
    fake, app_url, config = gateway
    order_id = _pending_order(session)
    online.zalopay_order_url(session, order_id=order_id, config=config)
    [trans_id] = fake.created
    callback = f"{app_url}/payments/zalopay/callback"

    def answer(body: Any) -> tuple[int, Any]:
        got = call("POST", callback, json=body)
        return got.status_code, got.json().get("return_message", got.json().get("code"))

    data = json.loads(fake.callback_data(trans_id))
    forged = {**fake.callback_body(json.dumps(data)), "mac": fake.callback_body(json.dumps({**data, "amount": 1}))[
        "mac"]}
    assert answer(forged) == (200, "mac not equal")
    assert answer({**fake.callback_body(json.dumps(data)), "mac": "0" * 64}) == (200, "mac not equal")
    assert answer(fake.callback_body(json.dumps({**data, "amount": 1_000}))) == (200, "invalid amount")
    assert answer(fake.callback_body(json.dumps({**data, "app_trans_id": "261206_WEB-999999-1.1"}))) == (
        200, "order not found")
    assert answer(fake.callback_body(json.dumps({**data, "app_id": 9999}))) == (400, "invalid data")
    assert answer(fake.callback_body(json.dumps({**data, "amount": "349000"}))) == (400, "invalid data")
    assert answer(fake.callback_body("not json")) == (400, "invalid data")
    assert answer({"data": 5, "mac": "x", "type": 1}) == (400, "invalid data")
    assert answer({"mac": "x"}) == (400, "invalid data")
    assert answer([1]) == (422, "validation_failed")
    assert call("POST", callback, content=b"{", headers={"Content-Type": "application/json"}).status_code == 422

    payment = _payment(session, order_id)
    assert payment.status is PaymentStatus.pending and not payment.provider_reference
    assert service.get_order(session, order_id=order_id).status is OrderStatus.pending_payment


def test_a_payment_for_an_order_cancelled_meanwhile_is_recorded_for_a_refund(
        session: Session, gateway: tuple[FakeZalopay, str, zalopay.ZalopayConfig]) -> None:
    fake, _app_url, config = gateway
    order_id = _pending_order(session)
    online.zalopay_order_url(session, order_id=order_id, config=config)
    [trans_id] = fake.created
    service.cancel_order(session, order_id=order_id, actor="staff", reason="khách đổi ý")
    assert _pay(fake.base_url, trans_id) == DONE
    payment = _payment(session, order_id)
    order = service.get_order(session, order_id=order_id)
    assert order.status is OrderStatus.cancelled and order.needs_attention
    assert payment.status is PaymentStatus.paid and payment.provider_reference in order.attention_reason
    assert _pay(fake.base_url, trans_id) == ALREADY


def test_zalopay_checks_our_mac_and_settings(session: Session,
                                             gateway: tuple[FakeZalopay, str, zalopay.ZalopayConfig]) -> None:
    fake, _app_url, config = gateway
    order_id = _pending_order(session)
    with pytest.raises(BadGateway, match="sub_return_code -402"):
        online.zalopay_order_url(session, order_id=order_id,
                                 config=zalopay.ZalopayConfig(**{**config.__dict__, "key1": "not-key1"}))
    with pytest.raises(ServiceUnavailable):
        online.zalopay_order_url(session, order_id=order_id,
                                 config=zalopay.ZalopayConfig(**{**config.__dict__, "key2": ""}))
    assert fake.created == {}
    assert online.zalopay_order_url(session, order_id=order_id, config=config).startswith(fake.base_url)
    assert next(iter(fake.created)).endswith(".2")


def test_the_order_mac_follows_zalopays_field_order() -> None:
    config = zalopay.ZalopayConfig("553", "k1", "k2", "e", "https://x/cb", "https://x/back")
    at = datetime(2026, 12, 6, 17, 30, tzinfo=ZoneInfo("UTC"))
    trans_id = zalopay.app_trans_id("WEB-000001-2.1", at=at)
    assert trans_id == "261207_WEB-000001-2.1" and zalopay.reference_of(trans_id) == "WEB-000001-2.1"
    form = zalopay.order_form(config, trans_id=trans_id, app_user="u", amount=50_000, at=at,
                              items=[{"itemid": "A", "itemprice": 50_000, "itemquantity": 1}], description="d")
    text = f"553|{trans_id}|u|50000|{form['app_time']}|{{\"redirecturl\":\"https://x/back\"}}|" \
           '[{"itemid":"A","itemprice":50000,"itemquantity":1}]'
    assert form["mac"] == zalopay.mac(text, "k1") and form["app_time"] == str(int(at.timestamp() * 1000))
    many = [{"itemid": f"SKU-{n}", "itemname": "Áo sơ mi lụa " * 3} for n in range(100)]
    assert len(zalopay.items_json(many)) <= zalopay.MAX_ITEM
