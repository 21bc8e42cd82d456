"""Paying with MoMo against a local fake of its gateway over real HTTP: the signed create request gets a
``payUrl``, the signed IPN places the order once, and a forged, repeated, wrongly priced, unknown or malformed
report changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import API, bearer
from tests.commerce.orders.support import LAN, make_shop
from tests.fakes.momo import FakeMomo
from tests.fakes.server import serving
from tests.live_server import LiveServer, call
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.commerce.orders import online, service
from xuyen.commerce.orders.building import LineIn, PaymentIn
from xuyen.commerce.orders.gateways import GatewayRefused, momo
from xuyen.commerce.orders.models import OrderStatus, Payment, PaymentMethod, PaymentStatus
from xuyen.commerce.orders.records import payments_of
from xuyen.config import Settings
from xuyen.errors import BadGateway, ServiceUnavailable

PARTNER, ACCESS, SECRET = "MOMOXUYEN2026", "F8BBA842ECF85", "K951B6PE1waDMi640xX08PD3vg6EkVlz"


@pytest.fixture
def gateway(db_url: str, engine: Engine) -> Iterator[tuple[FakeMomo, str, momo.MomoConfig]]:
    """The fake MoMo, and our app served for real so that the fake can post its IPN: (fake, app URL, config)."""
    fake = FakeMomo(partner_code=PARTNER, access_key=ACCESS, secret_key=SECRET)
    with serving(fake.app()) as momo_url:
        fake.base_url = momo_url
        settings = Settings(database_url=db_url, env="test", log_json=False, momo_partner_code=PARTNER,
                            momo_access_key=ACCESS, momo_secret_key=SECRET,
                            momo_endpoint=f"{momo_url}/v2/gateway/api/create",
                            momo_redirect_url="https://shop.example.vn/thanh-toan/ket-qua")
        server = LiveServer(settings, engine)
        settings.momo_ipn_url = f"{server.url}/payments/momo/ipn"
        server.start()
        try:
            yield fake, server.url, online.momo_config(settings)
        finally:
            server.stop()


def _pending_order(session: Session) -> int:
    make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN,
                                   payments=[PaymentIn(PaymentMethod.momo)], actor="web")
    return order.id


def _payment(session: Session, order_id: int) -> Payment:
    session.rollback()
    return next(p for p in payments_of(session, order_id) if p.method is PaymentMethod.momo)


def _pay(momo_url: str, order_id: str, result_code: int = 0) -> int:
    answer = call("POST", f"{momo_url}/_fake/pay", data={"order_id": order_id, "result_code": str(result_code)})
    return int(answer.json()["status"])


def test_a_momo_payment_places_the_order_once(session: Session,
                                              gateway: tuple[FakeMomo, str, momo.MomoConfig]) -> None:
    fake, app_url, _config = gateway
    order_id = _pending_order(session)
    _row, key = auth_service.create_api_key(session, name="web shop", role=Role.agent)
    answer = call("POST", f"{app_url}{API}/orders/{order_id}/payments/momo", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    [(momo_order_id, sent)] = fake.created.items()
    assert answer.json() == {"url": f"{fake.base_url}/v2/gateway/pay?t={answer.json()['url'].rsplit('=', 1)[1]}"}
    assert sent["amount"] == 349_000 and sent["requestType"] == "captureWallet"
    assert sent["ipnUrl"] == f"{app_url}/payments/momo/ipn" and momo_order_id.endswith(".1")

    assert _pay(fake.base_url, momo_order_id) == 204
    payment = _payment(session, order_id)
    order = service.get_order(session, order_id=order_id)
    assert order.status is OrderStatus.placed and order.paid_at is not None
    assert payment.status is PaymentStatus.paid and payment.provider_reference
    reference = payment.provider_reference

    assert _pay(fake.base_url, momo_order_id) == 204
    assert _payment(session, order_id).provider_reference == reference
    again = call("POST", f"{app_url}{API}/orders/{order_id}/payments/momo", headers=bearer(key))
    assert again.status_code == 409 and again.json()["code"] == "no_payment_waiting"


def test_the_same_pay_url_until_an_attempt_fails(session: Session,
                                                 gateway: tuple[FakeMomo, str, momo.MomoConfig]) -> None:
    fake, _app_url, config = gateway
    order_id = _pending_order(session)
    first = online.momo_payment_url(session, order_id=order_id, config=config)
    assert online.momo_payment_url(session, order_id=order_id, config=config) == first
    [first_id] = fake.created
    assert _pay(fake.base_url, first_id, result_code=7000) == 204
    assert "last_failure" not in _payment(session, order_id).details
    assert online.momo_payment_url(session, order_id=order_id, config=config) == first
    assert _pay(fake.base_url, first_id, result_code=1006) == 204
    payment = _payment(session, order_id)
    assert payment.status is PaymentStatus.pending
    assert payment.details["last_failure"]["result_code"] == "1006"
    assert service.get_order(session, order_id=order_id).status is OrderStatus.pending_payment

    second = online.momo_payment_url(session, order_id=order_id, config=config)
    assert second != first and len(fake.created) == 2
    second_id = next(i for i in fake.created if i != first_id)
    assert second_id.endswith(".2")
    assert _pay(fake.base_url, second_id) == 204
    session.rollback()
    assert service.get_order(session, order_id=order_id).status is OrderStatus.placed


def test_forged_wrongly_priced_unknown_and_malformed_reports_change_nothing(
        session: Session, gateway: tuple[FakeMomo, str, momo.MomoConfig]) -> None:
    fake, app_url, config = gateway
    order_id = _pending_order(session)
    online.momo_payment_url(session, order_id=order_id, config=config)
    [momo_order_id] = fake.created
    ipn = f"{app_url}/payments/momo/ipn"

    def status(body: Any) -> tuple[int, str]:
        answer = call("POST", ipn, json=body)
        return answer.status_code, answer.json().get("code", "") if answer.content else ""

    assert status({**fake.ipn_body(momo_order_id), "transId": 999}) == (400, "invalid_signature")
    assert status(fake.signed({**fake.ipn_body(momo_order_id), "amount": 1_000})) == (409, "amount_mismatch")
    assert status(fake.signed({**fake.ipn_body(momo_order_id), "orderId": "WEB-999999-1.1"})) == (
        404, "payment_not_found")
    assert status(fake.signed({**fake.ipn_body(momo_order_id), "amount": "349000"}))[0] == 422
    body = fake.ipn_body(momo_order_id)
    del body["resultCode"]
    assert status(body)[0] == 422
    assert status([1, 2])[0] == 422
    assert call("POST", ipn, content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
    other = FakeMomo(partner_code="SOMEONEELSE", access_key=ACCESS, secret_key=SECRET)
    other.created[momo_order_id] = fake.created[momo_order_id]
    assert status(other.ipn_body(momo_order_id)) == (400, "invalid_signature")

    payment = _payment(session, order_id)
    assert payment.status is PaymentStatus.pending and "last_failure" not in payment.details
    assert service.get_order(session, order_id=order_id).status is OrderStatus.pending_payment


def test_a_payment_for_an_order_cancelled_meanwhile_is_recorded_for_a_refund(
        session: Session, gateway: tuple[FakeMomo, str, momo.MomoConfig]) -> None:
    fake, _app_url, config = gateway
    order_id = _pending_order(session)
    online.momo_payment_url(session, order_id=order_id, config=config)
    [momo_order_id] = fake.created
    service.cancel_order(session, order_id=order_id, actor="staff", reason="khách đổi ý")
    assert _pay(fake.base_url, momo_order_id) == 204
    payment = _payment(session, order_id)
    order = service.get_order(session, order_id=order_id)
    assert order.status is OrderStatus.cancelled and order.needs_attention
    assert payment.status is PaymentStatus.paid and payment.provider_reference in order.attention_reason
    reason = order.attention_reason
    assert _pay(fake.base_url, momo_order_id) == 204
    session.rollback()
    assert service.get_order(session, order_id=order_id).attention_reason == reason


def test_momo_checks_our_signature_and_settings(session: Session,
                                                gateway: tuple[FakeMomo, str, momo.MomoConfig]) -> None:
    fake, _app_url, config = gateway
    order_id = _pending_order(session)
    wrong = momo.MomoConfig(**{**config.__dict__, "secret_key": "not-the-secret"})
    with pytest.raises(BadGateway, match="resultCode 13"):
        online.momo_payment_url(session, order_id=order_id, config=wrong)
    with httpx.Client() as http, pytest.raises(GatewayRefused, match="resultCode 22"):
        momo.create_payment(config, http, order_id="X-1.1", request_id="X-1.1", amount=500, order_info="thu")
    with pytest.raises(ServiceUnavailable):
        online.momo_payment_url(session, order_id=order_id, config=momo.MomoConfig(**{**config.__dict__,
                                                                                      "secret_key": ""}))
    assert fake.created == {}
    assert online.momo_payment_url(session, order_id=order_id, config=config).startswith(fake.base_url)


def test_the_signature_texts_follow_momos_field_order() -> None:
    body = momo.create_request(momo.MomoConfig("P", "A", "S", "e", "https://x/ipn", "https://x/back"),
                               order_id="WEB-1-2.1", request_id="WEB-1-2.1", amount=349_000, order_info="Thanh toan")
    assert momo.raw_signature(body, momo.CREATE_FIELDS, access_key="A") == (
        "accessKey=A&amount=349000&extraData=&ipnUrl=https://x/ipn&orderId=WEB-1-2.1&orderInfo=Thanh toan"
        "&partnerCode=P&redirectUrl=https://x/back&requestId=WEB-1-2.1&requestType=captureWallet")
    assert body["signature"] == momo.sign(momo.raw_signature(body, momo.CREATE_FIELDS, access_key="A"), "S")
