"""The identifier types and the value objects every normaliser returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class IdentifierType(StrEnum):
    """The built-in identifier types; custom types are any name that passes ``is_valid_custom_type``."""

    PHONE = "phone"
    EMAIL = "email"
    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"
    FACEBOOK_PSID = "facebook_psid"
    ZALO_ID = "zalo_id"
    WHATSAPP_ID = "whatsapp_id"
    MARKETPLACE_BUYER_ID = "marketplace_buyer_id"
    LOYALTY_CARD = "loyalty_card"


class Reason(StrEnum):
    """Stable machine codes for rejected input; clients and reports branch on them."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_A_PHONE = "not_a_phone"
    NOT_AN_EMAIL = "not_an_email"
    NOT_A_WHATSAPP_ID = "not_a_whatsapp_id"
    MISSING_SCOPE = "missing_scope"
    BAD_EXTERNAL_ID = "bad_external_id"
    BLOCKED = "blocked"


#: Flag on a phone number that has a possible length but is not in any allocated range.
POSSIBLE_NOT_VALID = "possible_not_valid"

#: Types whose values only mean something together with a scope, and what that scope is.
SCOPE_MESSAGES: dict[str, str] = {
    IdentifierType.FACEBOOK_PSID: "Facebook PSID needs the page id as scope",
    IdentifierType.ZALO_ID: "Zalo user id needs the OA or app id as scope",
    IdentifierType.MARKETPLACE_BUYER_ID: "marketplace buyer id needs the shop id as scope",
}

_BUILTIN_TYPES = frozenset(t.value for t in IdentifierType)
_CUSTOM_TYPE = re.compile(r"[a-z0-9_]{1,64}")


def is_builtin_type(name: str) -> bool:
    """Whether ``name`` is one of the built-in identifier types."""
    return name in _BUILTIN_TYPES


def is_valid_custom_type(name: str) -> bool:
    """Whether ``name`` may name a custom identifier type: lower-case letters, digits and ``_``, 1–64 chars."""
    return _CUSTOM_TYPE.fullmatch(name) is not None


@dataclass(frozen=True)
class Identifier:
    """One normalised identifier; ``scope`` qualifies scoped ids, ``flags`` carries remarks such as
    ``possible_not_valid``."""

    type: str
    value: str
    scope: str | None = None
    flags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", str(self.type))  # a plain str, also when given an IdentifierType

    @property
    def key(self) -> tuple[str, str | None, str]:
        """What makes two identifiers the same for linking: type, scope and value (flags are remarks)."""
        return (self.type, self.scope, self.value)


@dataclass(frozen=True)
class Rejection:
    """Input that gave no identifier, with a stable ``reason_code`` and a message for a person."""

    type: str
    raw: str
    reason_code: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", str(self.type))
        object.__setattr__(self, "reason_code", str(self.reason_code))


@dataclass
class NormalisedResult:
    """What normalising one raw field gave: zero or more identifiers and zero or more rejections."""

    identifiers: list[Identifier] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when at least one identifier came out and nothing was rejected."""
        return bool(self.identifiers) and not self.rejected

    def extend(self, other: NormalisedResult) -> None:
        """Append another result's identifiers and rejections to this one."""
        self.identifiers.extend(other.identifiers)
        self.rejected.extend(other.rejected)


def reject(type_: str, raw: str, reason_code: str, message: str) -> NormalisedResult:
    """A result holding one rejection."""
    return NormalisedResult(rejected=[Rejection(type_, raw, reason_code, message)])


def accept(identifier: Identifier) -> NormalisedResult:
    """A result holding one identifier."""
    return NormalisedResult(identifiers=[identifier])
