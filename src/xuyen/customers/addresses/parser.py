"""Reading a free-text Vietnamese address from its right end: province, then old district, then ward.

Each unit is found by looking up the words just left of the unit found before it, longest phrase first, in
the indexes of ``units``. A name counts only where it is written as a unit: after its kind ("Phường",
"P.", "Q", "TP", …) or at the start of a comma-separated part; a bare number ("7") only after its kind. So
"12 Quang Trung, Hà Đông" keeps "Quang Trung" as the street. Where the text fits several current wards (an
old ward split in 2025, or a name found in several places), the reading lists them all and picks none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xuyen.customers.addresses.result import AddressStatus, ParsedAddress, Place
from xuyen.customers.addresses.text import Words, name_spellings, tones_agree
from xuyen.customers.addresses.units import Entry, Index, Level, Unit, Units, merged

MAX_WORDS = 8  # the longest name, with room for words run together differently


class Tier:
    """Where in an address a kind word belongs (bit flags, plain ints for speed)."""

    WARD = 1
    DISTRICT = 2
    PROVINCE = 4


# Kind words by their keys, in full and as clerks abbreviate them, with the spelling their tone is checked on.
_KINDS: dict[tuple[str, ...], tuple[str, int, str]] = {
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
_KIND_SPELLINGS = {written: name_spellings(written) for _, _, written in _KINDS.values()}
# English writes the kind after the name: "Ben Nghe Ward", "Tan Binh District", "Ho Chi Minh City".
_KINDS_AFTER: dict[str, tuple[str, int]] = {
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
_COUNTRY_LAST = frozenset(name[-1] for name in _COUNTRY)
_POSTCODE_DIGITS = (5, 6)

_KINDS_ONE = {words[0]: value for words, value in _KINDS.items() if len(words) == 1}
_KINDS_TWO = {words: value for words, value in _KINDS.items() if len(words) == 2}
_NO_ENTRIES: tuple[Entry, ...] = ()


@dataclass(slots=True)
class _Lookup:
    """Where to look a name up: one index, keeping only units whose code is in ``allowed`` when given."""

    index: Index
    allowed: frozenset[str] | None = None

    def get(self, key: str) -> Sequence[Entry]:
        entries = self.index.get(key, _NO_ENTRIES)
        if entries and self.allowed is not None:
            return [entry for entry in entries if entry.unit.code in self.allowed]
        return entries


@dataclass(slots=True)
class _Match:
    start: int  # the first word, its kind word included
    name_start: int
    end: int
    entries: tuple[Entry, ...]
    kind: str | None

    def anchored(self, words: Words) -> bool:
        """Written as a unit: after its kind word, or at the start of a part of the address."""
        return self.kind is not None or words.after_separator[self.name_start]

    @property
    def units(self) -> tuple[Unit, ...]:
        return tuple(dict.fromkeys(entry.unit for entry in self.entries))


@dataclass(slots=True)
class Reading:
    """The units found: the current wards (or provinces) that fit, the old units named, the first word read."""

    start: int
    wards: tuple[Unit, ...] = ()
    provinces: tuple[Unit, ...] = ()
    old_province: Unit | None = None
    old_district: Unit | None = None
    old_ward: Unit | None = None


def _kind_word(words: Words, start: int, width: int) -> tuple[str, int, str] | None:
    if width == 1:
        known = _KINDS_ONE.get(words.keys[start])
    else:
        known = _KINDS_TWO.get((words.keys[start], words.keys[start + 1]))
    if known is None or not tones_agree(words.spellings[start : start + width], _KIND_SPELLINGS[known[2]]):
        return None
    return known


def _kind_before(words: Words, start: int, tier: int) -> tuple[int, str | None, bool]:
    """(first word of the kind, the kind, whether a kind of another tier stands there instead).

    A kind is read only in the same part of the address as the name: "Phường Bến Nghé", not "Phường, Bến Nghé".
    """
    for width in (2, 1):
        first = start - width
        if words.after_separator[start] or (width == 2 and words.after_separator[start - 1]):
            continue
        words.look_at(first)
        known = _kind_word(words, first, width)
        if known is None:
            continue
        kind, tiers, _ = known
        if tiers & tier:
            return first, kind, False
        return start, None, True
    return start, None, False


def _leading_kind(words: Words, start: int, end: int, tier: int) -> str | None:
    """The kind a former name carries inside itself ("p13", "huyenquevo"), read from its first words."""
    for width in (2, 1):
        if end - start > width:
            known = _kind_word(words, start, width)
            if known is not None and known[1] & tier:
                return known[0]
    return None


def _kind_fits(unit_kind: str, kind: str) -> bool:
    return unit_kind == kind or _SAME_TIER.get(unit_kind, 0) & _SAME_TIER.get(kind, 0) != 0


def _find(words: Words, end: int, lookup: _Lookup, tier: int, endings: frozenset[str]) -> _Match | None:
    """The longest unit name ending at ``end`` that ``lookup`` knows, with its kind if one is written."""
    keys = words.keys
    name_end, kind_after = end, None
    if end > 0 and (after := _KINDS_AFTER.get(keys[end - 1])) and after[1] & tier:
        name_end, kind_after = end - 1, after[0]
    found: list[tuple[int, Sequence[Entry]]] = []
    key, index, lowest = "", lookup.index, max(name_end - MAX_WORDS, 0)
    for start in range(name_end - 1, lowest - 1, -1):
        key = keys[start] + key
        if key not in endings:
            words.look_at(start)
            break
        if key in index and (entries := lookup.get(key)):
            found.append((start, entries))
    else:  # not stopped by the words themselves: stopped by the length limit, or by the start of the text
        words.look_at(lowest)
        words.needs_start = words.needs_start or name_end - MAX_WORDS < 0
    best: _Match | None = None
    for start, entries in reversed(found):
        if best is not None and not _kind_between(keys, best.start, start):
            continue  # a shorter name could only begin where the best one begins after a kind word
        match = _accept(words, start, name_end, end, entries, tier, kind_after)
        if match is None or (best is not None and match.start > best.start):
            continue
        if best is None:
            best = match
        else:  # "Phường 7" is both a former name "phuong7" and the name "7" after its kind: keep both
            best = _Match(best.start, best.name_start, end, best.entries + match.entries, best.kind or match.kind)
    return best


def _kind_between(keys: list[str], first: int, start: int) -> bool:
    """Whether the words from ``first`` up to ``start`` could be a kind word (one or two words)."""
    if start - first == 1:
        return keys[first] in _KINDS_ONE
    return start - first == 2 and (keys[first], keys[first + 1]) in _KINDS_TWO


def _accept(words: Words, start: int, name_end: int, end: int, entries: Sequence[Entry], tier: int,
            kind_after: str | None) -> _Match | None:
    kind_start, kind, other_tier = _kind_before(words, start, tier)
    if other_tier:
        return None
    kind = kind or kind_after or _leading_kind(words, start, name_end, tier)
    fitting = _best_spelled(words.spellings[start:name_end], entries) if words.accented else list(entries)
    fitting = _best_kind(fitting, kind) if kind else [entry for entry in fitting if not entry.needs_kind]
    if not fitting:
        return None
    return _Match(kind_start, start, end, tuple(fitting), kind)


def _best_spelled(typed: list[str], entries: Sequence[Entry]) -> list[Entry]:
    """For text typed with accents: the names spelled exactly as typed ("Văn Lang", not "Văn Lăng"), else those
    whose tones agree; former names (kept as keys only) cannot be told apart by accents and always stay."""
    written = tuple(typed)
    exact = [entry for entry in entries if entry.spellings == written]
    if exact:
        return exact
    return [entry for entry in entries if entry.spellings is None or tones_agree(written, entry.spellings)]


def _best_kind(entries: list[Entry], kind: str) -> list[Entry]:
    """The units of the kind written, else of a kind of the same tier ("Xã" for a "Phường"), else all."""
    exact = [entry for entry in entries if entry.unit.kind == kind]
    if exact:
        return exact
    return [entry for entry in entries if _kind_fits(entry.unit.kind, kind)] or entries


@dataclass(slots=True)
class _Scope:
    """Where to look below the province: the whole country, a current province, or one old province."""

    units: Units
    province: Unit | None = None
    old_province: Unit | None = None

    def districts(self) -> _Lookup:
        units = self.units
        if self.old_province is not None:
            return _Lookup(units.district_names_by_old_province.get(self.old_province.code, {}))
        if self.province is not None:
            return _Lookup(units.district_names_by_province.get(self.province.code, {}))
        return _Lookup(units.district_names)

    def old_wards(self, districts: Sequence[Unit] | None = None) -> _Lookup:
        units = self.units
        if districts is not None:
            by_district = units.old_ward_names_by_district
            indexes = [by_district.get(unit.code, {}) for unit in districts]
            return _Lookup(indexes[0] if len(indexes) == 1 else merged(indexes))
        if self.old_province is not None:
            return _Lookup(units.old_ward_names_by_old_province.get(self.old_province.code, {}))
        if self.province is not None:
            return _Lookup(units.old_ward_names_by_province.get(self.province.code, {}))
        return _Lookup(units.old_ward_names)

    def any_wards(self) -> _Lookup:
        return _Lookup(self.units.any_ward_names(self.province.code if self.province else None,
                                                 self.old_province.code if self.old_province else None))

    def wards(self, within: frozenset[str] | None = None) -> _Lookup:
        units = self.units
        if self.old_province is not None:
            allowed = units.wards_by_old_province[self.old_province.code]
            within = allowed if within is None else within & allowed
        if self.province is None:
            return _Lookup(units.ward_names, within)
        return _Lookup(units.ward_names_by_province.get(self.province.code, {}), within)


def _targets(units: Units, old: Sequence[Unit]) -> tuple[Unit, ...]:
    codes = sorted({code for unit in old for code in unit.targets})
    return tuple(units.wards[code] for code in codes)


def _single(units: Sequence[Unit]) -> Unit | None:
    return units[0] if len(units) == 1 else None


def _read_with_district(words: Words, district: _Match, scope: _Scope) -> Reading | None:
    """Old style: a ward of the district (old, or current inside the district's area), or the district alone."""
    units, districts = scope.units, district.units
    old = _find(words, district.start, scope.old_wards(districts), Tier.WARD, units.endings)
    if old is not None and old.anchored(words):
        old_wards = old.units
        ward_districts = tuple(dict.fromkeys(units.old_districts[ward.parent] for ward in old_wards))
        return Reading(old.start, _targets(units, old_wards), old_district=_single(ward_districts),
                        old_ward=_single(old_wards))
    area = frozenset().union(*(units.wards_by_old_district[unit.code] for unit in districts))
    current = _find(words, district.start, scope.wards(area), Tier.WARD, units.endings)
    if current is not None and current.anchored(words):
        return Reading(current.start, current.units, old_district=_single(districts))
    if not district.anchored(words):
        return None
    wards: tuple[Unit, ...] = ()
    if all(unit.targets for unit in districts):  # a district without wards, such as an island
        wards = _targets(units, districts)
    elif district.kind is None:  # "Cầu Giấy, Hà Nội": the old district, or today's ward of the same name
        same = _find(words, district.end, scope.wards(), Tier.WARD, units.endings)
        if same is not None and same.name_start == district.name_start and same.kind is None:
            wards = tuple(sorted({*same.units, *(units.wards[code] for code in area)}, key=lambda u: u.code))
    provinces = tuple(dict.fromkeys(units.provinces[units.old_provinces[unit.parent].parent] for unit in districts))
    return Reading(district.start, wards, provinces, old_district=_single(districts))


def _read_ward(words: Words, end: int, scope: _Scope) -> Reading | None:
    """New style (a current ward) or an old ward written without its district; today's name wins a tie."""
    units = scope.units
    match = _find(words, end, scope.any_wards(), Tier.WARD, units.endings)
    if match is None or not match.anchored(words):
        return None
    current = tuple(unit for unit in match.units if unit.level is Level.WARD)
    if current:
        return Reading(match.start, current)
    old_wards = match.units
    ward = _single(old_wards)
    district = units.old_districts[ward.parent] if ward is not None else None
    return Reading(match.start, _targets(units, old_wards), old_district=district, old_ward=ward)


def _read_below(words: Words, end: int, scope: _Scope) -> Reading | None:
    """The units left of ``end``: an old district and its ward, else a ward on its own."""
    district = _find(words, end, scope.districts(), Tier.DISTRICT, scope.units.endings)
    if district is not None:
        reading = _read_with_district(words, district, scope)
        if reading is not None and reading.start == district.start:  # the district alone: is it a ward's tail?
            alone = _read_ward(words, end, scope)  # "Phường Lâm Viên - Đà Lạt" ends in the district "Đà Lạt"
            return alone if alone is not None and alone.start < reading.start else reading
        if reading is not None:
            return reading
    reading = _read_ward(words, end, scope)
    if reading is None and (skipped := _unknown_district(words, end)) is not None:
        return _read_ward(words, skipped, scope)  # "Phường Vĩnh Ninh, Thành phố Huế, …": a district since split
    return reading


def _unknown_district(words: Words, end: int) -> int | None:
    """Where the part of the address before ``end`` starts, if it is a district we do not know ("TP Huế")."""
    if end <= 0:
        return None
    start = end - 1
    while start > 0 and not words.after_separator[start]:
        start -= 1
    words.look_at(start)
    for width in (2, 1):
        if end - start > width:
            known = _kind_word(words, start, width)
            if known is not None and known[1] & Tier.DISTRICT:
                return start
    return None


def _content_end(words: Words) -> int:
    """Where the address proper ends: before a trailing country name or postcode."""
    keys, end = words.keys, len(words)
    while end > 0:
        last = keys[end - 1]
        if last.isdigit() and len(last) in _POSTCODE_DIGITS:
            end -= 1
        elif last in _COUNTRY_LAST:
            width = next((len(name) for name in _COUNTRY if tuple(keys[max(end - len(name), 0) : end]) == name), 0)
            if not width:
                return end
            end -= width
        else:
            return end
    return end


def _province_scope(units: Units, match: _Match) -> tuple[Unit, _Scope]:
    """The current province a province name stands for, and the scope below it (narrower for an old name)."""
    current = [entry.unit for entry in match.entries if entry.unit.level is Level.PROVINCE]
    if current:
        return current[0], _Scope(units, province=current[0])
    old = match.entries[0].unit
    province = units.provinces[old.parent]
    return province, _Scope(units, province=province, old_province=old)


def _stands_alone(words: Words, match: _Match) -> bool:
    """A province name that needs nothing left of it: typed, after a separator, or two words or more."""
    return match.anchored(words) or match.end - match.name_start > 1 or any(
        entry.spellings is None for entry in match.entries)


def read(words: Words, units: Units) -> Reading | None:
    """The units the words name, read from the right end; None when they name none."""
    end = _content_end(words)
    province = _find(words, end, _Lookup(units.province_names), Tier.PROVINCE, units.endings)
    if province is not None:
        current, scope = _province_scope(units, province)
        below = _read_below(words, province.start, scope)
        if below is not None:
            below.provinces = below.provinces or (current,)
            below.old_province = below.old_province or scope.old_province
            return below
        if _stands_alone(words, province):
            return Reading(province.start, provinces=(current,), old_province=scope.old_province)
    return _read_below(words, end, _Scope(units))


def _place(units: Units, ward: Unit) -> Place:
    province = units.provinces[ward.parent]
    return Place(province.code, province.full_name, ward.code, ward.full_name)


def result(raw: str, street: str, reading: Reading | None, units: Units) -> ParsedAddress:
    """The parsed address for a reading: exact, ambiguous, province only, or unrecognised."""
    if reading is None:
        return ParsedAddress(raw, street, AddressStatus.UNRECOGNISED, units.version)
    wards = reading.wards
    provinces = tuple(dict.fromkeys(units.provinces[ward.parent] for ward in wards)) if wards else reading.provinces
    province = _single(provinces)
    old_district = reading.old_district
    old_province = reading.old_province
    if old_province is None and old_district is not None:
        old_province = units.old_provinces[old_district.parent]
    status, ward, candidates = _status(units, wards, provinces)
    return ParsedAddress(
        raw=raw,
        street=street,
        status=status,
        mapping_version=units.version,
        province_code=province.code if province else None,
        province_name=province.full_name if province else None,
        ward_code=ward.code if ward else None,
        ward_name=ward.full_name if ward else None,
        old_province_code=old_province.code if old_province else None,
        old_district_code=old_district.code if old_district else None,
        old_ward_code=reading.old_ward.code if reading.old_ward else None,
        candidates=candidates,
    )


def _status(units: Units, wards: Sequence[Unit],
            provinces: Sequence[Unit]) -> tuple[AddressStatus, Unit | None, tuple[Place, ...]]:
    """Exact for one ward, ambiguous (with the candidates) for several wards or provinces, else province only."""
    if len(wards) == 1:
        return AddressStatus.EXACT, wards[0], ()
    if wards:
        return AddressStatus.AMBIGUOUS, None, tuple(_place(units, ward) for ward in wards)
    if len(provinces) == 1:
        return AddressStatus.PROVINCE_ONLY, None, ()
    return AddressStatus.AMBIGUOUS, None, tuple(Place(unit.code, unit.full_name) for unit in provinces)
