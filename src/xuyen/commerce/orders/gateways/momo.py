"""MoMo (e-wallet payment gateway, API v2, ``captureWallet``): creating the payment whose ``payUrl`` the customer
is sent to, and the verification of MoMo's signed IPN.

Both directions sign a raw text of ``name=value`` pairs joined by ``&``, in a fixed order of names that differs
between the create request and the IPN, with HMAC-SHA256 under the merchant's secret key (``signature``, hex).
Amounts are whole đồng on both sides: nothing is scaled.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from xuyen.commerce.orders.gateways import GatewayRefused

REQUEST_TYPE = "captureWallet"
CREATE_FIELDS = ("accessKey", "amount", "extraData", "ipnUrl", "orderId", "orderInfo", "partnerCode",
                 "redirectUrl", "requestId", "requestType")
IPN_FIELDS = ("accessKey", "amount", "extraData", "message", "orderId", "orderInfo", "orderType", "partnerCode",
              "payType", "requestId", "responseTime", "resultCode", "transId")
IPN_NUMBERS = ("amount", "resultCode", "transId", "responseTime")
SUCCESS = 0
IN_PROGRESS = frozenset({1000, 7000, 7002, 8000, 9000})  # waiting for the customer or being processed: not final
ORDER_ID = re.compile(r"^[0-9a-zA-Z]([-_.]*[0-9a-zA-Z]+)*$")
MAX_TEXT = 500


@dataclass(frozen=True)
class MomoConfig:
    """The merchant's partner code and keys, MoMo's create endpoint, and our IPN and redirect addresses."""

    partner_code: str
    access_key: str
    secret_key: str
    endpoint: str
    ipn_url: str
    redirect_url: str

    @property
    def is_configured(self) -> bool:
        return all((self.partner_code, self.access_key, self.secret_key, self.endpoint, self.ipn_url,
                    self.redirect_url))


def raw_signature(fields: Mapping[str, Any], names: tuple[str, ...], *, access_key: str) -> str:
    """The text MoMo signs: ``accessKey`` and the named fields, in MoMo's order, as ``name=value`` joined by
    ``&`` (values as they are, not encoded)."""
    values = {**fields, "accessKey": access_key}
    return "&".join(f"{name}={values.get(name, '')}" for name in names)


def sign(text: str, secret_key: str) -> str:
    """HMAC-SHA256 of the raw text under the secret key, in lower-case hex."""
    return hmac.new(secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()


def create_request(config: MomoConfig, *, order_id: str, request_id: str, amount: int, order_info: str,
                   extra_data: str = "", lang: str = "vi") -> dict[str, Any]:
    """The signed JSON body of a ``captureWallet`` create request."""
    body: dict[str, Any] = {
        "partnerCode": config.partner_code, "requestId": request_id, "amount": amount, "orderId": order_id,
        "orderInfo": order_info, "redirectUrl": config.redirect_url, "ipnUrl": config.ipn_url,
        "requestType": REQUEST_TYPE, "extraData": extra_data, "lang": lang,
    }
    body["signature"] = sign(raw_signature(body, CREATE_FIELDS, access_key=config.access_key), config.secret_key)
    return body


def create_payment(config: MomoConfig, http: httpx.Client, *, order_id: str, request_id: str, amount: int,
                   order_info: str) -> str:
    """Ask MoMo to create the payment; the ``payUrl`` the customer pays at (GatewayRefused otherwise)."""
    body = create_request(config, order_id=order_id, request_id=request_id, amount=amount, order_info=order_info)
    try:
        answer = http.post(config.endpoint, json=body)
        data = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise GatewayRefused(f"MoMo could not be reached or did not answer JSON ({exc.__class__.__name__}).") \
            from exc
    if not isinstance(data, dict) or data.get("resultCode") != SUCCESS or not isinstance(data.get("payUrl"), str) \
            or data.get("orderId") != order_id:
        code = data.get("resultCode") if isinstance(data, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        raise GatewayRefused(f"MoMo refused the payment: resultCode {code}, {str(message or '')[:200]!r}.")
    return str(data["payUrl"])


def read_ipn(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The IPN's fields when they have MoMo's types (numbers for ``amount``, ``resultCode``, ``transId``,
    ``responseTime``; text for the rest, ``signature`` included); None for a malformed one."""
    fields: dict[str, Any] = {}
    for name in (*IPN_FIELDS[1:], "signature"):
        value = body.get(name, "" if name == "extraData" else None)
        if name in IPN_NUMBERS:
            if type(value) is not int or value < 0:
                return None
        elif not isinstance(value, str) or len(value) > MAX_TEXT:
            return None
        fields[name] = value
    return fields


def verify_ipn(fields: Mapping[str, Any], config: MomoConfig) -> bool:
    """Whether MoMo (and nobody else) signed this IPN, for our partner code."""
    expected = sign(raw_signature(fields, IPN_FIELDS, access_key=config.access_key), config.secret_key)
    given = str(fields.get("signature", ""))
    return bool(config.secret_key) and fields.get("partnerCode") == config.partner_code \
        and hmac.compare_digest(given.lower(), expected)
