"""The Lazada adapter against a local fake of the Lazada Open Platform, over real HTTP with real signatures."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.lazada import FakeLazada, LazadaOrder
from tests.fakes.server import serving
from xuyen.channels.lazada import LazadaAdapter
from xuyen.channels.lazada.adapter import map_status, order_status
from xuyen.channels.lazada.signing import api_sign, push_sign
from xuyen.channels.marketplace import (
    ListingRef,
    MarketplaceError,
    PayloadInvalid,
    SignatureInvalid,
    StockLevel,
    WebhookRequest,
    marketplace_adapter_class,
)

SELLER = "200045"


@pytest.fixture
def fake() -> FakeLazada:
    return FakeLazada()


@pytest.fixture
def adapter(fake: FakeLazada) -> Iterator[LazadaAdapter]:
    tokens = fake.authorise(SELLER)
    with serving(fake.app()) as url:
        built = LazadaAdapter(settings={"app_key": fake.app_key, "seller_id": SELLER, "api_base": f"{url}/rest",
                                        "auth_base": f"{url}/rest"},
                              secrets={"app_secret": fake.app_secret, **tokens})
        yield built
        built.close()


def _order(order_id: int, *, statuses: tuple[str, ...] = ("pending", "pending", "pending"),
           updated: int | None = None) -> LazadaOrder:
    now = int(time.time())
    items = [{"order_item_id": order_id * 10 + index, "order_id": order_id, "name": "Quần jean", "sku": sku,
              "shop_sku": f"{sku}_VNAMZ", "sku_id": sku_id, "product_id": 3001, "item_price": "250000.00",
              "paid_price": "240000.00", "voucher_seller": "10000.00", "status": status, "buyer_id": 5_550_001}
             for index, (sku, sku_id, status) in enumerate(
                 zip(("QJ-30", "QJ-30", "QJ-32"), ("9001", "9001", "9002"), statuses, strict=True))]
    return LazadaOrder(order_id=order_id, statuses=sorted(set(statuses)), created=now - 7200,
                       updated=updated or now - 120, items=items, price="750000.00", buyer_id=5_550_001,
                       first_name="Minh")


# Signing ------------------------------------------------------------------------------------------------


def test_api_signature_matches_a_vector_computed_independently() -> None:
    """The path, then every parameter but sign as key+value sorted by key; upper-case hex."""
    params = {"app_key": "100234", "timestamp": "1700000000000", "sign_method": "sha256", "access_token": "tok",
              "order_id": "42"}
    base = b"/order/getaccess_tokentokapp_key100234order_id42sign_methodsha256timestamp1700000000000"
    expected = hmac.new(b"secret", base, hashlib.sha256).hexdigest().upper()
    assert api_sign(api_path="/order/get", params=params, app_secret="secret") == expected
    assert api_sign(api_path="/order/get", params={**params, "sign": "X"}, app_secret="secret") == expected


def test_push_signature_is_the_app_key_followed_by_the_body() -> None:
    expected = hmac.new(b"secret", b'100234{"a":1}', hashlib.sha256).hexdigest()
    assert push_sign(app_key="100234", body=b'{"a":1}', app_secret="secret") == expected


def test_the_adapter_is_registered_under_its_entry_point() -> None:
    assert marketplace_adapter_class("lazada") is LazadaAdapter


def test_a_wrong_secret_is_refused_by_the_platform(adapter: LazadaAdapter) -> None:
    adapter.secrets["app_secret"] = "wrong"
    with pytest.raises(MarketplaceError) as caught:
        adapter.get_orders(order_ids=["1"])
    assert caught.value.provider_code == "IncompleteSignature" and not caught.value.retryable


# Pushes -------------------------------------------------------------------------------------------------


def _push(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="POST", headers={k.lower(): v for k, v in headers.items()}, query={}, body=body,
                          received_at=datetime.now(UTC))


def test_a_signed_trade_order_push_is_verified_and_read(fake: FakeLazada, adapter: LazadaAdapter) -> None:
    fake.add_order(SELLER, _order(71001, updated=1_765_000_000))
    body, headers = fake.order_push(SELLER, 71001)
    adapter.verify_push(_push(body, headers), callback_url="")
    notice = adapter.parse_push(_push(body, headers))
    assert (notice.kind, notice.account, notice.order_id, notice.status, notice.raw_status) == \
        ("order", SELLER, "71001", "to_ship", "pending")
    assert notice.updated_at == datetime.fromtimestamp(1_765_000_000, UTC)


@pytest.mark.parametrize("tamper", ["body", "missing", "secret"])
def test_a_push_not_signed_exactly_is_refused(fake: FakeLazada, adapter: LazadaAdapter, tamper: str) -> None:
    fake.add_order(SELLER, _order(71001))
    body, headers = fake.order_push(SELLER, 71001)
    if tamper == "body":
        body = body.replace(b"pending", b"canceled")
    elif tamper == "missing":
        headers.pop("Authorization")
    else:
        adapter.secrets["app_secret"] = "other"
    with pytest.raises(SignatureInvalid):
        adapter.verify_push(_push(body, headers), callback_url="")


@pytest.mark.parametrize("body", [b"\xff", b"[]", b'{"message_type":"0"}', b'{"message_type":0,"seller_id":"1"}'])
def test_a_malformed_push_is_refused(adapter: LazadaAdapter, body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        adapter.parse_push(_push(body, {}))


# Orders -------------------------------------------------------------------------------------------------


def test_an_order_and_its_unit_rows_are_read_into_lines(fake: FakeLazada, adapter: LazadaAdapter) -> None:
    fake.add_order(SELLER, _order(71001))
    [order] = adapter.get_orders(order_ids=["71001", "404"])
    assert (order.order_id, order.status, order.total, order.buyer_id, order.buyer_name, order.phone) == \
        ("71001", "to_ship", 750_000, "5550001", "Minh", "")
    assert [(line.model_id, line.sku, line.quantity, line.unit_price, line.discount) for line in order.lines] == \
        [("", "QJ-30", 2, 250_000, 20_000), ("", "QJ-32", 1, 250_000, 10_000)]
    assert order.payment_method == "cod" and order.shipping_fee == 25_000


@pytest.mark.parametrize(("raw", "state"), [
    ("unpaid", "unpaid"), ("pending", "to_ship"), ("packed", "to_ship"), ("ready_to_ship", "to_ship"),
    ("shipped", "shipped"), ("delivered", "delivered"), ("confirmed", "delivered"), ("canceled", "cancelled"),
    ("returned", "returned"), ("failed_delivery", "returned")])
def test_statuses_map_onto_the_sync_states(raw: str, state: str) -> None:
    assert map_status(raw) == state


def test_an_order_whose_items_differ_stands_where_its_least_advanced_item_does() -> None:
    assert order_status(["delivered", "shipped", "canceled"]) == "shipped"
    assert order_status(["canceled", "canceled"]) == "cancelled"


def test_the_order_list_pages_by_offset(fake: FakeLazada, adapter: LazadaAdapter) -> None:
    for index in range(205):
        fake.add_order(SELLER, _order(80000 + index))
    now = datetime.now(UTC)
    found = list(adapter.list_updated_orders(since=now - timedelta(days=1), until=now))
    assert len({ref.order_id for ref in found}) == 205
    assert len(fake.calls_to("/orders/get")) == 3


def test_an_expired_token_is_refreshed_and_the_old_refresh_token_is_used_up(fake: FakeLazada,
                                                                            adapter: LazadaAdapter) -> None:
    fake.add_order(SELLER, _order(71001))
    old = adapter.secrets["refresh_token"]
    fake.expire_token(SELLER)
    assert [order.order_id for order in adapter.get_orders(order_ids=["71001"])] == ["71001"]
    assert adapter.rotated is not None and adapter.rotated.refresh_token != old
    adapter.secrets["refresh_token"] = old
    with pytest.raises(MarketplaceError) as caught:
        adapter.refresh_tokens()
    assert caught.value.credentials_revoked


# Stock --------------------------------------------------------------------------------------------------


def test_sellable_quantities_are_set_and_read_back(fake: FakeLazada, adapter: LazadaAdapter) -> None:
    fake.stock[SELLER].update({("3001", "QJ-30"): 1, ("3001", "QJ-32"): 2})
    levels = [StockLevel(ListingRef("3001", sku="QJ-30"), 7), StockLevel(ListingRef("3001", sku="QJ-32"), 0)]
    assert all(result.accepted for result in adapter.set_stock(levels=levels))
    assert fake.stock[SELLER] == {("3001", "QJ-30"): 7, ("3001", "QJ-32"): 0}
    assert adapter.get_stock(listings=[level.listing for level in levels]) == \
        {ListingRef("3001", sku="QJ-30"): 7, ListingRef("3001", sku="QJ-32"): 0}
    call = fake.calls_to("/product/price_quantity/update")[0][1]
    assert "<SellableQuantity>7</SellableQuantity>" in call["payload"]


def test_an_unknown_sku_is_refused_by_itself(fake: FakeLazada, adapter: LazadaAdapter) -> None:
    fake.stock[SELLER][("3001", "QJ-30")] = 1
    results = adapter.set_stock(levels=[StockLevel(ListingRef("3001", sku="QJ-30"), 4),
                                        StockLevel(ListingRef("3001", sku="NOPE"), 4)])
    assert [result.accepted for result in results] == [True, False]
    assert results[1].error == "SKU not found" and fake.stock[SELLER][("3001", "QJ-30")] == 4


@pytest.mark.parametrize(("kind", "code", "rate_limited"), [("ISP", "ApiCallLimit", True),
                                                            ("SYSTEM", "ServiceTimeout", False)])
def test_throttling_and_outages_are_retryable(fake: FakeLazada, adapter: LazadaAdapter, kind: str, code: str,
                                              rate_limited: bool) -> None:
    fake.stock[SELLER][("3001", "QJ-30")] = 1
    fake.fail_next((kind, code))
    with pytest.raises(MarketplaceError) as caught:
        adapter.set_stock(levels=[StockLevel(ListingRef("3001", sku="QJ-30"), 4)])
    assert caught.value.retryable and caught.value.rate_limited is rate_limited


_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_values = st.text(min_size=0, max_size=20)


@given(params=st.dictionaries(_names, _values, max_size=8), secret=st.text(min_size=1, max_size=20))
def test_the_signature_is_the_same_whatever_the_order_of_the_parameters(params: dict[str, str], secret: str) -> None:
    base = "/orders/get" + "".join(key + params[key] for key in sorted(params) if key != "sign")
    expected = hmac.new(secret.encode(), base.encode(), hashlib.sha256).hexdigest().upper()
    reordered = dict(reversed(list(params.items())))
    assert api_sign(api_path="/orders/get", params=params, app_secret=secret) == expected
    assert api_sign(api_path="/orders/get", params=reordered, app_secret=secret) == expected


@given(body=st.binary(min_size=1, max_size=200), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_any_changed_byte_breaks_a_push_signature(body: bytes, position: int, flip: int) -> None:
    adapter = LazadaAdapter(settings={"app_key": "100234", "seller_id": SELLER},
                            secrets={"app_secret": "s", "access_token": "a", "refresh_token": "r"})
    headers = {"authorization": push_sign(app_key="100234", body=body, app_secret="s")}
    adapter.verify_push(_push(body, headers), callback_url="")
    index = position % len(body)
    changed = body[:index] + bytes([body[index] ^ flip]) + body[index + 1:]
    with pytest.raises(SignatureInvalid):
        adapter.verify_push(_push(changed, headers), callback_url="")
    adapter.close()
