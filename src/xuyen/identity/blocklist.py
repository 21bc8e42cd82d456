"""The block list: placeholder, test and own-shop values that must never link two profiles."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers

from xuyen.identity.emails import normalise_email
from xuyen.identity.identifiers import Identifier, IdentifierType
from xuyen.identity.phones import normalise_phone

#: Values that forms, SDKs and clerks put where they have no real identifier (compared lower-cased).
DEFAULT_VALUES = frozenset(
    {
        "-1", "0", "null", "none", "nil", "nan", "undefined", "anonymous", "unknown", "n/a", "na", "test",
        "[object object]", "00000000-0000-0000-0000-000000000000",
    }
)  # fmt: skip
DEFAULT_EMAILS = frozenset({"test@test.com"})
#: Domains reserved for examples (RFC 2606); addresses at them and their subdomains are never a person's.
DEFAULT_EMAIL_DOMAINS = frozenset({"example.com", "example.org", "example.net"})
#: Reserved top-level domains (RFC 2606): ``*.test``, ``*.example``, ``*.invalid``, ``*.localhost``.
RESERVED_TOP_LEVEL_DOMAINS = frozenset({"test", "example", "invalid", "localhost"})
#: Mailbox names of robots, at any domain.
DEFAULT_EMAIL_LOCAL_PARTS = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply"})

_PHONE_LIKE = frozenset({IdentifierType.PHONE, IdentifierType.WHATSAPP_ID})


class BlockList:
    """Values that are never used to link profiles: defaults plus the shop's own numbers and addresses."""

    def __init__(
        self,
        *,
        extra_values: Iterable[str] = (),
        extra_phones: Iterable[str] = (),
        extra_emails: Iterable[str] = (),
        extra_email_domains: Iterable[str] = (),
        extra_email_local_parts: Iterable[str] = (),
        region: str = "VN",
        include_defaults: bool = True,
    ) -> None:
        defaults = include_defaults
        self.values = frozenset(v.strip().lower() for v in extra_values) | (DEFAULT_VALUES if defaults else frozenset())
        self.phones = frozenset(_normalised_phones(extra_phones, region))
        self.emails = frozenset(_normalised_emails(extra_emails)) | (DEFAULT_EMAILS if defaults else frozenset())
        self.email_domains = frozenset(_domain(d) for d in extra_email_domains) | (
            DEFAULT_EMAIL_DOMAINS if defaults else frozenset()
        )
        self.email_local_parts = frozenset(p.strip().lower() for p in extra_email_local_parts) | (
            DEFAULT_EMAIL_LOCAL_PARTS if defaults else frozenset()
        )
        self.block_reserved_domains = defaults
        self.block_repeated_digits = defaults

    def is_blocked(self, identifier: Identifier) -> bool:
        """Whether this identifier must never be used to link profiles."""
        return self.reason(identifier) is not None

    def reason(self, identifier: Identifier) -> str | None:
        """Why the identifier is blocked, or None when it is not."""
        if identifier.value.strip().lower() in self.values:
            return "a placeholder value"
        if identifier.type in _PHONE_LIKE:
            return self._phone_reason(identifier)
        if identifier.type == IdentifierType.EMAIL:
            return self._email_reason(identifier.value)
        return None

    def _phone_reason(self, identifier: Identifier) -> str | None:
        e164 = identifier.value if identifier.type == IdentifierType.PHONE else "+" + identifier.value
        if e164 in self.phones:
            return "the shop's own number"
        if self.block_repeated_digits and _repeats_one_digit(e164):
            return "a number made of one repeated digit"
        return None

    def _email_reason(self, address: str) -> str | None:
        local, _, domain = address.lower().rpartition("@")
        if address.lower() in self.emails:
            return "a test or shop e-mail address"
        if any(domain == d or domain.endswith("." + d) for d in self.email_domains):
            return f"an address at {domain}, which is reserved or blocked"
        if self.block_reserved_domains and domain.rsplit(".", 1)[-1] in RESERVED_TOP_LEVEL_DOMAINS:
            return f"an address at {domain}, which is reserved for tests"
        if local.split("+", 1)[0] in self.email_local_parts:
            return "a no-reply mailbox"
        return None


def _normalised_phones(raws: Iterable[str], region: str) -> list[str]:
    """E.164 forms of configured numbers; a configured value that is not a number is a setup error."""
    found: list[str] = []
    for raw in raws:
        numbers = normalise_phone(raw, region=region)
        if not numbers:
            raise ValueError(f"block list phone {raw!r} is not a phone number")
        found.extend(number.value for number in numbers)
    return found


def _normalised_emails(raws: Iterable[str]) -> list[str]:
    """Normalised configured addresses; a configured value that is not an address is a setup error."""
    found: list[str] = []
    for raw in raws:
        identifier = normalise_email(raw)
        if identifier is None:
            raise ValueError(f"block list e-mail {raw!r} is not an e-mail address")
        found.append(identifier.value)
    return found


def _domain(raw: str) -> str:
    """A configured domain without ``*@``, ``@`` or dots around it, lower-cased."""
    return raw.strip().lower().removeprefix("*").removeprefix("@").strip(".")


def _repeats_one_digit(e164: str) -> bool:
    """Whether the national part of a number is one digit repeated (``+84 999 999 999``, ``+84 000 000 000``)."""
    if len(e164) < 3 or e164[-1] != e164[-2]:  # such a number ends in two equal digits; most numbers don't
        return False
    try:
        national = phonenumbers.national_significant_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        national = e164.lstrip("+")
    return len(national) > 1 and len(set(national)) == 1


DEFAULT_BLOCK_LIST = BlockList()
