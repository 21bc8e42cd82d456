"""The Shopee adapter against a local fake of Shopee Open Platform v2, over real HTTP with real signatures."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.server import serving
from tests.fakes.shopee import FakeShopee, ShopeeOrder
from xuyen.channels.marketplace import (
    ListingRef,
    MarketplaceError,
    PayloadInvalid,
    SignatureInvalid,
    StockLevel,
    WebhookRequest,
    marketplace_adapter_class,
)
from xuyen.channels.shopee import ShopeeAdapter
from xuyen.channels.shopee.adapter import map_status
from xuyen.channels.shopee.signing import api_sign, push_sign

SHOP = 880_001
CALLBACK = "https://shop.example.vn/webhooks/marketplaces/shopee/2001234"


@pytest.fixture
def fake() -> FakeShopee:
    return FakeShopee()


@pytest.fixture
def adapter(fake: FakeShopee) -> Iterator[ShopeeAdapter]:
    tokens = fake.authorise(SHOP)
    with serving(fake.app()) as url:
        built = ShopeeAdapter(settings={"partner_id": str(fake.partner_id), "shop_id": str(SHOP), "api_base": url},
                              secrets={"partner_key": fake.partner_key, **tokens})
        yield built
        built.close()


def _order(sn: str, *, status: str = "READY_TO_SHIP", updated: int | None = None) -> ShopeeOrder:
    now = int(time.time())
    return ShopeeOrder(order_sn=sn, status=status, create_time=now - 3600, update_time=updated or now - 60,
                       items=[{"item_id": 1001, "item_name": "Áo thun", "item_sku": "AT", "model_id": 5001,
                               "model_name": "Đen, M", "model_sku": "AT-DEN-M", "model_quantity_purchased": 2,
                               "model_original_price": 199000.0, "model_discounted_price": 179000.0}],
                       total_amount=388000.0, buyer_user_id=7_700_001, buyer_username="lan.nguyen")


# Signing ------------------------------------------------------------------------------------------------


def test_api_signature_matches_a_vector_computed_independently() -> None:
    """partner_id + path + timestamp + access_token + shop_id, HMAC-SHA256 hex with the partner key."""
    base = b"2001234/api/v2/order/get_order_list1700000000tok123880001"
    expected = hmac.new(b"secret-key", base, hashlib.sha256).hexdigest()
    assert api_sign(partner_id="2001234", path="/api/v2/order/get_order_list", timestamp=1700000000,
                    partner_key="secret-key", access_token="tok123", shop_id="880001") == expected
    public = hmac.new(b"secret-key", b"2001234/api/v2/auth/access_token/get1700000000", hashlib.sha256).hexdigest()
    assert api_sign(partner_id="2001234", path="/api/v2/auth/access_token/get", timestamp=1700000000,
                    partner_key="secret-key") == public


def test_push_signature_covers_the_callback_url_and_the_raw_body() -> None:
    body = b'{"code":3}'
    expected = hmac.new(b"k", CALLBACK.encode() + b"|" + body, hashlib.sha256).hexdigest()
    assert push_sign(callback_url=CALLBACK, body=body, partner_key="k") == expected


def test_the_adapter_is_registered_under_its_entry_point() -> None:
    assert marketplace_adapter_class("shopee") is ShopeeAdapter


def test_settings_that_are_not_numbers_are_refused(fake: FakeShopee) -> None:
    with pytest.raises(MarketplaceError, match="numbers"):
        ShopeeAdapter(settings={"partner_id": "abc", "shop_id": "1"},
                      secrets={"partner_key": "k", "access_token": "a", "refresh_token": "r"})


def test_a_wrong_partner_key_is_refused_by_the_platform(fake: FakeShopee, adapter: ShopeeAdapter) -> None:
    adapter.secrets["partner_key"] = "not-the-key"
    with pytest.raises(MarketplaceError) as caught:
        adapter.get_orders(order_ids=["X"])
    assert caught.value.provider_code == "error_sign" and not caught.value.retryable


# Pushes -------------------------------------------------------------------------------------------------


def _push(fake: FakeShopee, body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(method="POST", headers={k.lower(): v for k, v in headers.items()}, query={}, body=body,
                          received_at=datetime.now(UTC))


def test_a_signed_order_push_is_verified_and_read(fake: FakeShopee, adapter: ShopeeAdapter) -> None:
    fake.add_order(SHOP, _order("2512060001ABC", updated=1_765_000_000))
    body, headers = fake.order_push(SHOP, "2512060001ABC", callback_url=CALLBACK)
    request = _push(fake, body, headers)
    adapter.verify_push(request, callback_url=CALLBACK)
    notice = adapter.parse_push(request)
    assert (notice.kind, notice.account, notice.order_id, notice.status, notice.raw_status) == \
        ("order", str(SHOP), "2512060001ABC", "to_ship", "READY_TO_SHIP")
    assert notice.updated_at == datetime.fromtimestamp(1_765_000_000, UTC)
    again = adapter.parse_push(_push(fake, body, headers))
    assert again.dedupe_key == notice.dedupe_key


@pytest.mark.parametrize("tamper", ["body", "url", "missing", "key"])
def test_a_push_not_signed_exactly_is_refused(fake: FakeShopee, adapter: ShopeeAdapter, tamper: str) -> None:
    fake.add_order(SHOP, _order("S1"))
    body, headers = fake.order_push(SHOP, "S1", callback_url=CALLBACK)
    url = CALLBACK
    if tamper == "body":
        body = body.replace(b"READY_TO_SHIP", b"CANCELLED")
    elif tamper == "url":
        url = CALLBACK + "/other"
    elif tamper == "missing":
        headers.pop("Authorization")
    else:
        adapter.secrets["partner_key"] = "another"
    with pytest.raises(SignatureInvalid):
        adapter.verify_push(_push(fake, body, headers), callback_url=url)


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'{"code":"3"}', b'{"code":3,"shop_id":1,"data":{}}',
                                  b'{"code":3,"shop_id":1}', b'{"code":3,"shop_id":1,"data":null}'])
def test_a_malformed_push_is_refused(fake: FakeShopee, adapter: ShopeeAdapter, body: bytes) -> None:
    with pytest.raises(PayloadInvalid):
        adapter.parse_push(_push(fake, body, {}))


def test_other_pushes_are_kept_but_not_acted_on(fake: FakeShopee, adapter: ShopeeAdapter) -> None:
    notice = adapter.parse_push(_push(fake, b'{"code":4,"shop_id":880001,"data":{"ordersn":"A"}}', {}))
    assert notice.kind == "other" and notice.account == str(SHOP) and notice.order_id is None


# Orders -------------------------------------------------------------------------------------------------


def test_order_detail_is_read_into_plain_values(fake: FakeShopee, adapter: ShopeeAdapter) -> None:
    fake.add_order(SHOP, _order("S1"))
    [order] = adapter.get_orders(order_ids=["S1", "UNKNOWN"])
    assert (order.order_id, order.status, order.total, order.buyer_id, order.buyer_name) == \
        ("S1", "to_ship", 388_000, "7700001", "lan.nguyen")
    assert order.phone == ""  # Shopee masks it
    [line] = order.lines
    assert (line.item_id, line.model_id, line.sku, line.quantity, line.unit_price) == \
        ("1001", "5001", "AT-DEN-M", 2, 179_000)
    assert order.payment_method == "cod" and order.shipping_fee == 30_000


@pytest.mark.parametrize(("raw", "state"), [
    ("UNPAID", "unpaid"), ("READY_TO_SHIP", "to_ship"), ("PROCESSED", "to_ship"), ("SHIPPED", "shipped"),
    ("TO_CONFIRM_RECEIVE", "shipped"), ("COMPLETED", "delivered"), ("IN_CANCEL", "cancelled"),
    ("CANCELLED", "cancelled"), ("TO_RETURN", "returned")])
def test_statuses_map_onto_the_sync_states(raw: str, state: str) -> None:
    assert map_status(raw) == state


def test_the_order_list_follows_the_cursor_over_pages(fake: FakeShopee, adapter: ShopeeAdapter) -> None:
    for index in range(230):
        fake.add_order(SHOP, _order(f"S{index:04d}"))
    now = datetime.now(UTC)
    found = list(adapter.list_updated_orders(since=now - timedelta(days=1), until=now))
    assert len(found) == 230 and len({ref.order_id for ref in found}) == 230
    assert len(fake.calls_to("/api/v2/order/get_order_list")) == 3


def test_a_range_over_fifteen_days_is_refused_by_the_platform(fake: FakeShopee, adapter: ShopeeAdapter) -> None:
    now = datetime.now(UTC)
    with pytest.raises(MarketplaceError) as caught:
        list(adapter.list_updated_orders(since=now - timedelta(days=16), until=now))
    assert caught.value.provider_code == "error_param"


# Tokens -------------------------------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_once_and_the_call_made_again(fake: FakeShopee,
                                                                    adapter: ShopeeAdapter) -> None:
    old_refresh = adapter.secrets["refresh_token"]
    fake.add_order(SHOP, _order("S1"))
    fake.expire_token(SHOP)
    [order] = adapter.get_orders(order_ids=["S1"])
    assert order.order_id == "S1"
    assert adapter.rotated is not None and adapter.rotated.refresh_token != old_refresh
    assert fake.tokens[SHOP]["access_token"] == adapter.rotated.access_token
    # the old refresh token was used up
    adapter.secrets["refresh_token"] = old_refresh
    with pytest.raises(MarketplaceError) as caught:
        adapter.refresh_tokens()
    assert caught.value.credentials_revoked


# Stock --------------------------------------------------------------------------------------------------


def test_stock_is_set_per_model_and_read_back(fake: FakeShopee, adapter: ShopeeAdapter) -> None:
    fake.stock[SHOP].update({(1001, 5001): 3, (1001, 5002): 4, (1002, 0): 9})
    levels = [StockLevel(ListingRef("1001", "5001"), 12), StockLevel(ListingRef("1001", "5002"), 0),
              StockLevel(ListingRef("1002", ""), 5), StockLevel(ListingRef("1001", "9999"), 1)]
    results = adapter.set_stock(levels=levels)
    assert [result.accepted for result in results] == [True, True, True, False]
    assert "not found" in results[3].error
    assert fake.stock[SHOP] == {(1001, 5001): 12, (1001, 5002): 0, (1002, 0): 5}
    read = adapter.get_stock(listings=[level.listing for level in levels])
    assert read == {ListingRef("1001", "5001"): 12, ListingRef("1001", "5002"): 0, ListingRef("1002", ""): 5}


@pytest.mark.parametrize(("status", "error", "rate_limited"), [(429, "error_too_many_request", True),
                                                               (500, "error_server", False)])
def test_throttling_and_outages_are_retryable(fake: FakeShopee, adapter: ShopeeAdapter, status: int, error: str,
                                              rate_limited: bool) -> None:
    fake.stock[SHOP][(1001, 5001)] = 1
    fake.fail_next((status, error))
    with pytest.raises(MarketplaceError) as caught:
        adapter.set_stock(levels=[StockLevel(ListingRef("1001", "5001"), 2)])
    assert caught.value.retryable and caught.value.rate_limited is rate_limited
    assert fake.stock[SHOP][(1001, 5001)] == 1
