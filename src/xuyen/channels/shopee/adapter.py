"""The Shopee adapter: signed calls to the Open Platform v2, token refresh, order list and detail, stock, pushes.

Every call carries ``partner_id``, ``timestamp`` (seconds), ``access_token``, ``shop_id`` and ``sign`` as query
parameters; answers are JSON with ``error`` (empty on success), ``message``, ``request_id`` and ``response``.
An expired access token (``error_auth``) is refreshed once with the refresh token (which rotates) and the call
made again; the new pair is left in ``rotated`` for the caller to keep.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from xuyen.channels.marketplace import (
    ListingRef,
    MarketplaceAdapter,
    MarketplaceError,
    MarketplaceOrder,
    OrderLine,
    OrderRef,
    PayloadInvalid,
    PushNotice,
    RefusalKind,
    SignatureInvalid,
    StockLevel,
    StockResult,
    TokenPair,
    WebhookRequest,
    authorization_matches,
    buyer_contact,
    push_digest,
    read_push_json,
    refusal,
    token_refusal,
    whole_dong,
)
from xuyen.channels.shopee.signing import api_sign, push_sign

DEFAULT_API_BASE = "https://partner.shopeemobile.com"
ORDER_STATUS_PUSH = 3
DETAIL_FIELDS = ("buyer_user_id,buyer_username,item_list,total_amount,recipient_address,payment_method,"
                 "estimated_shipping_fee,actual_shipping_fee,pay_time,cod")
DETAIL_BATCH = 50
PAGE_SIZE = 100

#: Shopee's order states, onto the sync's.
STATUS_MAP: dict[str, str] = {
    "UNPAID": "unpaid", "READY_TO_SHIP": "to_ship", "PROCESSED": "to_ship", "RETRY_SHIP": "to_ship",
    "SHIPPED": "shipped", "TO_CONFIRM_RECEIVE": "shipped", "COMPLETED": "delivered", "IN_CANCEL": "cancelled",
    "CANCELLED": "cancelled", "TO_RETURN": "returned",
}
_AUTH_ERRORS = frozenset({"error_auth", "invalid_access_token", "error_token"})
_RATE_ERRORS = frozenset({"error_too_many_request", "error_busi_rate_limit"})


def map_status(raw: str) -> str:
    """Shopee's word for an order's state, as one of the sync's states (unknown ones count as to ship)."""
    return STATUS_MAP.get(raw.upper(), "to_ship")


class ShopeeAdapter(MarketplaceAdapter):
    """One Shopee shop, through the partner app it authorised."""

    kind: ClassVar[str] = "shopee"
    label: ClassVar[str] = "Shopee"
    settings_fields: ClassVar[Mapping[str, str]] = {
        "partner_id": "The app's Partner ID (Shopee Open Platform console)",
        "shop_id": "The shop's id (shop_id)",
        "api_base": "API address (default https://partner.shopeemobile.com)",
    }
    secret_fields: ClassVar[Mapping[str, str]] = {
        "partner_key": "The app's Partner Key",
        "access_token": "The shop's access token",
        "refresh_token": "The shop's refresh token",
    }

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """The API address has a default."""
        return frozenset({"api_base"})

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        super().__init__(settings=settings, secrets=secrets, http=http)
        if not str(self.settings["partner_id"]).strip().isdigit() or not str(self.settings["shop_id"]).isdigit():
            raise MarketplaceError("Shopee partner and shop ids are numbers; copy them from the Open Platform "
                                   "console.", code="settings_invalid")
        self.base = (self.settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")

    @property
    def account(self) -> str:
        """The shop id."""
        return str(self.settings["shop_id"])

    @classmethod
    def app_id(cls, settings: Mapping[str, str]) -> str:
        """The partner id."""
        return str(settings.get("partner_id", ""))

    # Pushes ---------------------------------------------------------------------------------------------

    def verify_push(self, request: WebhookRequest, *, callback_url: str) -> None:
        """Compare the ``Authorization`` header with the signature of the callback URL and raw body."""
        expected = push_sign(callback_url=callback_url, body=request.body, partner_key=self.secrets["partner_key"])
        if not authorization_matches(request, expected):
            raise SignatureInvalid("The push's Authorization header does not match this app's partner key and "
                                   "callback URL.")

    def parse_push(self, request: WebhookRequest) -> PushNotice:
        """An order status push (code 3) names the order; other pushes are kept as ``other``."""
        body = _json_object(request.body)
        code, shop_id, data = body.get("code"), body.get("shop_id"), body.get("data")
        if not isinstance(code, int) or not isinstance(data, dict | type(None)):
            raise PayloadInvalid("A Shopee push has a numeric code and a data object.")
        account = str(shop_id) if isinstance(shop_id, int) else ""
        if code != ORDER_STATUS_PUSH:
            return PushNotice(kind="other", account=account, dedupe_key=f"{code}:{push_digest(request.body)}")
        if data is None:
            raise PayloadInvalid("A Shopee order push carries its order in data.")
        ordersn, status, updated = data.get("ordersn"), data.get("status"), data.get("update_time")
        if not account or not isinstance(ordersn, str) or not ordersn or not isinstance(status, str):
            raise PayloadInvalid("A Shopee order push names shop_id, data.ordersn and data.status.")
        updated_at = _from_epoch(updated) if isinstance(updated, int) else None
        return PushNotice(kind="order", account=account, order_id=ordersn, status=map_status(status),
                          raw_status=status, updated_at=updated_at,
                          dedupe_key=f"{code}:{account}:{ordersn}:{status}:{updated}")

    # Tokens ---------------------------------------------------------------------------------------------

    def refresh_tokens(self) -> TokenPair:
        """``/api/v2/auth/access_token/get`` with the refresh token; both tokens come back new."""
        path = "/api/v2/auth/access_token/get"
        timestamp = int(time.time())
        partner_id = self.settings["partner_id"]
        params = {"partner_id": partner_id, "timestamp": str(timestamp),
                  "sign": api_sign(partner_id=partner_id, path=path, timestamp=timestamp,
                                   partner_key=self.secrets["partner_key"])}
        body = {"refresh_token": self.secrets["refresh_token"], "partner_id": int(partner_id),
                "shop_id": int(self.account)}
        answer = self._send("POST", path, params=params, body=body)
        error = str(answer.get("error") or "")
        if error:
            raise token_refusal(_failure(answer), label=self.label, owner="shop", code=error,
                                message=answer.get("message"))
        return self.keep_tokens(answer, expires_key="expire_in")

    # Orders ---------------------------------------------------------------------------------------------

    def list_updated_orders(self, *, since: datetime, until: datetime) -> Iterator[OrderRef]:
        """``get_order_list`` by update time, following ``next_cursor`` while ``more``."""
        cursor = ""
        while True:
            response = self._call("GET", "/api/v2/order/get_order_list", params={
                "time_range_field": "update_time", "time_from": str(int(since.timestamp())),
                "time_to": str(int(until.timestamp())), "page_size": str(PAGE_SIZE), "cursor": cursor,
                "response_optional_fields": "order_status"})
            for row in response.get("order_list") or []:
                yield OrderRef(order_id=str(row["order_sn"]), raw_status=str(row.get("order_status", "")))
            cursor = str(response.get("next_cursor") or "")
            if not response.get("more") or not cursor:
                return

    def get_orders(self, *, order_ids: Sequence[str]) -> list[MarketplaceOrder]:
        """``get_order_detail`` with the item list, buyer and address, up to 50 orders a call."""
        orders: list[MarketplaceOrder] = []
        for start in range(0, len(order_ids), DETAIL_BATCH):
            batch = order_ids[start:start + DETAIL_BATCH]
            response = self._call("GET", "/api/v2/order/get_order_detail", params={
                "order_sn_list": ",".join(batch), "response_optional_fields": DETAIL_FIELDS})
            orders.extend(self._order(row) for row in response.get("order_list") or [])
        return orders

    def _order(self, row: Mapping[str, Any]) -> MarketplaceOrder:
        try:
            lines = [OrderLine(item_id=str(item["item_id"]), model_id=_model(item.get("model_id")),
                               sku=str(item.get("model_sku") or item.get("item_sku") or ""),
                               name=" ".join(filter(None, (str(item.get("item_name") or ""),
                                                           str(item.get("model_name") or "")))),
                               quantity=int(item["model_quantity_purchased"]),
                               unit_price=_amount(item.get("model_discounted_price", item.get("model_original_price"))),
                               discount=0)
                     for item in row.get("item_list") or []]
            phone, address = buyer_contact(row.get("recipient_address") or {})
            raw_status = str(row["order_status"])
            return MarketplaceOrder(
                account=self.account, order_id=str(row["order_sn"]), status=map_status(raw_status),
                raw_status=raw_status, placed_at=_from_epoch(int(row["create_time"])),
                updated_at=_from_epoch(int(row["update_time"])), lines=lines, total=_amount(row.get("total_amount")),
                shipping_fee=_amount(row.get("actual_shipping_fee") or row.get("estimated_shipping_fee")),
                payment_method="cod" if row.get("cod") or "cash" in str(row.get("payment_method", "")).lower()
                else "marketplace",
                buyer_id=str(row.get("buyer_user_id") or ""), buyer_name=str(row.get("buyer_username") or ""),
                phone=phone, address=address, raw=dict(row))
        except (KeyError, TypeError, ValueError) as exc:
            raise MarketplaceError(f"Shopee's detail of order {row.get('order_sn')!r} lacks {exc}.",
                                   code="bad_answer") from exc

    # Stock ----------------------------------------------------------------------------------------------

    def set_stock(self, *, levels: Sequence[StockLevel]) -> list[StockResult]:
        """``update_stock`` per item, each model's seller stock set to the level."""
        by_item: dict[str, list[StockLevel]] = {}
        for level in levels:
            by_item.setdefault(level.listing.item_id, []).append(level)
        results: dict[ListingRef, StockResult] = {}
        for item_id, item_levels in by_item.items():
            response = self._call("POST", "/api/v2/product/update_stock", body={
                "item_id": int(item_id),
                "stock_list": [{"model_id": int(level.listing.model_id or 0),
                                "seller_stock": [{"stock": max(level.quantity, 0)}]} for level in item_levels]})
            failed = {str(row.get("model_id")): str(row.get("failed_reason") or "refused")
                      for row in response.get("failure_list") or []}
            for level in item_levels:
                reason = failed.get(str(int(level.listing.model_id or 0)))
                results[level.listing] = StockResult(listing=level.listing, accepted=reason is None,
                                                     error=reason or "")
        return [results[level.listing] for level in levels]

    def get_stock(self, *, listings: Sequence[ListingRef]) -> dict[ListingRef, int]:
        """Each model's seller stock (``get_model_list``), or the item's for items without models."""
        found: dict[ListingRef, int] = {}
        for item_id in dict.fromkeys(listing.item_id for listing in listings):
            wanted = [listing for listing in listings if listing.item_id == item_id]
            if any(_model(listing.model_id) for listing in wanted):
                models = self._call("GET", "/api/v2/product/get_model_list", params={"item_id": item_id})
                stock = {str(row.get("model_id")): _seller_stock(row) for row in models.get("model") or []}
            else:
                base = self._call("GET", "/api/v2/product/get_item_base_info", params={"item_id_list": item_id})
                items = base.get("item_list") or []
                stock = {"": _seller_stock(items[0])} if items else {}
            for listing in wanted:
                key = _model(listing.model_id)
                if key in stock:
                    found[listing] = stock[key]
        return found

    # Calls ----------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.call_with_refresh(lambda: self._call_once(method, path, params=params, body=body))

    def _call_once(self, method: str, path: str, *, params: Mapping[str, str] | None,
                   body: Mapping[str, Any] | None) -> dict[str, Any]:
        timestamp = int(time.time())
        partner_id, token = self.settings["partner_id"], self.secrets["access_token"]
        common = {"partner_id": partner_id, "timestamp": str(timestamp), "access_token": token,
                  "shop_id": self.account,
                  "sign": api_sign(partner_id=partner_id, path=path, timestamp=timestamp,
                                   partner_key=self.secrets["partner_key"], access_token=token,
                                   shop_id=self.account)}
        answer = self._send(method, path, params={**common, **(params or {})}, body=body)
        if answer.get("error"):
            raise _failure(answer)
        response = answer.get("response")
        return response if isinstance(response, dict) else {}

    def _send(self, method: str, path: str, *, params: Mapping[str, str],
              body: Mapping[str, Any] | None) -> dict[str, Any]:
        reply, answer = self.request_json(method, self.base + path, params=dict(params),
                                          json=dict(body) if body is not None else None)
        if reply.status_code == 429 and not answer.get("error"):
            answer["error"] = "error_too_many_request"
        if reply.status_code >= 500 and not answer.get("error"):
            answer["error"] = "error_server"
        return answer


def _failure(answer: Mapping[str, Any]) -> MarketplaceError:
    error, message = str(answer.get("error")), str(answer.get("message") or "")
    return refusal("Shopee", code=error, message=message, kind=_refusal_kind(error, message))


def _refusal_kind(error: str, message: str) -> RefusalKind:
    if error in _RATE_ERRORS:
        return "rate_limited"
    if error in _AUTH_ERRORS and "token" in message.lower():
        return "auth_expired"
    if error == "error_server" or error.startswith("error_inner") or error == "error_system_busy":
        return "provider_error"
    return "refused"


def _json_object(body: bytes) -> dict[str, Any]:
    value = read_push_json(body)
    if not isinstance(value, dict):
        raise PayloadInvalid("The push body is not a JSON object.")
    return value


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _model(value: object) -> str:
    text = str(value or "").strip()
    return "" if text in ("", "0") else text


def _seller_stock(row: Mapping[str, Any]) -> int:
    info = row.get("stock_info_v2") or {}
    return sum(int(entry.get("stock", 0)) for entry in info.get("seller_stock") or [])


def _amount(value: object) -> int:
    return whole_dong(value, label="Shopee")
