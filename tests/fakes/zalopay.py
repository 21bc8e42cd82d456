"""A local fake of ZaloPay's payment gateway (API v2): the create-order endpoint a merchant calls for an
``order_url``, and the callback ZaloPay posts to the merchant once the customer paid.

What it keeps of the real protocol:

- ``POST /v2/create`` takes a form; ``mac`` is HMAC-SHA256 under key1 over
  ``app_id|app_trans_id|app_user|amount|app_time|embed_data|item``. It answers JSON with ``return_code`` 1
  (created: ``order_url``, ``zp_trans_token``, ``order_token``, ``qr_code``) or 2 (failed) and a
  ``sub_return_code``: -401 for a missing or malformed parameter (``app_trans_id`` not starting with today's
  ``yymmdd_`` in Vietnam's time or longer than 40 characters, ``app_time`` more than 15 minutes away, ``item``
  not a JSON array, ``embed_data`` not a JSON object, a non-positive amount), -402 for an unknown app or a wrong
  mac, -68 for an ``app_trans_id`` seen before;
- amounts are whole đồng;
- once the customer paid, ZaloPay POSTs JSON ``{"data": "<json text>", "mac": HMAC-SHA256(key2, data),
  "type": 1}`` to ``callback_url``; ``data`` holds ``app_id``, ``app_trans_id``, ``app_time``, ``app_user``,
  ``amount``, ``embed_data``, ``item``, ``zp_trans_id``, ``server_time``, ``channel``, ``merchant_user_id``,
  ``user_fee_amount``, ``discount_amount``. The merchant answers ``{"return_code": 1|2|…, "return_message"}``.
  ZaloPay calls back only for a payment that succeeded.

``POST /_fake/pay`` (``app_trans_id``) plays the customer: the fake sends the callback and answers what the
merchant said.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REQUIRED = ("app_id", "app_user", "app_trans_id", "app_time", "amount", "item", "embed_data", "description", "mac")
MAC_ORDER = ("app_id", "app_trans_id", "app_user", "amount", "app_time", "embed_data", "item")
FIFTEEN_MINUTES_MS = 15 * 60 * 1000
_transactions = itertools.count(241_206_000_000_001)


def mac_of(text: str, key: str) -> str:
    """ZaloPay's mac: HMAC-SHA256 under the key, hex."""
    return hmac.new(key.encode("utf-8"), text.encode("utf-8"), hashlib.sha256).hexdigest()


def _json_of(text: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, kind) else None


@dataclass
class FakeZalopay:
    """The gateway's state: one app, the orders created, and the merchant's answers to its callbacks."""

    app_id: str
    key1: str
    key2: str
    base_url: str = ""
    created: dict[str, dict[str, str]] = field(default_factory=dict)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/create", self.create, methods=["POST"]),
                                 Route("/_fake/pay", self.pay, methods=["POST"])])

    @staticmethod
    def _failed(sub_code: int, message: str) -> JSONResponse:
        return JSONResponse({"return_code": 2, "return_message": "Giao dịch thất bại", "sub_return_code": sub_code,
                             "sub_return_message": message})

    def _malformed(self, form: dict[str, str]) -> bool:
        today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%y%m%d_")
        trans_id = form["app_trans_id"]
        return not trans_id.startswith(today) or len(trans_id) > 40 or len(trans_id) == len(today) \
            or not form["app_time"].isdigit() or abs(int(form["app_time"]) - time.time() * 1000) > FIFTEEN_MINUTES_MS \
            or not form["amount"].isdigit() or int(form["amount"]) <= 0 or len(form["item"]) > 2048 \
            or _json_of(form["item"], list) is None or _json_of(form["embed_data"], dict) is None \
            or len(form["embed_data"]) > 1024 or len(form["app_user"]) > 50 or len(form["description"]) > 256

    async def create(self, request: Request) -> JSONResponse:
        form = {key: str(value) for key, value in (await request.form()).items()}
        if any(not form.get(name) for name in REQUIRED) or self._malformed(form):
            return self._failed(-401, "Dữ liệu yêu cầu không hợp lệ")
        text = "|".join(form[name] for name in MAC_ORDER)
        if form["app_id"] != self.app_id or not hmac.compare_digest(form["mac"], mac_of(text, self.key1)):
            return self._failed(-402, "Xác thực ứng dụng hoặc chữ ký không hợp lệ")
        if form["app_trans_id"] in self.created:
            return self._failed(-68, "Mã giao dịch bị trùng")
        self.created[form["app_trans_id"]] = form
        token = hashlib.sha256(form["app_trans_id"].encode()).hexdigest()[:22]
        order = base64.urlsafe_b64encode(json.dumps({"zptranstoken": token, "appid": int(self.app_id)}).encode())
        return JSONResponse({"return_code": 1, "return_message": "Giao dịch thành công", "sub_return_code": 1,
                             "sub_return_message": "Giao dịch thành công", "zp_trans_token": token,
                             "order_url": f"{self.base_url}/openinapp?order={order.decode()}",
                             "order_token": token, "qr_code": f"00020101021226520010vn.zalopay{token}"})

    def callback_data(self, app_trans_id: str) -> str:
        """The ``data`` text of the callback for an order created here, as ZaloPay writes it."""
        form = self.created[app_trans_id]
        return json.dumps({
            "app_id": int(self.app_id), "app_trans_id": app_trans_id, "app_time": int(form["app_time"]),
            "app_user": form["app_user"], "amount": int(form["amount"]), "embed_data": form["embed_data"],
            "item": form["item"], "zp_trans_id": next(_transactions), "server_time": int(time.time() * 1000),
            "channel": 38, "merchant_user_id": "rUPJnB9Tcwv8yGk8pUrZEx", "user_fee_amount": 0, "discount_amount": 0,
        }, ensure_ascii=False, separators=(",", ":"))

    def callback_body(self, data: str) -> dict[str, Any]:
        """The callback body for a ``data`` text, signed under key2."""
        return {"data": data, "mac": mac_of(data, self.key2), "type": 1}

    async def pay(self, request: Request) -> JSONResponse:
        app_trans_id = str((await request.form()).get("app_trans_id", ""))
        if app_trans_id not in self.created:
            return JSONResponse({"error": "no such order"}, status_code=404)
        body = self.callback_body(self.callback_data(app_trans_id))
        async with httpx.AsyncClient(timeout=10) as client:
            answer = (await client.post(self.created[app_trans_id]["callback_url"], json=body)).json()
        self.callback_answers.append(answer)
        return JSONResponse(answer)
