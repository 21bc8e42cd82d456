"""A local fake of Shopee Open Platform v2: signed calls, token refresh, orders, stock, and signed pushes.

What it keeps of the real protocol:

- every call carries ``partner_id``, ``timestamp`` (seconds, refused beyond 5 minutes off), ``access_token``,
  ``shop_id`` and ``sign`` (hex HMAC-SHA256 of partner_id + path + timestamp + access_token + shop_id with the
  partner key; the auth endpoints sign partner_id + path + timestamp only) as query parameters;
- answers are JSON ``{"error": "", "message": "", "request_id": ..., "response": {...}}``; refusals carry an
  ``error`` code: ``error_sign`` (wrong sign), ``error_auth`` ("Invalid access_token." — expired or unknown),
  ``error_param`` (a bad argument, a time range over 15 days), ``error_too_many_request`` (HTTP 429),
  ``error_server`` (HTTP 500);
- ``/api/v2/auth/access_token/get`` trades a refresh token (single use) for a new access and refresh token;
- ``get_order_list`` pages by ``cursor`` with ``more``/``next_cursor``; ``get_order_detail`` takes up to 50
  ``order_sn_list`` entries and gives item_list, buyer and address (the phone masked);
- ``update_stock`` sets each model's ``seller_stock``; ``get_model_list`` / ``get_item_base_info`` read it back
  in ``stock_info_v2``;
- pushes carry ``Authorization: hex HMAC-SHA256(callback URL + "|" + body)`` with the partner key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAX_RANGE_SECONDS = 15 * 86_400
AUTH_PATHS = frozenset({"/api/v2/auth/access_token/get", "/api/v2/auth/token/get"})


def sign(partner_key: str, base: str) -> str:
    """hex HMAC-SHA256 of ``base`` with ``partner_key``."""
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    """A push body as Shopee writes it: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class ShopeeOrder:
    """An order in the fake shop."""

    order_sn: str
    status: str
    create_time: int
    update_time: int
    items: list[dict[str, Any]]
    total_amount: float
    buyer_user_id: int = 0
    buyer_username: str = ""
    phone: str = "84******89"
    cod: bool = True


@dataclass
class FakeShopee:
    """The platform's state: one partner app, its authorised shops, their orders and stock."""

    partner_id: int = 2_001_234
    partner_key: str = field(default_factory=lambda: secrets.token_hex(32))
    tokens: dict[int, dict[str, Any]] = field(default_factory=dict)  # shop_id -> access/refresh/expired
    orders: dict[int, dict[str, ShopeeOrder]] = field(default_factory=dict)
    stock: dict[int, dict[tuple[int, int], int]] = field(default_factory=dict)  # shop -> (item, model) -> stock
    failures: list[tuple[int, str]] = field(default_factory=list)  # next answers: (HTTP status, error code)
    calls: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    # Setting up ---------------------------------------------------------------------------------------

    def authorise(self, shop_id: int) -> dict[str, str]:
        """Authorise a shop for the app; its first token pair."""
        pair = {"access_token": secrets.token_hex(16), "refresh_token": secrets.token_hex(16)}
        self.tokens[shop_id] = {**pair, "expired": False}
        self.orders.setdefault(shop_id, {})
        self.stock.setdefault(shop_id, {})
        return pair

    def expire_token(self, shop_id: int) -> None:
        """Make the shop's access token expire (its refresh token still works)."""
        self.tokens[shop_id]["expired"] = True

    def add_order(self, shop_id: int, order: ShopeeOrder) -> None:
        """Place or change an order (the caller sends the push, or does not)."""
        self.orders[shop_id][order.order_sn] = order

    def fail_next(self, *failures: tuple[int, str]) -> None:
        """Answer the next calls with these failures (429 ``error_too_many_request``, 500 ``error_server``…)."""
        self.failures.extend(failures)

    def calls_to(self, path: str) -> list[tuple[str, dict[str, str], Any]]:
        """The calls made to ``path`` (signed and accepted or not)."""
        return [call for call in self.calls if call[0] == path]

    # Pushes -------------------------------------------------------------------------------------------

    def order_push(self, shop_id: int, order_sn: str, *, callback_url: str) -> tuple[bytes, dict[str, str]]:
        """An order status push (code 3) for the order as it stands: body and headers."""
        order = self.orders[shop_id][order_sn]
        body = encode({"data": {"items": [], "ordersn": order_sn, "status": order.status,
                                "update_time": order.update_time},
                       "shop_id": shop_id, "code": 3, "timestamp": int(time.time())})
        return body, self.push_headers(body, callback_url=callback_url)

    def push_headers(self, body: bytes, *, callback_url: str) -> dict[str, str]:
        """The headers Shopee sends with ``body``."""
        digest = hmac.new(self.partner_key.encode(), callback_url.encode() + b"|" + body, hashlib.sha256)
        return {"Authorization": digest.hexdigest(), "Content-Type": "application/json"}

    # The API ------------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        """The ASGI app serving the API."""
        return Starlette(routes=[Route("/api/v2/{rest:path}", self._endpoint, methods=["GET", "POST"])])

    async def _endpoint(self, request: Request) -> JSONResponse:
        path = request.url.path
        query = dict(request.query_params)
        body: Any = None
        if request.method == "POST":
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                return _error(400, "error_param", "Body is not JSON.")
        self.calls.append((path, query, body))
        refused = self._check_common(path, query)
        if refused is not None:
            return refused
        if self.failures:
            status, error = self.failures.pop(0)
            return _error(status, error, "Injected failure.")
        if path in AUTH_PATHS:
            return self._refresh(body)
        shop_id = int(query["shop_id"])
        handler = {
            "/api/v2/order/get_order_list": self._order_list,
            "/api/v2/order/get_order_detail": self._order_detail,
            "/api/v2/product/update_stock": self._update_stock,
            "/api/v2/product/get_model_list": self._model_list,
            "/api/v2/product/get_item_base_info": self._item_base_info,
        }.get(path)
        if handler is None:
            return _error(404, "error_not_found", "Wrong API path.")
        return handler(shop_id, query, body)

    def _check_common(self, path: str, query: dict[str, str]) -> JSONResponse | None:
        try:
            partner_id, timestamp, given = int(query["partner_id"]), int(query["timestamp"]), query["sign"]
        except (KeyError, ValueError):
            return _error(403, "error_param", "partner_id, timestamp and sign are required.")
        if partner_id != self.partner_id:
            return _error(403, "error_auth", "Invalid partner_id.")
        if abs(time.time() - timestamp) > 300:
            return _error(403, "error_auth", "Invalid timestamp.")
        base = f"{partner_id}{path}{timestamp}"
        if path not in AUTH_PATHS:
            base += f"{query.get('access_token', '')}{query.get('shop_id', '')}"
        if not hmac.compare_digest(given, sign(self.partner_key, base)):
            return _error(403, "error_sign", "Wrong sign.")
        if path in AUTH_PATHS:
            return None
        shop = self.tokens.get(int(query.get("shop_id") or 0))
        if shop is None or shop["expired"] or query.get("access_token") != shop["access_token"]:
            return _error(403, "error_auth", "Invalid access_token.")
        return None

    def _refresh(self, body: Any) -> JSONResponse:
        if not isinstance(body, dict):
            return _error(400, "error_param", "Body is required.")
        shop = self.tokens.get(int(body.get("shop_id") or 0))
        if shop is None or body.get("refresh_token") != shop["refresh_token"]:
            return JSONResponse({"error": "error_param", "message": "Invalid refresh_token.",
                                 "request_id": secrets.token_hex(8)}, status_code=403)
        shop.update(access_token=secrets.token_hex(16), refresh_token=secrets.token_hex(16), expired=False)
        return JSONResponse({"error": "", "message": "", "request_id": secrets.token_hex(8),
                             "access_token": shop["access_token"], "refresh_token": shop["refresh_token"],
                             "expire_in": 14_400, "partner_id": self.partner_id, "shop_id": body["shop_id"]})

    def _order_list(self, shop_id: int, query: dict[str, str], _: Any) -> JSONResponse:
        try:
            start, end = int(query["time_from"]), int(query["time_to"])
            size = int(query.get("page_size", "20"))
        except (KeyError, ValueError):
            return _error(400, "error_param", "time_from, time_to and page_size are required.")
        if query.get("time_range_field") not in ("create_time", "update_time"):
            return _error(400, "error_param", "Wrong time_range_field.")
        if end - start > MAX_RANGE_SECONDS or end < start:
            return _error(400, "error_param", "The time range can not exceed 15 days.")
        if not 1 <= size <= 100:
            return _error(400, "error_param", "page_size should be between 1 and 100.")
        field_name = query["time_range_field"]
        rows = sorted((order for order in self.orders[shop_id].values()
                       if start <= getattr(order, field_name) <= end), key=lambda order: order.order_sn)
        offset = int(query.get("cursor") or 0)
        page = rows[offset:offset + size]
        more = offset + size < len(rows)
        return _ok({"more": more, "next_cursor": str(offset + size) if more else "",
                    "order_list": [{"order_sn": order.order_sn, "order_status": order.status} for order in page]})

    def _order_detail(self, shop_id: int, query: dict[str, str], _: Any) -> JSONResponse:
        wanted = [sn for sn in query.get("order_sn_list", "").split(",") if sn]
        if not wanted or len(wanted) > 50:
            return _error(400, "error_param", "order_sn_list should have 1 to 50 entries.")
        optional = set(query.get("response_optional_fields", "").split(","))
        rows = []
        for sn in wanted:
            order = self.orders[shop_id].get(sn)
            if order is None:
                continue
            row: dict[str, Any] = {"order_sn": sn, "order_status": order.status, "create_time": order.create_time,
                                   "update_time": order.update_time, "currency": "VND", "region": "VN"}
            if "item_list" in optional:
                row["item_list"] = order.items
            if "total_amount" in optional:
                row["total_amount"] = order.total_amount
            if "buyer_user_id" in optional:
                row["buyer_user_id"] = order.buyer_user_id
            if "buyer_username" in optional:
                row["buyer_username"] = order.buyer_username
            if "recipient_address" in optional:
                row["recipient_address"] = {"name": "N*** V*** A", "phone": order.phone, "town": "", "district":
                                            "Quận 1", "city": "", "state": "TP. Hồ Chí Minh", "region": "VN",
                                            "zipcode": "", "full_address": "****"}
            if "payment_method" in optional:
                row["payment_method"] = "Cash on Delivery" if order.cod else "ShopeePay"
            if "cod" in optional:
                row["cod"] = order.cod
            if "estimated_shipping_fee" in optional:
                row["estimated_shipping_fee"] = 30000.0
            rows.append(row)
        return _ok({"order_list": rows})

    def _update_stock(self, shop_id: int, _: dict[str, str], body: Any) -> JSONResponse:
        if not isinstance(body, dict) or not isinstance(body.get("item_id"), int) \
                or not isinstance(body.get("stock_list"), list):
            return _error(400, "error_param", "item_id and stock_list are required.")
        item_id, success, failure = body["item_id"], [], []
        known = self.stock[shop_id]
        for entry in body["stock_list"]:
            model_id = int(entry.get("model_id", 0))
            levels = entry.get("seller_stock") or []
            if (item_id, model_id) not in known:
                failure.append({"model_id": model_id, "failed_reason": "Model not found."})
                continue
            if not levels or any(not isinstance(level.get("stock"), int) or level["stock"] < 0 for level in levels):
                failure.append({"model_id": model_id, "failed_reason": "Invalid stock."})
                continue
            known[(item_id, model_id)] = sum(level["stock"] for level in levels)
            success.append({"model_id": model_id, "stock": known[(item_id, model_id)]})
        return _ok({"failure_list": failure, "success_list": success})

    def _model_list(self, shop_id: int, query: dict[str, str], _: Any) -> JSONResponse:
        item_id = int(query.get("item_id") or 0)
        models = [{"model_id": model_id, "model_sku": f"M{model_id}",
                   "stock_info_v2": {"summary_info": {"total_reserved_stock": 0, "total_available_stock": stock},
                                     "seller_stock": [{"stock": stock}]}}
                  for (item, model_id), stock in self.stock[shop_id].items() if item == item_id and model_id]
        if not models:
            return _error(400, "error_item_not_found", "Item not found.")
        return _ok({"tier_variation": [], "model": models})

    def _item_base_info(self, shop_id: int, query: dict[str, str], _: Any) -> JSONResponse:
        ids = [int(value) for value in query.get("item_id_list", "").split(",") if value]
        items = [{"item_id": item, "has_model": False, "stock_info_v2": {"seller_stock": [{"stock": stock}]}}
                 for (item, model_id), stock in self.stock[shop_id].items() if item in ids and not model_id]
        return _ok({"item_list": items})


def _ok(response: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"error": "", "message": "", "request_id": secrets.token_hex(8), "response": response})


def _error(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message, "request_id": secrets.token_hex(8)}, status_code=status)
