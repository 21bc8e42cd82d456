"""Reading a free-text Vietnamese address from its right end: province, then old district, then ward.

Each unit is found by looking up the words just left of the unit found before it, longest phrase first, in
the indexes of ``units``. A name counts only where it is written as a unit: after its kind ("Phường",
"P.", "Q", "TP", …) or at the start of a comma-separated part; a bare number ("7") only after its kind. So
"12 Quang Trung, Hà Đông" keeps "Quang Trung" as the street. Where the text fits several current wards (an
old ward split in 2025, or a name found in several places), the reading lists them all and picks none.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Flag, auto
from functools import lru_cache

from xuyen.customers.addresses.result import AddressStatus, ParsedAddress, Place
from xuyen.customers.addresses.text import Token, name_tones, tokenize, tones_agree
from xuyen.customers.addresses.units import Entry, Index, Level, Unit, Units, load_units

MAX_LENGTH = 1000  # characters; longer text is not an address
MAX_WORDS = 8  # the longest name, with room for words run together differently


class Tier(Flag):
    """Where in an address a kind word belongs."""

    WARD = auto()
    DISTRICT = auto()
    PROVINCE = auto()


# Kind words by their keys, in full and as clerks abbreviate them, with the spelling their tone is checked on.
_KINDS: dict[tuple[str, ...], tuple[str, Tier, str]] = {
    ("phuong",): ("Phường", Tier.WARD, "phường"),
    ("p",): ("Phường", Tier.WARD, "p"),
    ("ph",): ("Phường", Tier.WARD, "ph"),
    ("f",): ("Phường", Tier.WARD, "f"),
    ("ward",): ("Phường", Tier.WARD, "ward"),
    ("xa",): ("Xã", Tier.WARD, "xã"),
    ("x",): ("Xã", Tier.WARD, "x"),
    ("commune",): ("Xã", Tier.WARD, "commune"),
    ("thi", "tran"): ("Thị trấn", Tier.WARD, "thị trấn"),
    ("tt",): ("Thị trấn", Tier.WARD, "tt"),
    ("dac", "khu"): ("Đặc khu", Tier.WARD, "đặc khu"),
    ("quan",): ("Quận", Tier.DISTRICT, "quận"),
    ("q",): ("Quận", Tier.DISTRICT, "q"),
    ("district",): ("Quận", Tier.DISTRICT, "district"),
    ("dist",): ("Quận", Tier.DISTRICT, "dist"),
    ("huyen",): ("Huyện", Tier.DISTRICT, "huyện"),
    ("h",): ("Huyện", Tier.DISTRICT, "h"),
    ("thi", "xa"): ("Thị xã", Tier.DISTRICT, "thị xã"),
    ("tx",): ("Thị xã", Tier.DISTRICT, "tx"),
    ("thanh", "pho"): ("Thành phố", Tier.DISTRICT | Tier.PROVINCE, "thành phố"),
    ("tp",): ("Thành phố", Tier.DISTRICT | Tier.PROVINCE, "tp"),
    ("tinh",): ("Tỉnh", Tier.PROVINCE, "tỉnh"),
}
_KIND_TONES = {words: name_tones(spelling) for words, (_, _, spelling) in _KINDS.items()}
# English writes the kind after the name: "Ben Nghe Ward", "Tan Binh District", "Ho Chi Minh City".
_KINDS_AFTER: dict[str, tuple[str, Tier]] = {
    "ward": ("Phường", Tier.WARD),
    "commune": ("Xã", Tier.WARD),
    "district": ("Quận", Tier.DISTRICT),
    "dist": ("Quận", Tier.DISTRICT),
    "town": ("Thị xã", Tier.DISTRICT),
    "city": ("Thành phố", Tier.DISTRICT | Tier.PROVINCE),
    "province": ("Tỉnh", Tier.PROVINCE),
}
# Kinds that may stand for one another when a clerk writes one for the other (types changed over the years).
_SAME_TIER = {"Phường": Tier.WARD, "Xã": Tier.WARD, "Thị trấn": Tier.WARD, "Đặc khu": Tier.WARD,
              "Quận": Tier.DISTRICT, "Huyện": Tier.DISTRICT, "Thị xã": Tier.DISTRICT}
# Trailing words that are not part of the address proper.
_COUNTRY = (("viet", "nam"), ("vietnam",), ("vn",))
_POSTCODE_DIGITS = (5, 6)
_MARGINS = " \t\r\n,;|-–—.:"

Lookup = Callable[[str], Sequence[Entry]]


@dataclass(frozen=True, slots=True)
class _Match:
    start: int  # the first word, its kind word included
    name_start: int
    end: int
    entries: tuple[Entry, ...]
    kind: str | None

    def anchored(self, tokens: Sequence[Token]) -> bool:
        """Written as a unit: after its kind word, or at the start of a part of the address."""
        return self.kind is not None or tokens[self.name_start].after_separator

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(dict.fromkeys(entry.unit for entry in self.entries))


@dataclass(slots=True)
class _Reading:
    start: int
    wards: tuple[Unit, ...] = ()
    provinces: tuple[Unit, ...] = ()
    old_province: Unit | None = None
    old_district: Unit | None = None
    old_ward: Unit | None = None


def _kind_before(tokens: Sequence[Token], start: int, tier: Tier) -> tuple[int, str | None, bool]:
    """(first word of the kind, the kind, whether a kind of another tier stands there instead)."""
    for width in (2, 1):
        if start - width < 0:
            continue
        words = tuple(token.key for token in tokens[start - width : start])
        known = _KINDS.get(words)
        if known is None:
            continue
        if not tones_agree(tuple(token.tone for token in tokens[start - width : start]), _KIND_TONES[words]):
            continue
        kind, tiers, _ = known
        if tiers & tier:
            return start - width, kind, False
        return start, None, True
    return start, None, False


def _leading_kind(tokens: Sequence[Token], start: int, end: int, tier: Tier) -> str | None:
    """The kind a former name carries inside itself ("p13", "huyenquevo"), read from its first words."""
    for width in (2, 1):
        if end - start > width:
            known = _KINDS.get(tuple(token.key for token in tokens[start : start + width]))
            if known is not None and known[1] & tier:
                return known[0]
    return None


def _kind_fits(unit_kind: str, kind: str) -> bool:
    return unit_kind == kind or _SAME_TIER.get(unit_kind, Tier(0)) & _SAME_TIER.get(kind, Tier(0)) != Tier(0)


def _find(tokens: Sequence[Token], end: int, lookup: Lookup, tier: Tier, longest_key: int) -> _Match | None:
    """The longest unit name ending at ``end`` that ``lookup`` knows, with its kind if one is written."""
    name_end, kind_after = end, None
    if end > 0 and (after := _KINDS_AFTER.get(tokens[end - 1].key)) and after[1] & tier:
        name_end, kind_after = end - 1, after[0]
    found: list[tuple[int, Sequence[Entry]]] = []
    key = ""
    for start in range(name_end - 1, max(name_end - MAX_WORDS, 0) - 1, -1):
        key = tokens[start].key + key
        if len(key) > longest_key:
            break
        entries = lookup(key)
        if entries:
            found.append((start, entries))
    best: _Match | None = None
    for start, entries in reversed(found):
        match = _accept(tokens, start, name_end, end, entries, tier, kind_after)
        if match is None or (best is not None and match.start > best.start):
            continue
        if best is None:
            best = match
        else:  # "Phường 7" is both a former name "phuong7" and the name "7" after its kind: keep both
            best = _Match(best.start, best.name_start, end, best.entries + match.entries, best.kind or match.kind)
    return best


def _accept(tokens: Sequence[Token], start: int, name_end: int, end: int, entries: Sequence[Entry], tier: Tier,
            kind_after: str | None) -> _Match | None:
    typed = tuple(token.tone for token in tokens[start:name_end])
    fitting = [entry for entry in entries if entry.tones is None or tones_agree(typed, entry.tones)]
    kind_start, kind, other_tier = _kind_before(tokens, start, tier)
    if other_tier:
        return None
    kind = kind or kind_after or _leading_kind(tokens, start, name_end, tier)
    if kind is None:
        fitting = [entry for entry in fitting if not entry.needs_kind]
    else:
        fitting = [entry for entry in fitting if _kind_fits(entry.unit.kind, kind)] or fitting
    if not fitting:
        return None
    return _Match(kind_start, start, end, tuple(fitting), kind)


def _lookup_in(indexes: Sequence[Index], allowed: frozenset[str] | None = None) -> Lookup:
    """A lookup over several indexes, keeping only units whose code is in ``allowed`` when given."""

    def lookup(key: str) -> Sequence[Entry]:
        entries: tuple[Entry, ...] = ()
        for index in indexes:
            entries += index.get(key, ())
        if allowed is not None:
            return [entry for entry in entries if entry.unit.code in allowed]
        return entries

    return lookup


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where to look below the province: its current wards, the old provinces it was made of."""

    units: Units
    province: Unit | None = None
    old_province: Unit | None = None

    @property
    def old_province_codes(self) -> tuple[str, ...] | None:
        if self.old_province is not None:
            return (self.old_province.code,)
        if self.province is not None:
            return self.units.old_provinces_by_province.get(self.province.code, ())
        return None

    def districts(self) -> Lookup:
        codes = self.old_province_codes
        if codes is None:
            return _lookup_in([self.units.district_names])
        return _lookup_in([self.units.district_names_by_old_province.get(code, {}) for code in codes])

    def old_wards(self, districts: Sequence[Unit] | None = None) -> Lookup:
        if districts is not None:
            return _lookup_in([self.units.old_ward_names_by_district.get(unit.code, {}) for unit in districts])
        codes = self.old_province_codes
        if codes is None:
            return _lookup_in([self.units.old_ward_names])
        return _lookup_in([self.units.old_ward_names_by_old_province.get(code, {}) for code in codes])

    def wards(self, within: frozenset[str] | None = None) -> Lookup:
        if self.old_province is not None:
            allowed = self.units.wards_by_old_province[self.old_province.code]
            within = allowed if within is None else within & allowed
        if self.province is None:
            return _lookup_in([self.units.ward_names], within)
        return _lookup_in([self.units.ward_names_by_province.get(self.province.code, {})], within)


def _targets(units: Units, old: Sequence[Unit]) -> tuple[Unit, ...]:
    codes = sorted({code for unit in old for code in unit.targets})
    return tuple(units.wards[code] for code in codes)


def _single(units: Sequence[Unit]) -> Unit | None:
    return units[0] if len(units) == 1 else None


def _read_with_district(tokens: Sequence[Token], district: _Match, scope: _Scope) -> _Reading | None:
    """Old style: a ward of the district (old, or current inside the district's area), or the district alone."""
    units, districts = scope.units, district.units
    old = _find(tokens, district.start, scope.old_wards(districts), Tier.WARD, units.longest_key)
    if old is not None and old.anchored(tokens):
        old_wards = old.units
        ward_districts = tuple(dict.fromkeys(units.old_districts[ward.parent] for ward in old_wards))
        return _Reading(old.start, _targets(units, old_wards), old_district=_single(ward_districts),
                        old_ward=_single(old_wards))
    area = frozenset().union(*(units.wards_by_old_district[unit.code] for unit in districts))
    current = _find(tokens, district.start, scope.wards(area), Tier.WARD, units.longest_key)
    if current is not None and current.anchored(tokens):
        return _Reading(current.start, current.units, old_district=_single(districts))
    if not district.anchored(tokens):
        return None
    wards: tuple[Unit, ...] = ()
    if all(unit.targets for unit in districts):  # a district without wards, such as an island
        wards = _targets(units, districts)
    elif district.kind is None:  # "Cầu Giấy, Hà Nội": the old district, or today's ward of the same name
        same = _find(tokens, district.end, scope.wards(), Tier.WARD, units.longest_key)
        if same is not None and same.name_start == district.name_start and same.kind is None:
            wards = tuple(sorted({*same.units, *(units.wards[code] for code in area)}, key=lambda u: u.code))
    provinces = tuple(dict.fromkeys(units.provinces[units.old_provinces[unit.parent].parent] for unit in districts))
    return _Reading(district.start, wards, provinces, old_district=_single(districts))


def _read_ward(tokens: Sequence[Token], end: int, scope: _Scope) -> _Reading | None:
    """New style (a current ward) or an old ward written without its district."""
    units = scope.units
    current = _find(tokens, end, scope.wards(), Tier.WARD, units.longest_key)
    current = current if current is not None and current.anchored(tokens) else None
    old = _find(tokens, end, scope.old_wards(), Tier.WARD, units.longest_key)
    old = old if old is not None and old.anchored(tokens) else None
    if current is not None and (old is None or current.start <= old.start):
        return _Reading(current.start, current.units)
    if old is None:
        return None
    old_wards = old.units
    ward = _single(old_wards)
    district = units.old_districts[ward.parent] if ward is not None else None
    return _Reading(old.start, _targets(units, old_wards), old_district=district, old_ward=ward)


def _read_below(tokens: Sequence[Token], end: int, scope: _Scope) -> _Reading | None:
    """The units left of ``end``: an old district and its ward, else a ward on its own."""
    district = _find(tokens, end, scope.districts(), Tier.DISTRICT, scope.units.longest_key)
    if district is not None:
        reading = _read_with_district(tokens, district, scope)
        if reading is not None:
            return reading
    return _read_ward(tokens, end, scope)


def _content_end(tokens: Sequence[Token]) -> int:
    """Where the address proper ends: before a trailing country name or postcode."""
    end = len(tokens)
    while end > 0:
        last = tokens[end - 1]
        if last.key.isdigit() and last.end - last.start in _POSTCODE_DIGITS:
            end -= 1
            continue
        country = next((len(words) for words in _COUNTRY
                        if tuple(token.key for token in tokens[end - len(words) : end]) == words), 0)
        if not country:
            return end
        end -= country
    return end


def _province_scope(units: Units, match: _Match) -> _Scope:
    current = [entry.unit for entry in match.entries if entry.unit.level is Level.PROVINCE]
    if current:
        return _Scope(units, province=current[0])
    old = match.entries[0].unit
    return _Scope(units, province=units.provinces[old.parent], old_province=old)


def _stands_alone(tokens: Sequence[Token], match: _Match) -> bool:
    """A province name that needs nothing left of it: typed, after a separator, or two words or more."""
    return match.anchored(tokens) or match.end - match.name_start > 1 or any(
        entry.tones is None for entry in match.entries)


def _read(tokens: Sequence[Token], units: Units) -> _Reading | None:
    end = _content_end(tokens)
    province = _find(tokens, end, _lookup_in([units.province_names]), Tier.PROVINCE, units.longest_key)
    if province is not None:
        scope = _province_scope(units, province)
        below = _read_below(tokens, province.start, scope)
        if below is not None:
            below.provinces = below.provinces or (scope.province,)
            below.old_province = below.old_province or scope.old_province
            return below
        if _stands_alone(tokens, province):
            return _Reading(province.start, provinces=(scope.province,), old_province=scope.old_province)
    return _read_below(tokens, end, _Scope(units))


def _place(units: Units, ward: Unit) -> Place:
    province = units.provinces[ward.parent]
    return Place(province.code, province.full_name, ward.code, ward.full_name)


def _result(raw: str, text: str, tokens: Sequence[Token], reading: _Reading | None, units: Units) -> ParsedAddress:
    if reading is None:
        return ParsedAddress(raw, text.strip(_MARGINS), AddressStatus.UNRECOGNISED, units.version)
    street = text[: tokens[reading.start].start].strip(_MARGINS)
    wards = reading.wards
    provinces = tuple(dict.fromkeys(units.provinces[ward.parent] for ward in wards)) if wards else reading.provinces
    province = _single(provinces)
    old_district = reading.old_district
    old_province = reading.old_province
    if old_province is None and old_district is not None:
        old_province = units.old_provinces[old_district.parent]
    common = {
        "raw": raw,
        "street": street,
        "mapping_version": units.version,
        "province_code": province.code if province else None,
        "province_name": province.full_name if province else None,
        "old_province_code": old_province.code if old_province else None,
        "old_district_code": old_district.code if old_district else None,
        "old_ward_code": reading.old_ward.code if reading.old_ward else None,
    }
    if len(wards) == 1:
        return ParsedAddress(**common, status=AddressStatus.EXACT, ward_code=wards[0].code,
                             ward_name=wards[0].full_name)
    if wards:
        return ParsedAddress(**common, status=AddressStatus.AMBIGUOUS,
                             candidates=tuple(_place(units, ward) for ward in wards))
    if province is not None:
        return ParsedAddress(**common, status=AddressStatus.PROVINCE_ONLY)
    return ParsedAddress(**common, status=AddressStatus.AMBIGUOUS,
                         candidates=tuple(Place(unit.code, unit.full_name) for unit in provinces))


@lru_cache(maxsize=65536)
def parse(text: str) -> ParsedAddress:
    """The address read into today's units (cached: the same text gives the same, immutable, result)."""
    units = load_units()
    if len(text) > MAX_LENGTH:
        return ParsedAddress(text, "", AddressStatus.UNRECOGNISED, units.version)
    normalised = unicodedata.normalize("NFC", text)
    tokens = tokenize(normalised)
    reading = _read(tokens, units) if tokens else None
    return _result(text, normalised, tokens, reading, units)
