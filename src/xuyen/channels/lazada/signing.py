"""Lazada Open Platform signatures: API calls and pushes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def api_sign(*, api_path: str, params: Mapping[str, str], app_secret: str) -> str:
    """The ``sign`` parameter: HMAC-SHA256 (upper-case hex) of the API path followed by every parameter but
    ``sign`` as key and value, sorted by key, keyed with the app secret."""
    base = api_path + "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")
    return hmac.new(app_secret.encode(), base.encode(), hashlib.sha256).hexdigest().upper()


def push_sign(*, app_key: str, body: bytes, app_secret: str) -> str:
    """The ``Authorization`` header of a push: HMAC-SHA256 (hex) of the app key followed by the raw body."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()
