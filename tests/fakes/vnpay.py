"""A local fake of VNPay's payment gateway (protocol 2.1.0): the payment page a merchant sends its customer to,
and the IPN call VNPay makes to the merchant once the customer paid (or gave up).

What it keeps of the real protocol:

- the payment page ``GET /paymentv2/vpcpay.html`` takes the ``vnp_*`` parameters signed with HMAC-SHA512 of the
  merchant's hash secret over the parameters sorted by name and form-encoded (``vnp_SecureHash``); a wrong
  signature, an unknown terminal, a missing field or an amount that is not a whole number of đồng × 100 is
  refused (VNPay answers its error page: code 70 for the signature, 71 for the terminal, 03 for bad data);
- ``vnp_Amount`` counts hundredths of a đồng; ``vnp_CreateDate`` and ``vnp_ExpireDate`` are ``yyyyMMddHHmmss``
  in Vietnam's time;
- after payment VNPay calls the merchant's IPN address with GET and the signed result: ``vnp_TmnCode``,
  ``vnp_Amount``, ``vnp_BankCode``, ``vnp_BankTranNo``, ``vnp_CardType``, ``vnp_PayDate``, ``vnp_OrderInfo``,
  ``vnp_TransactionNo``, ``vnp_ResponseCode``, ``vnp_TransactionStatus``, ``vnp_TxnRef``, ``vnp_SecureHash``;
  the merchant answers JSON ``{"RspCode": "00", "Message": ...}`` (``00`` confirmed, ``01`` order not found,
  ``02`` already confirmed, ``04`` bad amount, ``97`` bad signature, ``99`` other);
- ``vnp_ResponseCode`` ``00`` is a success, ``24`` a payment the customer cancelled.

``POST /_fake/pay`` (``txn_ref``, ``response_code``) plays the customer on the payment page: the fake then calls
the IPN and answers what the merchant said.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

REQUIRED = ("vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CurrCode", "vnp_TxnRef",
            "vnp_OrderInfo", "vnp_OrderType", "vnp_Locale", "vnp_ReturnUrl", "vnp_IpAddr", "vnp_CreateDate")
_transactions = itertools.count(14_226_112)


def hash_of(params: dict[str, str], secret: str) -> str:
    """VNPay's signature: HMAC-SHA512 over the sorted, form-encoded ``vnp_`` parameters."""
    query = urllib.parse.urlencode(sorted((k, v) for k, v in params.items()
                                          if k.startswith("vnp_") and k not in ("vnp_SecureHash",
                                                                                "vnp_SecureHashType") and v))
    return hmac.new(secret.encode("utf-8"), query.encode("utf-8"), hashlib.sha512).hexdigest()


@dataclass
class FakeVnpay:
    """The gateway's state: one terminal, the payments started on its page, and the IPN answers it got."""

    tmn_code: str
    hash_secret: str
    ipn_url: str = ""
    started: dict[str, dict[str, str]] = field(default_factory=dict)
    ipn_answers: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/paymentv2/vpcpay.html", self.payment_page, methods=["GET"]),
                                 Route("/_fake/pay", self.pay, methods=["POST"])])

    async def payment_page(self, request: Request) -> HTMLResponse:
        params = dict(request.query_params)
        if any(not params.get(name) for name in REQUIRED):
            return self._error("03", "Dữ liệu gửi sang không đúng định dạng")
        if params["vnp_TmnCode"] != self.tmn_code:
            return self._error("71", "Website này chưa được phê duyệt")
        if not hmac.compare_digest(params.get("vnp_SecureHash", "").lower(), hash_of(params, self.hash_secret)):
            return self._error("70", "Sai chữ ký")
        amount = params["vnp_Amount"]
        if not amount.isdigit() or int(amount) % 100 or params["vnp_Version"] != "2.1.0" \
                or params["vnp_Command"] != "pay" or params["vnp_CurrCode"] != "VND":
            return self._error("03", "Dữ liệu gửi sang không đúng định dạng")
        self.started[params["vnp_TxnRef"]] = params
        return HTMLResponse(f"<h1>VNPAY</h1><p>Số tiền: {int(amount) // 100} VND</p>")

    @staticmethod
    def _error(code: str, message: str) -> HTMLResponse:
        return HTMLResponse(f"<h1>Thông báo</h1><p>Mã lỗi: {code}</p><p>{message}</p>", status_code=200,
                            headers={"X-Fake-Error": code})

    def ipn_params(self, txn_ref: str, *, response_code: str = "00") -> dict[str, str]:
        """What VNPay sends to the merchant's IPN for a payment started on its page, signed."""
        started = self.started[txn_ref]
        params = {
            "vnp_TmnCode": self.tmn_code, "vnp_Amount": started["vnp_Amount"], "vnp_BankCode": "NCB",
            "vnp_BankTranNo": f"VNP{next(_transactions)}", "vnp_CardType": "ATM",
            "vnp_PayDate": datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y%m%d%H%M%S"),
            "vnp_OrderInfo": started["vnp_OrderInfo"], "vnp_TransactionNo": str(next(_transactions)),
            "vnp_ResponseCode": response_code, "vnp_TransactionStatus": "00" if response_code == "00" else "02",
            "vnp_TxnRef": txn_ref,
        }
        params["vnp_SecureHash"] = hash_of(params, self.hash_secret)
        return params

    async def pay(self, request: Request) -> JSONResponse:
        form = await request.form()
        txn_ref = str(form.get("txn_ref", ""))
        if txn_ref not in self.started:
            return JSONResponse({"error": "no such payment on the page"}, status_code=404)
        params = self.ipn_params(txn_ref, response_code=str(form.get("response_code", "00")))
        async with httpx.AsyncClient(timeout=10) as client:
            answer = (await client.get(self.ipn_url, params=params)).json()
        self.ipn_answers.append(answer)
        return JSONResponse(answer)
