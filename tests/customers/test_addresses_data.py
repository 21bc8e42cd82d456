"""The packaged unit lists and 2025 mapping: counts, codes, every target exists, every unit reads back."""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from xuyen.customers.addresses import AddressStatus, parse_address
from xuyen.customers.addresses.units import Units, load_units

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build_address_data.py"


@pytest.fixture(scope="module")
def units() -> Units:
    return load_units()


def test_counts_match_the_resolutions(units: Units) -> None:
    assert len(units.provinces) == 34
    assert len(units.wards) == 3321
    assert len(units.old_provinces) == 63
    assert len(units.old_districts) == 696
    assert len(units.old_wards) == 10035


def test_codes_have_the_statistics_office_shape(units: Units) -> None:
    assert all(len(code) == 2 and code.isdigit() for code in units.provinces)
    assert all(len(code) == 2 and code.isdigit() for code in units.old_provinces)
    assert all(len(code) == 3 and code.isdigit() for code in units.old_districts)
    assert all(len(code) == 5 and code.isdigit() for code in (*units.wards, *units.old_wards))


def test_every_mapping_target_exists(units: Units) -> None:
    for ward in units.old_wards.values():
        assert ward.targets, ward
        assert all(code in units.wards for code in ward.targets), ward
        assert ward.parent in units.old_districts
    for district in units.old_districts.values():
        assert district.parent in units.old_provinces
        assert all(code in units.wards for code in district.targets)
    for province in units.old_provinces.values():
        assert province.parent in units.provinces
    for ward in units.wards.values():
        assert ward.parent in units.provinces


def test_an_old_ward_stays_within_its_provinces_successor(units: Units) -> None:
    for ward in units.old_wards.values():
        old_province = units.old_provinces[units.old_districts[ward.parent].parent]
        assert {units.wards[code].parent for code in ward.targets} == {old_province.parent}, ward


def test_every_current_ward_comes_from_some_old_unit(units: Units) -> None:
    reached = {code for unit in (*units.old_wards.values(), *units.old_districts.values()) for code in unit.targets}
    assert reached == set(units.wards)


def test_splits_are_a_few_hundred_of_ten_thousand(units: Units) -> None:
    split = [ward for ward in units.old_wards.values() if len(ward.targets) > 1]
    assert 300 < len(split) < 600


def test_the_2025_mergers(units: Units) -> None:
    merged_into = {code: province.parent for code, province in units.old_provinces.items()}
    assert merged_into["74"] == "79"  # Bình Dương → Hồ Chí Minh City
    assert merged_into["77"] == "79"  # Bà Rịa - Vũng Tàu → Hồ Chí Minh City
    assert merged_into["49"] == "48"  # Quảng Nam → Đà Nẵng
    assert merged_into["02"] == "08"  # Hà Giang → Tuyên Quang
    assert units.provinces["46"].full_name == "Thành phố Huế"
    assert sum(1 for old in merged_into.values() if old == "79") == 3


def test_every_current_ward_written_out_reads_back_as_itself(units: Units) -> None:
    for ward in units.wards.values():
        province = units.provinces[ward.parent]
        parsed = parse_address(f"{ward.full_name}, {province.full_name}")
        assert (parsed.status, parsed.ward_code) == (AddressStatus.EXACT, ward.code), ward


def test_every_old_ward_written_out_reads_as_its_successors(units: Units) -> None:
    for ward in units.old_wards.values():
        district = units.old_districts[ward.parent]
        province = units.old_provinces[district.parent]
        parsed = parse_address(f"{ward.full_name}, {district.full_name}, {province.full_name}")
        assert parsed.old_ward_code == ward.code, ward
        if len(ward.targets) == 1:
            assert (parsed.status, parsed.ward_code) == (AddressStatus.EXACT, ward.targets[0]), ward
        else:
            assert parsed.status is AddressStatus.AMBIGUOUS, ward
            assert tuple(place.ward_code for place in parsed.candidates) == ward.targets, ward


def _source_wheel(path: Path) -> Path:
    """A wheel shaped like the published one, holding one old ward split in two and one kept whole."""
    database = path / "dataset.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE admin_units (provinceCode, province, provinceKey, wardCode, ward, wardKey)")
        db.executemany("INSERT INTO admin_units VALUES (?, ?, ?, ?, ?, ?)", [
            ("79", "Thành phố Hồ Chí Minh", "thanhphohochiminh", "26740", "Phường Sài Gòn", "phuongsaigon"),
            ("79", "Thành phố Hồ Chí Minh", "thanhphohochiminh", "26743", "Phường Bến Thành", "phuongbenthanh"),
        ])
        db.execute("CREATE TABLE admin_units_legacy (provinceCode, province, provinceKey, provinceAlias,"
                   " districtCode, district, districtKey, districtAlias, wardCode, ward, wardKey, wardAlias)")
        db.executemany("INSERT INTO admin_units_legacy VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            ("79", "Thành phố Hồ Chí Minh", "thanhphohochiminh", '["hcm"]', "760", "Quận 1", "quan1", None,
             "26740", "Phường Bến Nghé", "phuongbennghe", None),
            ("79", "Thành phố Hồ Chí Minh", "thanhphohochiminh", '["hcm"]', "760", "Quận 1", "quan1", None,
             "26743", "Phường Bến Thành", "phuongbenthanh", '["phuong07", "p7"]'),
        ])
    converter = {
        "DICT_PROVINCE": {"thanhphohochiminh": ["thanhphohochiminh"]},
        "DICT_PROVINCE_WARD_NO_DIVIDED": {"thanhphohochiminh": {
            "phuongsaigon": ["thanhphohochiminh_quan1_phuongbennghe"]}},
        "DICT_PROVINCE_WARD_DIVIDED": {"thanhphohochiminh": {"thanhphohochiminh_quan1_phuongbenthanh": [
            {"newWardKey": "phuongbenthanh", "isDefaultNewWard": True},
            {"newWardKey": "phuongsaigon", "isDefaultNewWard": False}]}},
    }
    wheel = path / "vietnamadminunits-1.0.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(database, "vietnamadminunits/data/dataset.db")
        archive.writestr("vietnamadminunits/data/converter_2025.json", json.dumps(converter))
    return wheel


def _build(wheel: Path, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), str(wheel), "--output", str(output)],
                          capture_output=True, text=True, check=False)


def test_the_build_script_keeps_splits_whole_and_is_deterministic(tmp_path: Path) -> None:
    wheel = _source_wheel(tmp_path)
    first, second = tmp_path / "first.json.gz", tmp_path / "second.json.gz"
    assert _build(wheel, first).returncode == 0
    assert _build(wheel, second).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    data = json.loads(gzip.decompress(first.read_bytes()))
    assert data["provinces"] == [["79", "Thành phố", "Hồ Chí Minh"]]
    assert data["old_districts"] == [["760", "79", "Quận", "1", [], []]]
    assert data["old_wards"] == [
        ["26740", "760", "Phường", "Bến Nghé", [], ["26740"]],
        ["26743", "760", "Phường", "Bến Thành", ["p7", "phuong7"], ["26740", "26743"]],  # no default chosen
    ]
    assert data["version"] == "2025-07-01/vietnamadminunits-1.0.4"


def test_the_build_script_says_how_to_get_its_input(tmp_path: Path) -> None:
    result = _build(tmp_path / "missing.whl", tmp_path / "out.json.gz")
    assert result.returncode != 0
    assert "pip download --no-deps" in result.stderr
