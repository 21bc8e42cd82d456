"""Shopee Open Platform v2 signatures: API calls and pushes."""

from __future__ import annotations

import hashlib
import hmac


def api_sign(*, partner_id: str, path: str, timestamp: int, partner_key: str, access_token: str = "",
             shop_id: str = "") -> str:
    """The ``sign`` query parameter: HMAC-SHA256 (hex) of partner id + API path + timestamp, then, for shop
    APIs, the access token and the shop id, keyed with the partner key."""
    base = f"{partner_id}{path}{timestamp}{access_token}{shop_id}"
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def push_sign(*, callback_url: str, body: bytes, partner_key: str) -> str:
    """The ``Authorization`` header of a push: HMAC-SHA256 (hex) of the callback URL, ``|`` and the raw body."""
    return hmac.new(partner_key.encode(), callback_url.encode() + b"|" + body, hashlib.sha256).hexdigest()
