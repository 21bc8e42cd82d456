"""Signed reply tokens: the thread key rides in the Reply-To address (``cskh+r-<token>@shop.vn``).

A token is ``<tag><payload><signature>``, lower case, so it survives mail systems that fold the case of
addresses:

- ``u`` + the 16 bytes of a UUID in base32 (a thread key that is a canonical UUID string);
- ``n`` + the decimal digits (a thread key that is a plain non-negative integer);
- ``s`` + the UTF-8 bytes in base32 (any other thread key).

The signature is HMAC-SHA256 keyed with the channel's ``reply_token_secret`` over a fixed label and the thread
key, truncated to 64 bits and written as 13 base32 characters (forging one means guessing among 2^64 by sending
mail). A token whose signature does not match its own thread key (forged, altered, or copied from another
thread), or that is not written exactly as this module writes it, reads as invalid. With a UUID thread key the
token takes 40 characters, which leaves 21 for the mailbox's own local part within the 64 RFC 5321 allows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from email.utils import parseaddr

TOKEN_MARK = "+r-"  # noqa: S105 (the tag in an address, not a password)
SIGNATURE_BYTES = 8  # 64 bits
SIGNATURE_CHARS = 13  # 64 bits in base32
LOCAL_PART_LIMIT = 64  # RFC 5321 section 4.5.3.1.1
_LABEL = b"xuyen/email/reply-token/v1\x00"
_MAX_INTEGER_DIGITS = 30


class TokenTooLong(ValueError):
    """The thread key does not fit in an address's local part (64 characters)."""


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    return base64.b32decode(padded, casefold=True)


def signature(secret: bytes, thread_key: str) -> str:
    """The truncated HMAC-SHA256 of ``thread_key`` under ``secret``, in lower-case base32."""
    digest = hmac.new(secret, _LABEL + thread_key.encode("utf-8"), hashlib.sha256).digest()
    return _b32(digest[:SIGNATURE_BYTES])


def _encode_key(thread_key: str) -> str:
    try:
        as_uuid = uuid.UUID(thread_key)
    except ValueError:
        as_uuid = None
    if as_uuid is not None and str(as_uuid) == thread_key:
        return "u" + _b32(as_uuid.bytes)
    if (thread_key.isascii() and thread_key.isdigit() and len(thread_key) <= _MAX_INTEGER_DIGITS
            and (thread_key == "0" or not thread_key.startswith("0"))):
        return "n" + thread_key
    return "s" + _b32(thread_key.encode("utf-8"))


def _decode_key(encoded: str) -> str | None:
    tag, payload = encoded[:1], encoded[1:]
    if not payload:
        return None
    try:
        if tag == "u":
            raw = _unb32(payload)
            return str(uuid.UUID(bytes=raw)) if len(raw) == 16 else None
        if tag == "n":
            return payload if payload.isascii() and payload.isdigit() else None
        if tag == "s":
            return _unb32(payload).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return None


def make_token(secret: bytes, thread_key: str) -> str:
    """The token that carries ``thread_key`` and vouches for it."""
    if not thread_key:
        raise ValueError("a thread key is needed")
    return f"{_encode_key(thread_key)}{signature(secret, thread_key)}"


def reply_address(secret: bytes, address: str, thread_key: str) -> str:
    """``address`` with the token for ``thread_key`` after ``+r-`` in its local part."""
    local, _, domain = address.rpartition("@")
    tagged = f"{local}{TOKEN_MARK}{make_token(secret, thread_key)}"
    if len(tagged.encode("utf-8")) > LOCAL_PART_LIMIT:
        raise TokenTooLong(f"the reply address for thread {thread_key!r} would exceed {LOCAL_PART_LIMIT} characters")
    return f"{tagged}@{domain}"


def token_of(address: str) -> str | None:
    """The token part of an address (bare or with a display name) that carries one, in lower case, or None."""
    spec = parseaddr(address)[1] or address.strip()
    local = spec.rpartition("@")[0].lower()
    if TOKEN_MARK not in local:
        return None
    return local.rpartition(TOKEN_MARK)[2]


def read_token(secret: bytes, token: str) -> str | None:
    """The thread key ``token`` carries when its signature verifies, else None."""
    token = token.strip().lower()
    encoded, signed = token[:-SIGNATURE_CHARS], token[-SIGNATURE_CHARS:]
    if len(token) <= SIGNATURE_CHARS:
        return None
    thread_key = _decode_key(encoded)
    if thread_key is None or _encode_key(thread_key) != encoded:
        return None
    if not hmac.compare_digest(signature(secret, thread_key), signed):
        return None
    return thread_key
