"""A local fake of the Lazada Open Platform: signed calls, token refresh, orders and items, stock, signed pushes.

What it keeps of the real protocol:

- every call carries ``app_key``, ``timestamp`` (milliseconds), ``sign_method=sha256``, ``access_token`` and
  ``sign``: upper-case hex HMAC-SHA256, keyed with the app secret, of the API path followed by every other
  parameter as key + value sorted by key (query parameters for GET, form fields for POST);
- answers are JSON ``{"code": "0", "request_id": ..., "data": ...}``; refusals are ``{"type": "ISV"|"ISP"|
  "SYSTEM", "code": ..., "message": ..., "request_id": ...}`` with HTTP 200: ``IncompleteSignature``,
  ``IllegalAccessToken``, ``InvalidParameter``, ``ApiCallLimit``, ``ServiceTimeout``;
- ``/auth/token/refresh`` (on the auth host) trades a refresh token (single use) for a new pair;
- ``/orders/get`` pages by ``offset``/``limit`` (≤ 100) over ``update_after``/``update_before`` (ISO 8601) with
  ``countTotal``; ``/order/get`` and ``/order/items/get`` (one row per unit); times as ``2026-12-01 10:00:00
  +0700`` and amounts as strings;
- ``/product/price_quantity/update`` takes an XML ``payload`` of SKUs with ``SellableQuantity``; ``/product/item/
  get`` reads the SKUs back;
- pushes carry ``Authorization: hex HMAC-SHA256(app_key + body)`` with the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

VN = timezone(timedelta(hours=7))


def lazada_time(seconds: int) -> str:
    """A time as Lazada writes it in orders."""
    return datetime.fromtimestamp(seconds, VN).strftime("%Y-%m-%d %H:%M:%S %z")


@dataclass
class LazadaOrder:
    """An order of the fake seller; ``items`` has one row per unit, as Lazada lists them."""

    order_id: int
    statuses: list[str]
    created: int
    updated: int
    items: list[dict[str, Any]]
    price: str
    buyer_id: int = 0
    first_name: str = ""
    phone: str = "84*******89"
    payment_method: str = "COD"


@dataclass
class FakeLazada:
    """The platform's state: one app, its sellers, their orders and SKUs' stock."""

    app_key: str = "100234"
    app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # seller_id -> access/refresh/expired
    orders: dict[str, dict[int, LazadaOrder]] = field(default_factory=dict)
    stock: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # seller -> (item, seller sku)
    failures: list[tuple[str, str]] = field(default_factory=list)  # next answers: (type, code)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def authorise(self, seller_id: str) -> dict[str, str]:
        """Authorise a seller for the app; its first token pair."""
        pair = {"access_token": secrets.token_hex(16), "refresh_token": secrets.token_hex(16)}
        self.tokens[seller_id] = {**pair, "expired": False}
        self.orders.setdefault(seller_id, {})
        self.stock.setdefault(seller_id, {})
        return pair

    def expire_token(self, seller_id: str) -> None:
        """Make the seller's access token expire."""
        self.tokens[seller_id]["expired"] = True

    def add_order(self, seller_id: str, order: LazadaOrder) -> None:
        """Place or change an order."""
        self.orders[seller_id][order.order_id] = order

    def fail_next(self, *failures: tuple[str, str]) -> None:
        """Answer the next calls with these refusals (``("ISP", "ApiCallLimit")``…)."""
        self.failures.extend(failures)

    def calls_to(self, path: str) -> list[tuple[str, dict[str, str]]]:
        """The calls made to ``path``."""
        return [call for call in self.calls if call[0] == path]

    def order_push(self, seller_id: str, order_id: int) -> tuple[bytes, dict[str, str]]:
        """A trade order push for the order's first line as it stands: body and headers."""
        order = self.orders[seller_id][order_id]
        line = order.items[0]
        body = json.dumps({"seller_id": seller_id, "message_type": 0,
                           "data": {"order_status": line["status"], "trade_order_id": str(order_id),
                                    "trade_order_line_id": str(line["order_item_id"]),
                                    "status_update_time": order.updated},
                           "timestamp": int(time.time()), "site": "lazada_vn"}, separators=(",", ":")).encode()
        return body, self.push_headers(body)

    def push_headers(self, body: bytes) -> dict[str, str]:
        """The headers Lazada sends with ``body``."""
        digest = hmac.new(self.app_secret.encode(), self.app_key.encode() + body, hashlib.sha256).hexdigest()
        return {"Authorization": digest, "Content-Type": "application/json"}

    # The API ------------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        """The ASGI app serving the API and the auth host (``/rest/...``)."""
        return Starlette(routes=[Route("/rest/{rest:path}", self._endpoint, methods=["GET", "POST"])])

    async def _endpoint(self, request: Request) -> JSONResponse:
        path = request.url.path.removeprefix("/rest")
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({key: str(value) for key, value in (await request.form()).items()})
        self.calls.append((path, params))
        refused = self._check_common(path, params)
        if refused is not None:
            return refused
        if self.failures:
            kind, code = self.failures.pop(0)
            return _error(kind, code, "Injected failure.")
        if path == "/auth/token/refresh":
            return self._refresh(params)
        seller = next((seller for seller, token in self.tokens.items()
                       if token["access_token"] == params.get("access_token")), None)
        if seller is None or self.tokens[seller]["expired"]:
            return _error("ISV", "IllegalAccessToken", "The specified access token is invalid or expired")
        handler = {"/orders/get": self._orders, "/order/get": self._order, "/order/items/get": self._items,
                   "/product/price_quantity/update": self._update, "/product/item/get": self._item}.get(path)
        if handler is None:
            return _error("ISV", "InvalidApiPath", "The specified API path is invalid")
        return handler(seller, params)

    def _check_common(self, path: str, params: dict[str, str]) -> JSONResponse | None:
        if params.get("app_key") != self.app_key:
            return _error("ISV", "InvalidAppKey", "The specified app key is invalid")
        if params.get("sign_method") != "sha256" or not params.get("timestamp", "").isdigit():
            return _error("ISV", "MissingParameter", "sign_method and timestamp are required")
        if abs(time.time() * 1000 - int(params["timestamp"])) > 7_200_000:
            return _error("ISV", "InvalidTimestamp", "The timestamp is too far from now")
        base = path + "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")
        expected = hmac.new(self.app_secret.encode(), base.encode(), hashlib.sha256).hexdigest().upper()
        if not hmac.compare_digest(params.get("sign", ""), expected):
            return _error("ISV", "IncompleteSignature", "The request signature does not conform to platform "
                                                        "standards")
        return None

    def _refresh(self, params: dict[str, str]) -> JSONResponse:
        seller = next((seller for seller, token in self.tokens.items()
                       if token["refresh_token"] == params.get("refresh_token")), None)
        if seller is None:
            return _error("ISV", "IllegalRefreshToken", "The specified refresh token is invalid or expired")
        token = self.tokens[seller]
        token.update(access_token=secrets.token_hex(16), refresh_token=secrets.token_hex(16), expired=False)
        return JSONResponse({"code": "0", "request_id": secrets.token_hex(8), "access_token": token["access_token"],
                             "refresh_token": token["refresh_token"], "expires_in": 604_800,
                             "refresh_expires_in": 2_592_000, "account": "shop@example.vn", "country": "vn",
                             "country_user_info": [{"country": "vn", "seller_id": seller, "user_id": seller,
                                                    "short_code": "VN" + seller}]})

    def _orders(self, seller: str, params: dict[str, str]) -> JSONResponse:
        try:
            after = datetime.fromisoformat(params["update_after"]).timestamp()
            before = datetime.fromisoformat(params["update_before"]).timestamp() if params.get("update_before") \
                else float("inf")
            offset, limit = int(params.get("offset", "0")), int(params.get("limit", "100"))
        except (KeyError, ValueError):
            return _error("ISV", "InvalidParameter", "update_after is required in ISO 8601")
        if not 1 <= limit <= 100:
            return _error("ISV", "InvalidParameter", "limit must be between 1 and 100")
        rows = sorted((order for order in self.orders[seller].values() if after <= order.updated <= before),
                      key=lambda order: (order.updated, order.order_id))
        page = rows[offset:offset + limit]
        return _ok({"count": len(page), "countTotal": len(rows), "orders": [self._head(order) for order in page]})

    def _head(self, order: LazadaOrder) -> dict[str, Any]:
        return {"order_id": order.order_id, "order_number": order.order_id, "statuses": order.statuses,
                "created_at": lazada_time(order.created), "updated_at": lazada_time(order.updated),
                "price": order.price, "shipping_fee": "25000.00", "payment_method": order.payment_method,
                "customer_first_name": order.first_name, "customer_last_name": "",
                "items_count": len(order.items), "buyer_id": order.buyer_id,
                "address_shipping": {"first_name": order.first_name, "phone": order.phone, "city": "Hà Nội",
                                     "address1": "****", "country": "Vietnam"}}

    def _order(self, seller: str, params: dict[str, str]) -> JSONResponse:
        order = self.orders[seller].get(int(params.get("order_id") or 0))
        if order is None:
            return _error("ISV", "ORDER_NOT_FOUND", "Order not found")
        return _ok(self._head(order))

    def _items(self, seller: str, params: dict[str, str]) -> JSONResponse:
        order = self.orders[seller].get(int(params.get("order_id") or 0))
        if order is None:
            return _error("ISV", "ORDER_NOT_FOUND", "Order not found")
        return _ok(order.items)

    def _update(self, seller: str, params: dict[str, str]) -> JSONResponse:
        try:
            root = ET.fromstring(params["payload"])  # noqa: S314  (the fake parses what our own adapter wrote)
        except (KeyError, ET.ParseError):
            return _error("ISV", "InvalidParameter", "payload is not valid XML")
        detail, known = [], self.stock[seller]
        for sku in root.iter("Sku"):
            item, seller_sku = sku.findtext("ItemId", ""), sku.findtext("SellerSku", "")
            quantity = sku.findtext("SellableQuantity", "")
            if (item, seller_sku) not in known:
                detail.append({"field": "SellerSku", "message": "SKU not found", "seller_sku": seller_sku})
            elif not quantity.isdigit():
                detail.append({"field": "SellableQuantity", "message": "Invalid quantity", "seller_sku": seller_sku})
            else:
                known[(item, seller_sku)] = int(quantity)
        if detail:
            return JSONResponse({"type": "ISV", "code": "500", "message": "Some SKUs were not updated",
                                 "detail": detail, "request_id": secrets.token_hex(8)})
        return _ok({})

    def _item(self, seller: str, params: dict[str, str]) -> JSONResponse:
        item = params.get("item_id", "")
        skus = [{"SellerSku": sku, "SkuId": f"{item}{index}", "quantity": stock}
                for index, ((item_id, sku), stock) in enumerate(self.stock[seller].items()) if item_id == item]
        if not skus:
            return _error("ISV", "ItemNotFound", "Item not found")
        return _ok({"item_id": int(item), "skus": skus})


def _ok(data: Any) -> JSONResponse:
    return JSONResponse({"code": "0", "request_id": secrets.token_hex(8), "data": data})


def _error(kind: str, code: str, message: str) -> JSONResponse:
    return JSONResponse({"type": kind, "code": code, "message": message, "request_id": secrets.token_hex(8)})


def now_seconds() -> int:
    """The current time in seconds (orders' times)."""
    return int(datetime.now(UTC).timestamp())
