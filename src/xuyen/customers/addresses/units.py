"""The administrative units, current and pre-July-2025, loaded once from the packaged data file and indexed."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from xuyen.customers.addresses.text import Spelling, name_key, name_spellings

DATA_FILE = "units.json.gz"
DATA_FORMAT = 1


class Level(StrEnum):
    """Which list a unit comes from."""

    PROVINCE = "province"
    WARD = "ward"
    OLD_PROVINCE = "old_province"
    OLD_DISTRICT = "old_district"
    OLD_WARD = "old_ward"


@dataclass(frozen=True, slots=True, eq=False)  # each unit exists once: identity is equality, and hashes fast
class Unit:
    """One administrative unit: a current province or ward, or an old province, district or ward.

    ``parent`` is the code of the unit above: a current ward's province, an old district's old province, an
    old ward's district; for an old province it is the current province it is now part of. ``targets`` are
    the current wards an old ward (or a district without wards, such as an island) went into.
    """

    level: Level
    code: str
    kind: str
    name: str
    parent: str
    targets: tuple[str, ...] = ()

    @property
    def full_name(self) -> str:
        """The name with its kind, as the resolutions write it: "Phường Bến Nghé", "Thành phố Hồ Chí Minh"."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One way of writing a unit: its official name (with each word's spelling) or a former name (key only)."""

    unit: Unit
    spellings: tuple[Spelling, ...] | None
    needs_kind: bool


Index = Mapping[str, tuple[Entry, ...]]

# Names people use for a province besides the official one, as lookup keys (words run together, no accents).
PROVINCE_ALIASES: dict[str, tuple[str, ...]] = {
    "01": ("hn", "tphn"),
    "79": ("hcm", "tphcm", "hcmc", "saigon", "sg", "tpsg"),
    "46": ("thuathienhue", "tthue"),
    "48": ("tpdn",),
    "66": ("daclac",),
}
OLD_PROVINCE_ALIASES: dict[str, tuple[str, ...]] = {
    "46": ("thuathienhue", "tthue"),
    "66": ("daclac",),
    "67": ("dacnong",),
    "77": ("brvt",),
    "79": ("hcm", "tphcm", "hcmc", "saigon", "sg", "tpsg"),
    "01": ("hn", "tphn"),
}


@dataclass(frozen=True, slots=True, eq=False)  # one per process: identity is equality
class Units:
    """Every unit by code, the name indexes the parser looks words up in, and the endings of all their keys."""

    version: str
    provinces: Mapping[str, Unit]
    wards: Mapping[str, Unit]
    old_provinces: Mapping[str, Unit]
    old_districts: Mapping[str, Unit]
    old_wards: Mapping[str, Unit]
    province_names: Index
    ward_names: Index
    ward_names_by_province: Mapping[str, Index]
    district_names: Index
    district_names_by_province: Mapping[str, Index]
    district_names_by_old_province: Mapping[str, Index]
    old_ward_names: Index
    old_ward_names_by_district: Mapping[str, Index]
    old_ward_names_by_province: Mapping[str, Index]
    old_ward_names_by_old_province: Mapping[str, Index]
    wards_by_old_province: Mapping[str, frozenset[str]]
    wards_by_old_district: Mapping[str, frozenset[str]]
    endings: frozenset[str]

    def any_ward_names(self, province: str | None = None, old_province: str | None = None) -> Index:
        """Current and old wards in one index: the country's, a current province's or an old province's."""
        return _any_ward_names(self, province, old_province)


@cache
def _any_ward_names(units: Units, province: str | None, old_province: str | None) -> Index:
    if old_province is not None:
        within = units.wards_by_old_province[old_province]
        current = units.ward_names_by_province.get(units.old_provinces[old_province].parent, {})
        kept = {key: tuple(entry for entry in entries if entry.unit.code in within) for key, entries in current.items()}
        return merged([{key: entries for key, entries in kept.items() if entries},
                       units.old_ward_names_by_old_province.get(old_province, {})])
    if province is not None:
        return merged([units.ward_names_by_province.get(province, {}),
                       units.old_ward_names_by_province.get(province, {})])
    return merged([units.ward_names, units.old_ward_names])


def _official(unit: Unit) -> list[tuple[str, Entry]]:
    needs_kind = unit.name.isdigit()
    return [(name_key(unit.name), Entry(unit, name_spellings(unit.name), needs_kind))]


def _former(unit: Unit, keys: Iterable[str]) -> list[tuple[str, Entry]]:
    return [(key, Entry(unit, None, False)) for key in keys]


def _index(pairs: Iterable[tuple[str, Entry]]) -> dict[str, tuple[Entry, ...]]:
    """Entries by key; where a key is some unit's official name, former names under that key are dropped."""
    grouped: dict[str, list[Entry]] = defaultdict(list)
    for key, entry in pairs:
        if entry not in grouped[key]:
            grouped[key].append(entry)
    return {key: _official_first(entries) for key, entries in grouped.items()}


def _official_first(entries: list[Entry]) -> tuple[Entry, ...]:
    official = tuple(entry for entry in entries if entry.spellings is not None)
    return official or tuple(entries)


def merged(indexes: Iterable[Index]) -> dict[str, tuple[Entry, ...]]:
    """One index over several, official names again over former ones."""
    grouped: dict[str, list[Entry]] = defaultdict(list)
    for index in indexes:
        for key, entries in index.items():
            grouped[key].extend(entries)
    return {key: _official_first(entries) for key, entries in grouped.items()}


def _index_by(pairs: Iterable[tuple[str, Entry]], group: Callable[[Entry], str]) -> dict[str, Index]:
    by_group: dict[str, list[tuple[str, Entry]]] = defaultdict(list)
    for key, entry in pairs:
        by_group[group(entry)].append((key, entry))
    return {code: _index(group_pairs) for code, group_pairs in by_group.items()}


def _read_data() -> dict:
    raw = resources.files("xuyen.customers.addresses").joinpath("data", DATA_FILE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    if data.get("format") != DATA_FORMAT:
        raise RuntimeError(f"{DATA_FILE} has format {data.get('format')!r}, expected {DATA_FORMAT}; rebuild it "
                           "with scripts/build_address_data.py")
    return data


def _units_from(data: dict) -> tuple[dict[str, Unit], ...]:
    provinces = {code: Unit(Level.PROVINCE, code, kind, name, code) for code, kind, name in data["provinces"]}
    wards = {code: Unit(Level.WARD, code, kind, name, province) for code, province, kind, name in data["wards"]}
    old_provinces = {code: Unit(Level.OLD_PROVINCE, code, kind, name, now)
                     for code, kind, name, now, _ in data["old_provinces"]}
    old_districts = {code: Unit(Level.OLD_DISTRICT, code, kind, name, province, tuple(targets))
                     for code, province, kind, name, _, targets in data["old_districts"]}
    old_wards = {code: Unit(Level.OLD_WARD, code, kind, name, district, tuple(targets))
                 for code, district, kind, name, _, targets in data["old_wards"]}
    return provinces, wards, old_provinces, old_districts, old_wards


def _aliases(rows: list[list]) -> dict[str, list[str]]:
    return {row[0]: row[4] for row in rows}


@cache
def load_units() -> Units:
    """The units and their indexes, read and built once per process (well under a second)."""
    data = _read_data()
    provinces, wards, old_provinces, old_districts, old_wards = _units_from(data)
    district_aliases, ward_aliases = _aliases(data["old_districts"]), _aliases(data["old_wards"])
    old_province_aliases = _aliases(data["old_provinces"])

    province_pairs = [pair for unit in provinces.values() for pair in _official(unit)]
    province_pairs += [pair for code, keys in PROVINCE_ALIASES.items() for pair in _former(provinces[code], keys)]
    for unit in old_provinces.values():
        province_pairs += _official(unit) + _former(unit, old_province_aliases[unit.code])
        province_pairs += _former(unit, OLD_PROVINCE_ALIASES.get(unit.code, ()))
    ward_pairs = [pair for unit in wards.values() for pair in _official(unit)]
    district_pairs = [pair for unit in old_districts.values()
                      for pair in _official(unit) + _former(unit, district_aliases[unit.code])]
    old_ward_pairs = [pair for unit in old_wards.values()
                      for pair in _official(unit) + _former(unit, ward_aliases[unit.code])]

    def old_province_of(entry: Entry) -> str:
        return entry.unit.parent if entry.unit.level is Level.OLD_DISTRICT else old_districts[entry.unit.parent].parent

    def province_of(entry: Entry) -> str:
        return old_provinces[old_province_of(entry)].parent

    return Units(
        version=data["version"],
        provinces=provinces,
        wards=wards,
        old_provinces=old_provinces,
        old_districts=old_districts,
        old_wards=old_wards,
        province_names=_index(province_pairs),
        ward_names=_index(ward_pairs),
        ward_names_by_province=_index_by(ward_pairs, lambda entry: entry.unit.parent),
        district_names=_index(district_pairs),
        district_names_by_province=_index_by(district_pairs, province_of),
        district_names_by_old_province=_index_by(district_pairs, old_province_of),
        old_ward_names=_index(old_ward_pairs),
        old_ward_names_by_district=_index_by(old_ward_pairs, lambda entry: entry.unit.parent),
        old_ward_names_by_province=_index_by(old_ward_pairs, province_of),
        old_ward_names_by_old_province=_index_by(old_ward_pairs, old_province_of),
        wards_by_old_province=_wards_by_old_province(old_districts, old_wards),
        wards_by_old_district=_wards_by_old_district(old_districts, old_wards),
        endings=_endings(key for pairs in (province_pairs, ward_pairs, district_pairs, old_ward_pairs)
                         for key, _ in pairs),
    )


def _endings(keys: Iterable[str]) -> frozenset[str]:
    """Every ending of every key: a phrase read leftwards that is not among them cannot grow into a name."""
    return frozenset(key[cut:] for key in set(keys) for cut in range(len(key)))


def _wards_by_old_district(old_districts: Mapping[str, Unit],
                           old_wards: Mapping[str, Unit]) -> dict[str, frozenset[str]]:
    targets: dict[str, set[str]] = {code: set(unit.targets) for code, unit in old_districts.items()}
    for ward in old_wards.values():
        targets[ward.parent].update(ward.targets)
    return {code: frozenset(codes) for code, codes in targets.items()}


def _wards_by_old_province(old_districts: Mapping[str, Unit],
                           old_wards: Mapping[str, Unit]) -> dict[str, frozenset[str]]:
    targets: dict[str, set[str]] = defaultdict(set)
    for code, codes in _wards_by_old_district(old_districts, old_wards).items():
        targets[old_districts[code].parent].update(codes)
    return {code: frozenset(codes) for code, codes in targets.items()}
