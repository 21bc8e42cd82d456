"""ZaloPay (payment gateway, API v2): creating the order whose ``order_url`` the customer pays at, and the
verification of ZaloPay's callback.

The create request is a form whose ``mac`` is HMAC-SHA256 under ``key1`` of
``app_id|app_trans_id|app_user|amount|app_time|embed_data|item``; the callback is JSON ``{"data", "mac", "type"}``
whose ``mac`` is HMAC-SHA256 under ``key2`` of the ``data`` text itself. ``app_trans_id`` starts with the day
(``yymmdd_``) in Vietnam's time. Amounts are whole đồng: nothing is scaled. ZaloPay calls back only for a
successful payment; an unpaid order simply expires.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from xuyen.commerce.orders.gateways import GatewayRefused

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SUCCESS = 1
ORDER_MAC_FIELDS = ("app_id", "app_trans_id", "app_user", "amount", "app_time", "embed_data", "item")
MAX_ITEM = 2048
MAX_TRANS_ID = 40
MIN_EXPIRY, MAX_EXPIRY = 300, 2_592_000
MAX_DATA = 8192


@dataclass(frozen=True)
class ZalopayConfig:
    """The merchant's app id and keys, ZaloPay's create endpoint, our callback and the shop's redirect page."""

    app_id: str
    key1: str
    key2: str
    endpoint: str
    callback_url: str
    redirect_url: str

    @property
    def is_configured(self) -> bool:
        return all((self.app_id, self.key1, self.key2, self.endpoint, self.callback_url, self.redirect_url))


def mac(text: str, key: str) -> str:
    """HMAC-SHA256 of the text under the key, in lower-case hex."""
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def app_trans_id(reference: str, *, at: datetime) -> str:
    """Our reference under the day ZaloPay files it on: ``yymmdd_<reference>``, Vietnam's day."""
    return f"{at.astimezone(VIETNAM):%y%m%d}_{reference}"[:MAX_TRANS_ID]


def reference_of(trans_id: str) -> str:
    """Our reference back from an ``app_trans_id``."""
    day, _, reference = trans_id.partition("_")
    return reference if len(day) == 6 and day.isdigit() else ""


def items_json(items: Sequence[Mapping[str, Any]]) -> str:
    """The order's items as ZaloPay's ``item`` JSON array, as many as fit its 2,048 characters."""
    kept: list[Mapping[str, Any]] = []
    for item in items:
        if len(json.dumps([*kept, item], ensure_ascii=False, separators=(",", ":"))) > MAX_ITEM:
            break
        kept.append(item)
    return json.dumps(kept, ensure_ascii=False, separators=(",", ":"))


def order_form(config: ZalopayConfig, *, trans_id: str, app_user: str, amount: int, at: datetime,
               items: Sequence[Mapping[str, Any]], description: str, expires_in: int | None = None) -> dict[str, str]:
    """The signed form of a create-order request."""
    form = {
        "app_id": config.app_id, "app_trans_id": trans_id, "app_user": app_user[:50], "amount": str(amount),
        "app_time": str(int(at.timestamp() * 1000)),
        "embed_data": json.dumps({"redirecturl": config.redirect_url}, separators=(",", ":")),
        "item": items_json(items), "description": description[:256], "bank_code": "",
        "callback_url": config.callback_url,
    }
    if expires_in is not None:
        form["expire_duration_seconds"] = str(min(max(expires_in, MIN_EXPIRY), MAX_EXPIRY))
    form["mac"] = mac("|".join(form[name] for name in ORDER_MAC_FIELDS), config.key1)
    return form


def create_order(config: ZalopayConfig, http: httpx.Client, **order: Any) -> str:
    """Ask ZaloPay to create the order (``order_form``'s arguments); the ``order_url`` the customer pays at
    (GatewayRefused otherwise)."""
    try:
        data = http.post(config.endpoint, data=order_form(config, **order)).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise GatewayRefused(f"ZaloPay could not be reached or did not answer JSON ({exc.__class__.__name__}).") \
            from exc
    if not isinstance(data, dict) or data.get("return_code") != SUCCESS or not isinstance(data.get("order_url"), str):
        got = data if isinstance(data, dict) else {}
        raise GatewayRefused(f"ZaloPay refused the order: return_code {got.get('return_code')}, sub_return_code "
                             f"{got.get('sub_return_code')}, {str(got.get('sub_return_message') or '')[:200]!r}.")
    return str(data["order_url"])


@dataclass(frozen=True)
class Callback:
    """A paid order as ZaloPay's callback tells it."""

    app_id: str
    trans_id: str
    amount: int
    zp_trans_id: str


def verify_callback(body: Mapping[str, Any], key2: str) -> bool:
    """Whether ZaloPay (and nobody else) signed the callback's ``data``."""
    data, given = body.get("data"), body.get("mac")
    if not isinstance(data, str) or not isinstance(given, str) or not key2 or len(data) > MAX_DATA:
        return False
    return hmac.compare_digest(given.lower(), mac(data, key2))


def is_well_formed(body: Mapping[str, Any]) -> bool:
    """Whether the body has the callback's shape: ``data`` and ``mac`` texts and a numeric ``type``."""
    return isinstance(body.get("data"), str) and isinstance(body.get("mac"), str) \
        and type(body.get("type", 1)) is int


def read_callback(data: str) -> Callback | None:
    """The paid order in a verified callback's ``data``; None when it is not what ZaloPay sends."""
    try:
        fields = json.loads(data)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    app_id, trans_id, amount, zp_trans_id = (fields.get(name) for name in
                                             ("app_id", "app_trans_id", "amount", "zp_trans_id"))
    if type(app_id) not in (int, str) or not isinstance(trans_id, str) or type(amount) is not int \
            or type(zp_trans_id) not in (int, str):
        return None
    return Callback(app_id=str(app_id), trans_id=trans_id[:MAX_TRANS_ID + 10], amount=amount,
                    zp_trans_id=str(zp_trans_id)[:100])


@dataclass(frozen=True)
class CallbackAnswer:
    """ZaloPay's answer format for a callback: ``return_code`` and ``return_message``."""

    code: int
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"return_code": self.code, "return_message": self.message}


DONE = CallbackAnswer(1, "success")
ALREADY = CallbackAnswer(2, "already handled")
BAD_MAC = CallbackAnswer(-1, "mac not equal")
NOT_FOUND = CallbackAnswer(-1, "order not found")
BAD_AMOUNT = CallbackAnswer(-1, "invalid amount")
MALFORMED = CallbackAnswer(-1, "invalid data")
