"""Secrets at rest: channel tokens and passwords are sealed (Fernet: AES-128-CBC with HMAC-SHA256) with a key
derived from the instance's secret key, and unsealed only when an adapter is built.

Changing ``XUYEN_SECRET_KEY`` makes sealed secrets unreadable: list the old key in
``XUYEN_PREVIOUS_SECRET_KEYS`` (comma-separated) until every channel has been saved again.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from xuyen.config import get_settings

_PURPOSE = b"xuyen sealed secrets v1"


class SealBroken(Exception):
    """A sealed value cannot be opened: it was sealed with another secret key, or altered."""


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret.encode())
    return base64.urlsafe_b64encode(derived)


def _box() -> MultiFernet:
    settings = get_settings()
    keys = [settings.secret_key.get_secret_value(), *settings.previous_secret_key_list]
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys if key])


def seal(values: dict[str, Any]) -> str:
    """The values as one sealed token (ASCII), for a text column."""
    return _box().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, Any]:
    """The values sealed in ``token``; ``SealBroken`` when no known key opens it."""
    try:
        opened = _box().decrypt(token.encode())
    except InvalidToken as exc:
        raise SealBroken("A stored secret cannot be read with this server's secret key. Put the key it was "
                         "saved with in XUYEN_PREVIOUS_SECRET_KEYS, or enter the secret again.") from exc
    values = json.loads(opened)
    if not isinstance(values, dict):
        raise SealBroken("A stored secret is not what was sealed; enter it again.")
    return values
