"""A local fake of MoMo's payment gateway (API v2, ``captureWallet``): the create endpoint a merchant calls for a
``payUrl``, and the IPN MoMo posts to the merchant once the customer paid (or gave up).

What it keeps of the real protocol:

- ``POST /v2/gateway/api/create`` takes JSON; ``signature`` is HMAC-SHA256 under the partner's secret key over
  ``accessKey=…&amount=…&extraData=…&ipnUrl=…&orderId=…&orderInfo=…&partnerCode=…&redirectUrl=…&requestId=…&requestType=…``
  (values raw, in that order). A missing field or a wrong type answers ``resultCode`` 20 (bad format), an
  unknown partner 11 (access denied), a wrong signature 13 (merchant authentication failed), an amount outside
  1,000–50,000,000 đồng 22, a ``requestId`` seen before 40 and an ``orderId`` seen before 41; errors come with
  HTTP 400. A success answers ``resultCode`` 0 with ``payUrl``, ``deeplink`` and ``qrCodeUrl``;
- ``amount`` is a whole number of đồng (JSON number); ``orderId`` matches ``^[0-9a-zA-Z]([-_.]*[0-9a-zA-Z]+)*$``
  and is at most 50 characters;
- after the customer acts, MoMo POSTs JSON to ``ipnUrl``: ``partnerCode``, ``orderId``, ``requestId``,
  ``amount``, ``orderInfo``, ``orderType``, ``transId``, ``resultCode``, ``message``, ``payType``,
  ``responseTime``, ``extraData``, ``signature`` over
  ``accessKey=…&amount=…&extraData=…&message=…&orderId=…&orderInfo=…&orderType=…&partnerCode=…&payType=…&requestId=…&responseTime=…&resultCode=…&transId=…``;
  the merchant answers HTTP 204. ``resultCode`` 0 is a payment, 1006 one the customer declined.

``POST /_fake/pay`` (``order_id``, ``result_code``) plays the customer: the fake sends the IPN and answers the
merchant's HTTP status.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CREATE_ORDER = ("accessKey", "amount", "extraData", "ipnUrl", "orderId", "orderInfo", "partnerCode", "redirectUrl",
                "requestId", "requestType")
IPN_ORDER = ("accessKey", "amount", "extraData", "message", "orderId", "orderInfo", "orderType", "partnerCode",
             "payType", "requestId", "responseTime", "resultCode", "transId")
TEXTS = ("partnerCode", "requestId", "orderId", "orderInfo", "redirectUrl", "ipnUrl", "requestType", "signature")
ORDER_ID = re.compile(r"^[0-9a-zA-Z]([-_.]*[0-9a-zA-Z]+)*$")
MESSAGES = {0: "Thành công.", 1006: "Giao dịch bị từ chối bởi người dùng."}
_transactions = itertools.count(2_912_000_001)


def signature_of(values: dict[str, Any], order: tuple[str, ...], *, access_key: str, secret_key: str) -> str:
    """MoMo's signature: HMAC-SHA256 under the secret key over ``name=value`` pairs in MoMo's order."""
    raw = "&".join(f"{name}={access_key if name == 'accessKey' else values.get(name, '')}" for name in order)
    return hmac.new(secret_key.encode("utf-8"), raw.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass
class FakeMomo:
    """The gateway's state: one partner, the payments created, and the merchant's answers to its IPNs."""

    partner_code: str
    access_key: str
    secret_key: str
    base_url: str = ""
    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    request_ids: set[str] = field(default_factory=set)
    ipn_statuses: list[int] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v2/gateway/api/create", self.create, methods=["POST"]),
                                 Route("/_fake/pay", self.pay, methods=["POST"])])

    def _answer(self, body: dict[str, Any], code: int, message: str, **extra: Any) -> JSONResponse:
        answer = {"partnerCode": body.get("partnerCode"), "requestId": body.get("requestId"),
                  "orderId": body.get("orderId"), "amount": body.get("amount"),
                  "responseTime": int(time.time() * 1000), "message": message, "resultCode": code, **extra}
        return JSONResponse(answer, status_code=200 if code == 0 else 400)

    async def create(self, request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"resultCode": 20, "message": "Bad format request."}, status_code=400)
        if not isinstance(body, dict) or any(not isinstance(body.get(name), str) for name in TEXTS) \
                or not isinstance(body.get("extraData", ""), str) or type(body.get("amount")) is not int \
                or body["requestType"] != "captureWallet" or not ORDER_ID.match(body["orderId"]) \
                or len(body["orderId"]) > 50 or len(body["requestId"]) > 50:
            return self._answer(body if isinstance(body, dict) else {}, 20, "Bad format request.")
        if body["partnerCode"] != self.partner_code:
            return self._answer(body, 11, "Access denied.")
        expected = signature_of(body, CREATE_ORDER, access_key=self.access_key, secret_key=self.secret_key)
        if not hmac.compare_digest(body["signature"], expected):
            return self._answer(body, 13, "Merchant authentication failed.")
        if not 1_000 <= body["amount"] <= 50_000_000:
            return self._answer(body, 22, "Transaction amount is out of range.")
        if body["requestId"] in self.request_ids:
            return self._answer(body, 40, "Duplicated requestId.")
        if body["orderId"] in self.created:
            return self._answer(body, 41, "Duplicated orderId.")
        self.request_ids.add(body["requestId"])
        self.created[body["orderId"]] = body
        token = hashlib.sha256(body["orderId"].encode()).hexdigest()[:24]
        return self._answer(body, 0, "Thành công.", payUrl=f"{self.base_url}/v2/gateway/pay?t={token}",
                            deeplink=f"momo://app?action=payWithApp&t={token}",
                            qrCodeUrl=f"momo://app?action=payWithApp&isScanQR=true&t={token}")

    def ipn_body(self, order_id: str, *, result_code: int = 0) -> dict[str, Any]:
        """What MoMo posts to the merchant's ``ipnUrl`` about a payment created here, signed."""
        created = self.created[order_id]
        body: dict[str, Any] = {
            "partnerCode": self.partner_code, "orderId": order_id, "requestId": created["requestId"],
            "amount": created["amount"], "orderInfo": created["orderInfo"], "orderType": "momo_wallet",
            "transId": next(_transactions), "resultCode": result_code,
            "message": MESSAGES.get(result_code, "Giao dịch thất bại."), "payType": "qr",
            "responseTime": int(time.time() * 1000), "extraData": created.get("extraData", ""),
        }
        return self.signed(body)

    def signed(self, body: dict[str, Any]) -> dict[str, Any]:
        """The IPN body with its signature (again, after a change)."""
        return {**body, "signature": signature_of(body, IPN_ORDER, access_key=self.access_key,
                                                  secret_key=self.secret_key)}

    async def pay(self, request: Request) -> JSONResponse:
        form = await request.form()
        order_id = str(form.get("order_id", ""))
        if order_id not in self.created:
            return JSONResponse({"error": "no such payment"}, status_code=404)
        body = self.ipn_body(order_id, result_code=int(str(form.get("result_code", "0"))))
        async with httpx.AsyncClient(timeout=10) as client:
            status = (await client.post(self.created[order_id]["ipnUrl"], json=body)).status_code
        self.ipn_statuses.append(status)
        return JSONResponse({"status": status})
