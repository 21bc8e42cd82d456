"""Paying with VNPay against a local fake of its gateway over real HTTP: the signed payment address is accepted,
the signed IPN places the order once, and a forged, repeated, wrongly priced or failed report changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.api_client import API, bearer
from tests.commerce.orders.support import LAN, make_shop
from tests.fakes.server import serving
from tests.fakes.vnpay import FakeVnpay
from tests.live_server import LiveServer, call
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.commerce.orders import online, service
from xuyen.commerce.orders.building import LineIn, PaymentIn
from xuyen.commerce.orders.gateways import vnpay
from xuyen.commerce.orders.models import OrderStatus, PaymentMethod
from xuyen.config import Settings

TMN, SECRET = "XUYEN001", "BIMATVNPAYTHU0123456789ABCDEFGH"


@pytest.fixture
def gateway(db_url: str, engine: Engine) -> Iterator[tuple[FakeVnpay, str, str]]:
    """The fake VNPay, and our app served for real so that the fake can call its IPN: (fake, app URL, key)."""
    fake = FakeVnpay(tmn_code=TMN, hash_secret=SECRET)
    with serving(fake.app()) as vnpay_url:
        settings = Settings(database_url=db_url, env="test", log_json=False, vnpay_tmn_code=TMN,
                            vnpay_hash_secret=SECRET, vnpay_payment_url=f"{vnpay_url}/paymentv2/vpcpay.html",
                            vnpay_return_url="https://shop.example.vn/thanh-toan/ket-qua")
        server = LiveServer(settings, engine)
        server.start()
        fake.ipn_url = f"{server.url}/payments/vnpay/ipn"
        try:
            yield fake, server.url, vnpay_url
        finally:
            server.stop()


def _pending_order(session: Session) -> int:
    make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN,
                                   payments=[PaymentIn(PaymentMethod.vnpay)], actor="web")
    return order.id


def test_a_vnpay_payment_places_the_order_once(session: Session, gateway: tuple[FakeVnpay, str, str]) -> None:
    _fake, app_url, vnpay_url = gateway
    order_id = _pending_order(session)
    _row, key = auth_service.create_api_key(session, name="web shop", role=Role.agent)
    answer = call("POST", f"{app_url}{API}/orders/{order_id}/payments/vnpay", params={"customer_ip": "113.161.1.2"},
                        headers=bearer(key))
    assert answer.status_code == 200, answer.text
    url = answer.json()["url"]
    sent = dict(parse_qsl(urlsplit(url).query))
    assert sent["vnp_Amount"] == "34900000" and sent["vnp_IpAddr"] == "113.161.1.2"
    page = call("GET", url)
    assert page.status_code == 200 and "X-Fake-Error" not in page.headers and "349000 VND" in page.text
    txn_ref = sent["vnp_TxnRef"]
    assert call("POST", f"{vnpay_url}/_fake/pay", data={"txn_ref": txn_ref}).json() == {
        "RspCode": "00", "Message": "Confirm Success"}
    session.rollback()
    order = service.get_order(session, order_id=order_id)
    assert order.status is OrderStatus.placed and order.paid_at is not None
    assert call("POST", f"{vnpay_url}/_fake/pay", data={"txn_ref": txn_ref}).json()["RspCode"] == "02"


def test_forged_wrongly_priced_and_failed_reports_change_nothing(session: Session,
                                                                gateway: tuple[FakeVnpay, str, str]) -> None:
    fake, app_url, vnpay_url = gateway
    order_id = _pending_order(session)
    config = vnpay.VnpayConfig(tmn_code=TMN, hash_secret=SECRET, payment_url=f"{vnpay_url}/paymentv2/vpcpay.html",
                               return_url="https://shop.example.vn/kq")
    url = online.vnpay_payment_url(session, order_id=order_id, ip="1.2.3.4", config=config)
    assert call("GET", url).headers.get("X-Fake-Error") is None
    tampered = url.replace("vnp_Amount=34900000", "vnp_Amount=100")
    assert call("GET", tampered).headers.get("X-Fake-Error") == "70"
    txn_ref = dict(parse_qsl(urlsplit(url).query))["vnp_TxnRef"]
    ipn = f"{app_url}/payments/vnpay/ipn"

    forged = {**fake.ipn_params(txn_ref), "vnp_TransactionNo": "999"}
    assert call("GET", ipn, params=forged).json()["RspCode"] == "97"
    cheap = fake.ipn_params(txn_ref)
    cheap["vnp_Amount"] = "100"
    cheap["vnp_SecureHash"] = vnpay.sign(cheap, SECRET)
    assert call("GET", ipn, params=cheap).json()["RspCode"] == "04"
    unknown = fake.ipn_params(txn_ref)
    unknown["vnp_TxnRef"] = "WEB-999999-1"
    unknown["vnp_SecureHash"] = vnpay.sign(unknown, SECRET)
    assert call("GET", ipn, params=unknown).json()["RspCode"] == "01"
    assert call("GET", ipn, params=fake.ipn_params(txn_ref, response_code="24")).json()["RspCode"] == "00"
    session.rollback()
    assert service.get_order(session, order_id=order_id).status is OrderStatus.pending_payment


def test_the_amount_is_scaled_only_at_the_gateway() -> None:
    assert vnpay.to_vnp_amount(349_000) == "34900000"
    assert vnpay.from_vnp_amount("34900000") == 349_000
    assert vnpay.from_vnp_amount("34900050") is None and vnpay.from_vnp_amount("-1") is None
    params = {"vnp_Amount": "100", "vnp_TxnRef": "A B&C", "vnp_Empty": "", "other": "x"}
    assert vnpay.signing_text(params) == "vnp_Amount=100&vnp_TxnRef=A+B%26C"
    signed = {**params, "vnp_SecureHash": vnpay.sign(params, "s")}
    assert vnpay.verify(signed, "s") and not vnpay.verify(signed, "other") and not vnpay.verify(params, "s")


def test_a_vnpay_payment_for_an_order_cancelled_meanwhile_is_recorded_for_a_refund(
        session: Session, gateway: tuple[FakeVnpay, str, str]) -> None:
    _fake, _app_url, vnpay_url = gateway
    order_id = _pending_order(session)
    config = vnpay.VnpayConfig(tmn_code=TMN, hash_secret=SECRET, payment_url=f"{vnpay_url}/paymentv2/vpcpay.html",
                               return_url="https://shop.example.vn/kq")
    url = online.vnpay_payment_url(session, order_id=order_id, ip="1.2.3.4", config=config)
    assert call("GET", url).headers.get("X-Fake-Error") is None
    txn_ref = dict(parse_qsl(urlsplit(url).query))["vnp_TxnRef"]
    service.cancel_order(session, order_id=order_id, actor="staff", reason="khách đổi ý")
    assert call("POST", f"{vnpay_url}/_fake/pay", data={"txn_ref": txn_ref}).json()["RspCode"] == "00"
    session.rollback()
    order = service.get_order(session, order_id=order_id)
    assert order.status is OrderStatus.cancelled and order.needs_attention and "refund" in order.attention_reason
    assert call("POST", f"{vnpay_url}/_fake/pay", data={"txn_ref": txn_ref}).json()["RspCode"] == "02"
