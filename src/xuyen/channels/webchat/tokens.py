"""Visitor tokens and identity hashes: what lets the widget speak for one visitor, and the shop vouch for a
signed-in customer.

A visitor token is ``wv1.<payload>.<signature>``: the payload is base64url JSON naming the anonymous id
(``a``), the site origin it was issued to (``o``), when it expires (``x``, Unix seconds) and, when the shop
vouched for them, the customer's user id (``u``) and e-mail (``e``); the signature is HMAC-SHA256 keyed
with the channel's ``widget_secret`` over a fixed label and the payload, in base64url.

An identity hash is what the shop's backend computes for its signed-in customer, like Intercom's identity
verification: the hex HMAC-SHA256 of the user id (or of the e-mail) keyed with the channel's
``identity_secret``. Without the secret nobody can claim to be a customer, so an identifier the widget
sends is believed only with its hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "wv1"
_LABEL = b"xuyen/webchat/visitor/v1\x00"
MAX_TOKEN_LENGTH = 2048


class TokenInvalid(ValueError):
    """The token is malformed, forged, signed with another secret, or expired; the message says which."""


@dataclass(frozen=True)
class Visitor:
    """Who a valid token speaks for."""

    anonymous_id: str
    origin: str
    expires_at: datetime
    user_id: str | None = None
    email: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), _LABEL + payload.encode("ascii"), hashlib.sha256).digest())


def issue(secret: str, visitor: Visitor) -> str:
    """A token for ``visitor``, signed with ``secret``."""
    claims: dict[str, object] = {"a": visitor.anonymous_id, "o": visitor.origin,
                                 "x": int(visitor.expires_at.timestamp())}
    if visitor.user_id:
        claims["u"] = visitor.user_id
    if visitor.email:
        claims["e"] = visitor.email
    payload = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{PREFIX}.{payload}.{_signature(secret, payload)}"


def read(secret: str, token: object, *, now: datetime | None) -> Visitor:
    """The visitor a token speaks for; ``TokenInvalid`` unless it is well formed, signed with ``secret`` and (when
    ``now`` is given) not expired."""
    if not isinstance(token, str) or not token:
        raise TokenInvalid("there is no visitor token; open a chat session first")
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise TokenInvalid("the visitor token is not one this server issues")
    prefix, payload, signature = token.split(".")
    if prefix != PREFIX:
        raise TokenInvalid("the visitor token is not one this server issues")
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        raise TokenInvalid("the visitor token's signature does not match this channel's widget secret")
    try:
        claims = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenInvalid("the visitor token's payload cannot be read") from None
    if not (isinstance(claims, dict) and isinstance(claims.get("a"), str) and isinstance(claims.get("o"), str)
            and isinstance(claims.get("x"), int)):
        raise TokenInvalid("the visitor token's payload cannot be read")
    expires_at = datetime.fromtimestamp(claims["x"], tz=UTC)
    if now is not None and now >= expires_at:
        raise TokenInvalid("the visitor token has expired; open a new chat session")
    return Visitor(anonymous_id=claims["a"], origin=claims["o"], expires_at=expires_at,
                   user_id=claims.get("u") if isinstance(claims.get("u"), str) else None,
                   email=claims.get("e") if isinstance(claims.get("e"), str) else None)


def identity_hash(secret: str, value: str) -> str:
    """The hex HMAC-SHA256 of ``value`` under the identity secret: what the shop's backend computes."""
    return hmac.new(secret.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def identity_verifies(secret: str | None, value: str, given: object) -> bool:
    """Whether ``given`` is the identity hash of ``value`` (never without a secret)."""
    if not secret or not isinstance(given, str):
        return False
    return hmac.compare_digest(given.strip().lower(), identity_hash(secret, value))
