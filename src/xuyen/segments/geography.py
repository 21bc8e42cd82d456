"""Provinces as a segment names them: today's 34 or the 63 from before the merger of 1 July 2025, read with the
address parser's own list of units so that both spellings reach the same customers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from xuyen.customers.addresses import AddressStatus, parse_address
from xuyen.customers.addresses.units import load_units


class UnknownProvince(ValueError):
    """The text names no province, current or former."""


@dataclass(frozen=True)
class ProvinceArea:
    """A province as named: today's ``code``; for a former province its ``old_code`` and today's wards over its land."""

    code: str
    name: str
    old_code: str | None = None
    old_name: str | None = None
    ward_codes: frozenset[str] = frozenset()


@lru_cache(maxsize=256)
def province_area(text: str) -> ProvinceArea:
    """The province ``text`` names (``Hà Nội``, ``TP.HCM``, ``Bình Dương``); UnknownProvince otherwise."""
    parsed = parse_address(text)
    if parsed.status is not AddressStatus.PROVINCE_ONLY or parsed.province_code is None \
            or parsed.old_district_code is not None:
        raise UnknownProvince(f"{text!r} is not a province of Vietnam (today's or before July 2025)")
    name = parsed.province_name or text
    if parsed.old_province_code is None:
        return ProvinceArea(code=parsed.province_code, name=name)
    units = load_units()
    return ProvinceArea(code=parsed.province_code, name=name, old_code=parsed.old_province_code,
                        old_name=units.old_provinces[parsed.old_province_code].full_name,
                        ward_codes=frozenset(units.wards_by_old_province[parsed.old_province_code]))
