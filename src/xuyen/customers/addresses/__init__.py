"""Vietnamese addresses read into today's units: 34 provinces and their communes/wards since 1 July 2025.

``parse_address(text)`` reads free text as clerks and customers type it (with or without accents, "P.7, Q.3,
TP.HCM", old provinces and districts, new-style "Phường Sài Gòn, TP Hồ Chí Minh") and maps old units to the
current ones through the 2025 arrangement, so an old and a new address of one place compare equal
(``same_place``, ``ParsedAddress.place_key``). It never guesses: a split old ward or a name found in several
places comes back ``ambiguous`` with its candidates. docs/addresses.md has the details and the data's origin.
"""

from __future__ import annotations

from xuyen.customers.addresses.result import AddressStatus, ParsedAddress, Place
from xuyen.customers.addresses.tails import parse
from xuyen.customers.addresses.units import load_units

__all__ = ["AddressStatus", "ParsedAddress", "Place", "mapping_version", "parse_address", "same_place"]


def parse_address(text: str) -> ParsedAddress:
    """Read a free-text address into the current province and ward, keeping the old units it names."""
    if not isinstance(text, str):
        raise TypeError(f"parse_address takes the address as str, not {type(text).__name__}")
    return parse(text)


def same_place(a: str | ParsedAddress, b: str | ParsedAddress) -> bool:
    """True when both addresses resolve to the same current ward, whichever era each is written in."""
    key_a = (a if isinstance(a, ParsedAddress) else parse_address(a)).place_key
    key_b = (b if isinstance(b, ParsedAddress) else parse_address(b)).place_key
    return key_a is not None and key_a == key_b


def mapping_version() -> str:
    """The version of the unit lists and the old-to-new mapping in use, as stored on each parsed address."""
    return load_units().version
