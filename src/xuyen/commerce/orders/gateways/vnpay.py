"""VNPay (payment gateway, protocol version 2.1.0): the signed payment address the customer is sent to, and the
verification of VNPay's signed IPN callback.

Both directions sign the ``vnp_*`` parameters, sorted by name and form-encoded, with HMAC-SHA512 under the
merchant's hash secret (``vnp_SecureHash``). VNPay counts money in hundredths of a đồng: ``vnp_Amount`` is the
amount × 100, the only place an amount is scaled.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

VERSION = "2.1.0"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
SCALE = 100
SIGNATURE_FIELDS = ("vnp_SecureHash", "vnp_SecureHashType")
SUCCESS = "00"


@dataclass(frozen=True)
class VnpayConfig:
    """The merchant's terminal, its hash secret, and the addresses of the payment page and our return page."""

    tmn_code: str
    hash_secret: str
    payment_url: str
    return_url: str

    @property
    def is_configured(self) -> bool:
        return bool(self.tmn_code and self.hash_secret and self.payment_url and self.return_url)


def signing_text(params: Mapping[str, str]) -> str:
    """The text VNPay signs: the non-empty ``vnp_`` parameters (signature fields aside), sorted by name,
    form-encoded as ``name=value`` joined by ``&``."""
    fields = sorted((key, value) for key, value in params.items()
                    if key.startswith("vnp_") and key not in SIGNATURE_FIELDS and value != "")
    return "&".join(f"{quote_plus(key)}={quote_plus(str(value))}" for key, value in fields)


def sign(params: Mapping[str, str], secret: str) -> str:
    """The HMAC-SHA512 signature of the parameters, in lower-case hex."""
    return hmac.new(secret.encode(), signing_text(params).encode(), hashlib.sha512).hexdigest()


def verify(params: Mapping[str, str], secret: str) -> bool:
    """Whether VNPay (and nobody else) signed these parameters."""
    given = params.get("vnp_SecureHash", "")
    return bool(secret) and bool(given) and hmac.compare_digest(given.lower(), sign(params, secret))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def to_vnp_amount(amount: int) -> str:
    """Whole đồng as VNPay counts them."""
    return str(amount * SCALE)


def from_vnp_amount(value: str) -> int | None:
    """VNPay's amount back in whole đồng; None when it is not a whole number of đồng."""
    if not value.isdigit() or len(value) > 20 or int(value) % SCALE:
        return None
    return int(value) // SCALE


def payment_url(config: VnpayConfig, *, txn_ref: str, amount: int, order_info: str, ip: str, created_at: datetime,
                expires_at: datetime | None = None, locale: str = "vn") -> str:
    """The address of VNPay's payment page for this payment, signed."""
    params = {
        "vnp_Version": VERSION, "vnp_Command": "pay", "vnp_TmnCode": config.tmn_code,
        "vnp_Amount": to_vnp_amount(amount), "vnp_CurrCode": "VND", "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info, "vnp_OrderType": "other", "vnp_Locale": locale,
        "vnp_ReturnUrl": config.return_url, "vnp_IpAddr": ip or "127.0.0.1", "vnp_CreateDate": _stamp(created_at),
        "vnp_ExpireDate": _stamp(expires_at or created_at + timedelta(minutes=15)),
    }
    return f"{config.payment_url}?{signing_text(params)}&vnp_SecureHash={sign(params, config.hash_secret)}"


@dataclass(frozen=True)
class IpnResult:
    """VNPay's answer format for an IPN: ``RspCode`` and ``Message``."""

    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"RspCode": self.code, "Message": self.message}


CONFIRMED = IpnResult("00", "Confirm Success")
NOT_FOUND = IpnResult("01", "Order not found")
ALREADY = IpnResult("02", "Order already confirmed")
BAD_AMOUNT = IpnResult("04", "invalid amount")
BAD_SIGNATURE = IpnResult("97", "Invalid signature")
UNKNOWN = IpnResult("99", "Unknown error")
