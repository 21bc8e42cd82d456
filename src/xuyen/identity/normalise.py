"""The one entry point that types and normalises every identifier before anything else touches it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

from xuyen.identity.blocklist import DEFAULT_BLOCK_LIST, BlockList
from xuyen.identity.emails import check_email, normalise_email
from xuyen.identity.identifiers import (
    POSSIBLE_NOT_VALID,
    SCOPE_MESSAGES,
    Identifier,
    IdentifierType,
    NormalisedResult,
    Reason,
    Rejection,
    accept,
    is_builtin_type,
    is_valid_custom_type,
    reject,
)
from xuyen.identity.names import fold_name, name_key, name_tokens, split_vietnamese_name
from xuyen.identity.phones import OLD_MOBILE_PREFIXES, check_phone, normalise_phone

__all__ = [
    "OLD_MOBILE_PREFIXES",
    "POSSIBLE_NOT_VALID",
    "BlockList",
    "Identifier",
    "IdentifierType",
    "NormalisedResult",
    "Rejection",
    "check_email",
    "check_external_ids",
    "check_phone",
    "fold_name",
    "from_external_ids",
    "identifier_type",
    "name_key",
    "name_tokens",
    "normalise",
    "normalise_email",
    "normalise_phone",
    "split_vietnamese_name",
]

MAX_ID_LENGTH = 255
EXTERNAL_ID = "external_id"  # the type named in a rejection when an externalIds item has no usable type
_WHATSAPP_ID_LENGTH = range(7, 16)  # E.164 allows at most 15 digits
_WHATSAPP_FORMATTING = re.compile(r"[\s+().\-]")
_LOYALTY_FORMATTING = re.compile(r"[\s\-‐‑‒–—]")
_UNSCOPED_BUILTINS = frozenset(
    {IdentifierType.USER_ID, IdentifierType.ANONYMOUS_ID, IdentifierType.LOYALTY_CARD, IdentifierType.WHATSAPP_ID}
)


def identifier_type(name: str) -> str:
    """The checked type name; raises ValueError for a name that is neither built in nor a valid custom name."""
    if isinstance(name, str) and (is_builtin_type(name) or is_valid_custom_type(name)):
        return str(name)
    builtins = ", ".join(IdentifierType)
    raise ValueError(
        f"unknown identifier type {name!r}: use one of {builtins}, "
        "or a custom type name of lower-case letters, digits and _ (at most 64)"
    )


def normalise(
    type: str,
    raw: str,
    *,
    scope: str | None = None,
    region: str = "VN",
    block_list: BlockList | None = None,
) -> NormalisedResult:
    """Type, normalise and block-check one raw field; never raises on bad input, only on an unknown type."""
    kind = identifier_type(type)
    result = _normalise_unblocked(kind, _as_text(raw), scope, region)
    return apply_block_list(result, DEFAULT_BLOCK_LIST if block_list is None else block_list)


def apply_block_list(result: NormalisedResult, block_list: BlockList) -> NormalisedResult:
    """Move the result's blocked identifiers to its rejections."""
    kept = NormalisedResult(rejected=list(result.rejected))
    for identifier in result.identifiers:
        why = block_list.reason(identifier)
        if why is None:
            kept.identifiers.append(identifier)
        else:
            kept.rejected.append(Rejection(identifier.type, identifier.value, Reason.BLOCKED, f"blocked value: {why}"))
    return kept


# Ingestion sees the same identifiers again and again (a visitor's cookie on every call); phone parsing is
# the dear part. The results are shared, so they are never changed (apply_block_list builds a new one).
@lru_cache(maxsize=65_536)
def _normalise_unblocked(kind: str, raw: str, scope: str | None, region: str) -> NormalisedResult:
    """Dispatch to the normaliser of one type."""
    if kind == IdentifierType.PHONE:
        return check_phone(raw, region=region)
    if kind == IdentifierType.EMAIL:
        return check_email(raw)
    if kind == IdentifierType.WHATSAPP_ID:
        return _check_whatsapp_id(raw)
    if kind == IdentifierType.LOYALTY_CARD:
        return _check_loyalty_card(raw)
    return _check_opaque(kind, raw, scope)


def _check_opaque(kind: str, raw: str, scope: str | None) -> NormalisedResult:
    """User ids, anonymous ids, scoped ids and custom types: trimmed, scope required where it means something."""
    value = _clean(raw)
    if not value:
        return reject(kind, raw, Reason.EMPTY, f"the {kind} is empty")
    if len(value) > MAX_ID_LENGTH:
        return reject(kind, raw, Reason.TOO_LONG, f"a {kind} is at most {MAX_ID_LENGTH} characters")
    clean_scope = _clean(scope or "") or None
    if kind in SCOPE_MESSAGES and clean_scope is None:
        return reject(kind, raw, Reason.MISSING_SCOPE, SCOPE_MESSAGES[kind])
    if kind in _UNSCOPED_BUILTINS:
        clean_scope = None
    return accept(Identifier(kind, value, scope=clean_scope))


def _check_whatsapp_id(raw: str) -> NormalisedResult:
    """A WhatsApp ``wa_id``: the digits of the number, without ``+`` (kept as its own type, not a phone)."""
    kind = IdentifierType.WHATSAPP_ID
    value = _WHATSAPP_FORMATTING.sub("", _clean(raw))
    if not value:
        return reject(kind, raw, Reason.EMPTY, "the WhatsApp id is empty")
    if not (value.isascii() and value.isdigit() and len(value) in _WHATSAPP_ID_LENGTH):
        return reject(kind, raw, Reason.NOT_A_WHATSAPP_ID, "not a WhatsApp id (7 to 15 digits, as WhatsApp sends it)")
    return accept(Identifier(kind, value))


def _check_loyalty_card(raw: str) -> NormalisedResult:
    """A loyalty card number: spaces and dashes removed, upper-cased."""
    kind = IdentifierType.LOYALTY_CARD
    value = _LOYALTY_FORMATTING.sub("", _clean(raw)).upper()
    if not value:
        return reject(kind, raw, Reason.EMPTY, "the loyalty card number is empty")
    if len(value) > MAX_ID_LENGTH:
        return reject(kind, raw, Reason.TOO_LONG, f"a loyalty card number is at most {MAX_ID_LENGTH} characters")
    return accept(Identifier(kind, value))


def check_external_ids(
    items: Iterable[object] | None, *, region: str = "VN", block_list: BlockList | None = None
) -> NormalisedResult:
    """Identifiers from Segment's ``context.externalIds``, with the reason for every item left out."""
    result = NormalisedResult()
    for item in items or ():
        result.extend(_check_external_id(item, region))
    return apply_block_list(result, DEFAULT_BLOCK_LIST if block_list is None else block_list)


def from_external_ids(
    items: Iterable[object] | None, *, region: str = "VN", block_list: BlockList | None = None
) -> list[Identifier]:
    """The usable identifiers in Segment's ``context.externalIds`` (``[{"id", "type", "collection", …}]``)."""
    return check_external_ids(items, region=region, block_list=block_list).identifiers


def _check_external_id(item: object, region: str) -> NormalisedResult:
    """One ``externalIds`` item: a valid type name, an id, and the ``users`` collection (or none given)."""
    if not isinstance(item, Mapping):
        return reject(EXTERNAL_ID, repr(item)[:200], Reason.BAD_EXTERNAL_ID, "an externalIds item is an object")
    kind, value, collection = item.get("type"), item.get("id"), item.get("collection")
    if not isinstance(kind, str) or not (is_builtin_type(kind) or is_valid_custom_type(kind)):
        message = f"externalIds type {kind!r} must be lower-case letters, digits and _ (at most 64)"
        return reject(EXTERNAL_ID, _as_text(value), Reason.BAD_EXTERNAL_ID, message)
    if collection not in (None, "users"):
        message = f"externalIds in the {collection!r} collection do not identify a person (only 'users' do)"
        return reject(kind, _as_text(value), Reason.BAD_EXTERNAL_ID, message)
    if not isinstance(value, str | int) or isinstance(value, bool):
        return reject(kind, _as_text(value), Reason.BAD_EXTERNAL_ID, "an externalIds id is a string")
    return _normalise_unblocked(kind, str(value), None, region)


def _as_text(raw: object) -> str:
    """Raw input as text: None is empty, numbers (JSON ids) are their decimal form."""
    if raw is None:
        return ""
    return raw if isinstance(raw, str) else str(raw)


def _clean(raw: str) -> str:
    """NFC-normalised and trimmed."""
    return unicodedata.normalize("NFC", raw).strip()
