"""The Lazada adapter: signed calls to the Open Platform, token refresh, orders and their items, stock, pushes.

Every call carries ``app_key``, ``timestamp`` (milliseconds), ``sign_method=sha256``, ``access_token`` and
``sign`` beside its own parameters; answers are JSON with ``code`` (``"0"`` on success), ``request_id`` and
``data``, or ``type``/``code``/``message`` when refused. An expired access token (``IllegalAccessToken``) is
refreshed once with the refresh token (which rotates) and the call made again; the new pair is left in
``rotated`` for the caller to keep.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from xml.sax.saxutils import escape

import httpx

from xuyen.channels.lazada.signing import api_sign, push_sign
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

DEFAULT_API_BASE = "https://api.lazada.vn/rest"
DEFAULT_AUTH_BASE = "https://auth.lazada.com/rest"
TRADE_ORDER_PUSH = 0
PAGE_SIZE = 100

#: Lazada's order (item) states, onto the sync's.
STATUS_MAP: dict[str, str] = {
    "unpaid": "unpaid", "pending": "to_ship", "packed": "to_ship", "ready_to_ship": "to_ship",
    "ready_to_ship_pending": "to_ship", "repacked": "to_ship", "topack": "to_ship", "toship": "to_ship",
    "shipped": "shipped", "shipped_back": "returned", "delivered": "delivered", "confirmed": "delivered",
    "canceled": "cancelled", "cancelled": "cancelled", "returned": "returned", "failed_delivery": "returned",
    "lost_by_3pl": "cancelled", "damaged_by_3pl": "cancelled", "package_returned": "returned",
}
# When an order's items stand in different states, the least advanced one (not cancelled) is the order's.
_PROGRESS = ("unpaid", "to_ship", "shipped", "delivered", "returned")
_AUTH_ERRORS = frozenset({"IllegalAccessToken"})
_REFRESH_ERRORS = frozenset({"IllegalRefreshToken", "IllegalAccessToken", "InvalidCode"})
_RATE_ERRORS = frozenset({"ApiCallLimit", "AppCallLimit", "SellerCallLimit"})
_LAZADA_TIME = "%Y-%m-%d %H:%M:%S %z"


def map_status(raw: str) -> str:
    """Lazada's word for an item's state, as one of the sync's states (unknown ones count as to ship)."""
    return STATUS_MAP.get(raw.strip().lower(), "to_ship")


def order_status(statuses: Sequence[str]) -> str:
    """The order's state from its items' states."""
    mapped = [map_status(raw) for raw in statuses] or ["to_ship"]
    live = [state for state in mapped if state != "cancelled"]
    if not live:
        return "cancelled"
    return min(live, key=_PROGRESS.index)


class LazadaAdapter(MarketplaceAdapter):
    """One Lazada seller, through the app it authorised."""

    kind: ClassVar[str] = "lazada"
    label: ClassVar[str] = "Lazada"
    settings_fields: ClassVar[Mapping[str, str]] = {
        "app_key": "The app's App Key (Lazada Open Platform console)",
        "seller_id": "The seller's id (seller_id)",
        "api_base": "API address (default https://api.lazada.vn/rest)",
        "auth_base": "Token address (default https://auth.lazada.com/rest)",
    }
    secret_fields: ClassVar[Mapping[str, str]] = {
        "app_secret": "The app's App Secret",
        "access_token": "The seller's access token",
        "refresh_token": "The seller's refresh token",
    }

    @classmethod
    def optional_fields(cls) -> frozenset[str]:
        """The addresses have defaults."""
        return frozenset({"api_base", "auth_base"})

    def __init__(self, *, settings: Mapping[str, str], secrets: Mapping[str, str],
                 http: httpx.Client | None = None) -> None:
        super().__init__(settings=settings, secrets=secrets, http=http)
        self.base = (self.settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        self.auth_base = (self.settings.get("auth_base") or DEFAULT_AUTH_BASE).rstrip("/")

    @property
    def account(self) -> str:
        """The seller id."""
        return str(self.settings["seller_id"])

    @classmethod
    def app_id(cls, settings: Mapping[str, str]) -> str:
        """The app key."""
        return str(settings.get("app_key", ""))

    # Pushes ---------------------------------------------------------------------------------------------

    def verify_push(self, request: WebhookRequest, *, callback_url: str) -> None:
        """Compare the ``Authorization`` header with the signature of the app key and raw body."""
        expected = push_sign(app_key=self.settings["app_key"], body=request.body,
                             app_secret=self.secrets["app_secret"])
        if not authorization_matches(request, expected):
            raise SignatureInvalid("The push's Authorization header does not match this app's key and secret.")

    def parse_push(self, request: WebhookRequest) -> PushNotice:
        """A trade order push (message type 0) names the order; other pushes are kept as ``other``."""
        body = read_push_json(request.body)
        if not isinstance(body, dict) or not isinstance(body.get("message_type"), int):
            raise PayloadInvalid("A Lazada push is a JSON object with a numeric message_type.")
        account, kind, data = str(body.get("seller_id") or ""), body["message_type"], body.get("data")
        if kind != TRADE_ORDER_PUSH:
            return PushNotice(kind="other", account=account, dedupe_key=f"{kind}:{push_digest(request.body)}")
        if not account or not isinstance(data, dict) or not data.get("trade_order_id") \
                or not isinstance(data.get("order_status"), str):
            raise PayloadInvalid("A Lazada trade order push names seller_id, data.trade_order_id and "
                                 "data.order_status.")
        order_id, raw = str(data["trade_order_id"]), str(data["order_status"])
        updated = data.get("status_update_time")
        return PushNotice(kind="order", account=account, order_id=order_id, status=map_status(raw), raw_status=raw,
                          updated_at=datetime.fromtimestamp(updated, UTC) if isinstance(updated, int) else None,
                          dedupe_key=f"{kind}:{account}:{order_id}:{data.get('trade_order_line_id', '')}:{raw}:"
                                     f"{updated}")

    # Tokens ---------------------------------------------------------------------------------------------

    def refresh_tokens(self) -> TokenPair:
        """``/auth/token/refresh`` with the refresh token; both tokens come back new."""
        answer = self._send(self.auth_base, "/auth/token/refresh",
                            {"refresh_token": self.secrets["refresh_token"]}, token=False, method="POST")
        code = str(answer.get("code", "0"))
        if code != "0":
            raise token_refusal(_failure(answer), label=self.label, owner="seller", code=code,
                                message=answer.get("message"))
        return self.keep_tokens(answer, expires_key="expires_in")

    # Orders ---------------------------------------------------------------------------------------------

    def list_updated_orders(self, *, since: datetime, until: datetime) -> Iterator[OrderRef]:
        """``GetOrders`` updated after ``since`` (and before ``until``), oldest change first, offset pages."""
        offset = 0
        while True:
            data = self._call("GET", "/orders/get", {
                "update_after": _iso(since), "update_before": _iso(until), "sort_by": "updated_at",
                "sort_direction": "ASC", "offset": str(offset), "limit": str(PAGE_SIZE)})
            rows = data.get("orders") or [] if isinstance(data, dict) else []
            for row in rows:
                yield OrderRef(order_id=str(row["order_id"]), raw_status=",".join(row.get("statuses") or []),
                               updated_at=_parse_time(str(row.get("updated_at", ""))))
            offset += len(rows)
            total = int(data.get("countTotal", 0)) if isinstance(data, dict) else 0
            if not rows or offset >= total:
                return

    def get_orders(self, *, order_ids: Sequence[str]) -> list[MarketplaceOrder]:
        """``GetOrder`` and ``GetOrderItems`` of each order."""
        orders = []
        for order_id in order_ids:
            try:
                head = self._call("GET", "/order/get", {"order_id": order_id})
            except MarketplaceError as exc:
                if exc.provider_code == "ORDER_NOT_FOUND":
                    continue
                raise
            items = self._call("GET", "/order/items/get", {"order_id": order_id})
            orders.append(self._order(head, items if isinstance(items, list) else []))
        return orders

    def _order(self, head: Any, items: list[Any]) -> MarketplaceOrder:
        if not isinstance(head, dict):
            raise MarketplaceError("Lazada's GetOrder answer is not an order.", code="bad_answer")
        try:
            grouped: dict[str, dict[str, Any]] = {}
            for item in items:  # Lazada lists one row per unit
                key = str(item.get("sku_id") or item.get("shop_sku") or item["sku"])
                line = grouped.setdefault(key, {"item": item, "quantity": 0, "voucher": 0})
                line["quantity"] += 1
                line["voucher"] += _amount(item.get("voucher_seller"))
            # a Lazada listing is its item and seller SKU (Lazada's own SKU id is not needed to find it)
            lines = [OrderLine(item_id=str(line["item"].get("product_id") or ""),
                               sku=str(line["item"].get("sku") or ""), name=str(line["item"].get("name") or ""),
                               quantity=line["quantity"], unit_price=_amount(line["item"].get("item_price")),
                               discount=line["voucher"])
                     for line in grouped.values()]
            phone, address = buyer_contact(head.get("address_shipping") or {})
            buyer = str(head.get("buyer_id") or next((str(i["buyer_id"]) for i in items if i.get("buyer_id")), ""))
            statuses = [str(status) for status in head.get("statuses") or []]
            return MarketplaceOrder(
                account=self.account, order_id=str(head["order_id"]), status=order_status(statuses),
                raw_status=",".join(statuses), placed_at=_parse_time(str(head["created_at"])),
                updated_at=_parse_time(str(head["updated_at"])), lines=lines, total=_amount(head.get("price")),
                shipping_fee=_amount(head.get("shipping_fee")),
                payment_method="cod" if "cod" in str(head.get("payment_method", "")).lower() else "marketplace",
                buyer_id=buyer,
                buyer_name=" ".join(filter(None, (str(head.get("customer_first_name") or ""),
                                                  str(head.get("customer_last_name") or "")))),
                phone=phone, address=address, raw={"order": head, "items": items})
        except (KeyError, TypeError, ValueError) as exc:
            raise MarketplaceError(f"Lazada's order {head.get('order_id')!r} lacks {exc}.", code="bad_answer") from exc

    # Stock ----------------------------------------------------------------------------------------------

    def set_stock(self, *, levels: Sequence[StockLevel]) -> list[StockResult]:
        """``UpdatePriceQuantity`` with each SKU's ``SellableQuantity``, up to 50 SKUs a call."""
        results: list[StockResult] = []
        for start in range(0, len(levels), 50):
            batch = levels[start:start + 50]
            skus = "".join(
                "<Sku>"
                f"<ItemId>{escape(level.listing.item_id)}</ItemId>"
                + (f"<SkuId>{escape(level.listing.model_id)}</SkuId>" if level.listing.model_id else "")
                + f"<SellerSku>{escape(level.listing.sku)}</SellerSku>"
                f"<SellableQuantity>{max(level.quantity, 0)}</SellableQuantity>"
                "</Sku>" for level in batch)
            payload = f"<Request><Product><Skus>{skus}</Skus></Product></Request>"
            try:
                self._call("POST", "/product/price_quantity/update", {"payload": payload})
            except MarketplaceError as exc:
                if exc.retryable or exc.auth_expired or not exc.details:
                    raise
                refused = {str(row.get("seller_sku", "")): str(row.get("message", "refused")) for row in exc.details}
                results.extend(StockResult(listing=level.listing, accepted=level.listing.sku not in refused,
                                           error=refused.get(level.listing.sku, "")) for level in batch)
                continue
            results.extend(StockResult(listing=level.listing, accepted=True) for level in batch)
        return results

    def get_stock(self, *, listings: Sequence[ListingRef]) -> dict[ListingRef, int]:
        """Each SKU's quantity as ``GetProductItem`` reports it."""
        found: dict[ListingRef, int] = {}
        for item_id in dict.fromkeys(listing.item_id for listing in listings):
            data = self._call("GET", "/product/item/get", {"item_id": item_id})
            skus = data.get("skus") or [] if isinstance(data, dict) else []
            for listing in (entry for entry in listings if entry.item_id == item_id):
                for sku in skus:
                    same_id = listing.model_id and str(sku.get("SkuId", "")) == listing.model_id
                    if same_id or (listing.sku and str(sku.get("SellerSku", "")) == listing.sku):
                        found[listing] = int(sku.get("quantity", 0))
                        break
        return found

    # Calls ----------------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, params: Mapping[str, str]) -> Any:
        return self.call_with_refresh(lambda: self._call_once(method, path, params))

    def _call_once(self, method: str, path: str, params: Mapping[str, str]) -> Any:
        answer = self._send(self.base, path, params, token=True, method=method)
        if str(answer.get("code", "0")) != "0":
            raise _failure(answer)
        return answer.get("data")

    def _send(self, base: str, path: str, params: Mapping[str, str], *, token: bool, method: str) -> dict[str, Any]:
        signed = {**params, "app_key": self.settings["app_key"], "timestamp": str(int(time.time() * 1000)),
                  "sign_method": "sha256"}
        if token:
            signed["access_token"] = self.secrets["access_token"]
        signed["sign"] = api_sign(api_path=path, params=signed, app_secret=self.secrets["app_secret"])
        if method == "GET":
            _, answer = self.request_json("GET", base + path, params=signed)
        else:
            _, answer = self.request_json("POST", base + path, data=signed)
        return answer


def _failure(answer: Mapping[str, Any]) -> MarketplaceError:
    code = str(answer.get("code"))
    failure = refusal("Lazada", code=code, message=str(answer.get("message") or ""),
                      kind=_refusal_kind(code, answer))
    details = answer.get("detail")
    failure.details = [row for row in details if isinstance(row, dict)] if isinstance(details, list) else []
    return failure


def _refusal_kind(code: str, answer: Mapping[str, Any]) -> RefusalKind:
    if code in _RATE_ERRORS:
        return "rate_limited"
    if code in _AUTH_ERRORS:
        return "auth_expired"
    if answer.get("type") == "SYSTEM" or code in ("ServiceTimeout", "InternalError", "ServiceUnavailable"):
        return "provider_error"
    return "refused"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _parse_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, _LAZADA_TIME).astimezone(UTC)
    except ValueError:
        return datetime.fromisoformat(text).astimezone(UTC)


def _amount(value: object) -> int:
    return whole_dong(value, label="Lazada")
