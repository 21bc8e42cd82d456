"""Addresses as clerks and customers type them, read into today's provinces and wards (GSO codes)."""

from __future__ import annotations

import unicodedata

import pytest

from xuyen.customers.addresses import AddressStatus, ParsedAddress, mapping_version, parse_address, same_place

EXACT = AddressStatus.EXACT
AMBIGUOUS = AddressStatus.AMBIGUOUS
PROVINCE_ONLY = AddressStatus.PROVINCE_ONLY
UNRECOGNISED = AddressStatus.UNRECOGNISED


@pytest.mark.parametrize(
    ("text", "province", "ward", "street"),
    [
        # Hồ Chí Minh City: old wards and districts, abbreviations, numbers, no accents, no separators.
        ("12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh", "79", "26740", "12 Lê Lợi"),
        ("12 Le Loi, P. Ben Nghe, Q.1, TP.HCM", "79", "26740", "12 Le Loi"),
        ("12 Lê Lợi, Phường Sài Gòn, Thành phố Hồ Chí Minh", "79", "26740", "12 Lê Lợi"),
        ("45 Trần Quốc Thảo, Phường 7, Quận 3, TP.HCM", "79", "27139", "45 Trần Quốc Thảo"),
        ("45 Tran Quoc Thao P7 Q3 HCM", "79", "27139", "45 Tran Quoc Thao"),
        ("Phuong 07, Quan 3, Sai Gon", "79", "27139", ""),
        ("Phường Xuân Hòa, TP.HCM", "79", "27139", ""),
        ("Phường 1, Quận 10, TPHCM", "79", "27190", ""),
        ("Phường Tân Định, Q1, HCM", "79", "26737", ""),
        ("Phuong Ben Thanh Quan 1 Thanh pho Ho Chi Minh Viet Nam 700000", "79", "26743", ""),
        ("Ben Nghe Ward, District 1, Ho Chi Minh City", "79", "26740", ""),
        ("Phường Thạnh Mỹ Lợi, Thành phố Thủ Đức, TP.HCM", "79", "27112", ""),
        ("Phường Thạnh Mỹ Lợi, Quận 2, TP.HCM", "79", "27112", ""),  # Quận 2, a district merged in 2021
        ("Phường Linh Trung, Thủ Đức, Hồ Chí Minh", "79", "26800", ""),
        # Hà Nội: former ward names (merged before 2025) and the new wards.
        ("Phường Hoàn Kiếm, Hà Nội", "01", "00070", ""),
        ("Phường Trúc Bạch, Quận Ba Đình, Hà Nội", "01", "00004", ""),
        ("Phường Nguyễn Trung Trực, Quận Ba Đình, Hà Nội", "01", "00004", ""),
        ("Thị trấn Yên Viên, Huyện Gia Lâm, Hà Nội", "01", "00541", ""),
        ("Xã Yên Viên, Huyện Gia Lâm, HN", "01", "00541", ""),
        # Đà Nẵng, and Quảng Nam merged into it.
        ("Phường Hải Châu, Đà Nẵng", "48", "20242", ""),
        ("Phường Minh An, Thành phố Hội An, Tỉnh Quảng Nam", "48", "20410", ""),
        ("Phường Hội An, Đà Nẵng", "48", "20410", ""),
        # Bình Dương into Hồ Chí Minh City, Hà Giang into Tuyên Quang, Bà Rịa - Vũng Tàu's island district.
        ("Phường Phú Lợi, Thành phố Thủ Dầu Một, Tỉnh Bình Dương", "79", "25750", ""),
        ("Phường Phú Lợi, TP Hồ Chí Minh", "79", "25750", ""),
        ("Phường Dĩ An, Thành phố Dĩ An, Bình Dương", "79", "25942", ""),
        ("Phường Nguyễn Trãi, Thành phố Hà Giang, Tỉnh Hà Giang", "08", "00694", ""),
        ("Phường Hà Giang 1, Tỉnh Tuyên Quang", "08", "00694", ""),
        ("Xã Đồng Văn, Huyện Đồng Văn, Tỉnh Hà Giang", "08", "00721", ""),
        ("Xã Đồng Văn, Tuyên Quang", "08", "00721", ""),
        ("Huyện Côn Đảo, Tỉnh Bà Rịa - Vũng Tàu", "79", "26732", ""),
        ("Đặc khu Côn Đảo, TP.HCM", "79", "26732", ""),
        # Thừa Thiên Huế, now the city of Huế, whose city district was split in two in early 2025.
        ("Phường Thuận Hòa, Thành phố Huế, Tỉnh Thừa Thiên Huế", "46", "19753", ""),
        ("Phường Vĩnh Ninh, TP Huế, Thừa Thiên Huế", "46", "19789", ""),
        # A ward whose name ends in an old district's name; names told apart by their accents.
        ("Phường Lâm Viên - Đà Lạt, Tỉnh Lâm Đồng", "68", "24778", ""),
        ("Xã Văn Lăng, Tỉnh Thái Nguyên", "19", "05665", ""),
        ("Xã Văn Lang, Tỉnh Thái Nguyên", "19", "02143", ""),
    ],
)
def test_addresses_resolve_to_one_current_ward(text: str, province: str, ward: str, street: str) -> None:
    parsed = parse_address(text)
    assert (parsed.status, parsed.province_code, parsed.ward_code) == (EXACT, province, ward)
    assert parsed.street == street
    assert parsed.candidates == ()
    assert parsed.raw == text


def test_an_old_address_keeps_the_old_codes_it_names() -> None:
    parsed = parse_address("45 Trần Quốc Thảo, Phường 7, Quận 3, TP.HCM")
    assert (parsed.old_province_code, parsed.old_district_code, parsed.old_ward_code) == ("79", "770", "27139")
    assert parsed.ward_name == "Phường Xuân Hòa"
    assert parsed.province_name == "Thành phố Hồ Chí Minh"
    merged = parse_address("Phường Minh An, Thành phố Hội An, Tỉnh Quảng Nam")
    assert (merged.old_province_code, merged.old_district_code, merged.old_ward_code) == ("49", "503", "20398")
    assert merged.province_name == "Thành phố Đà Nẵng"


def test_a_new_address_names_no_old_units() -> None:
    parsed = parse_address("12 Lê Lợi, Phường Sài Gòn, Thành phố Hồ Chí Minh")
    assert (parsed.old_province_code, parsed.old_district_code, parsed.old_ward_code) == (None, None, None)


def test_an_old_province_name_is_kept_as_the_old_code() -> None:
    parsed = parse_address("Phường Phú Lợi, Bình Dương")
    assert (parsed.status, parsed.province_code, parsed.old_province_code) == (EXACT, "79", "74")


def test_a_split_ward_is_ambiguous_with_every_ward_it_went_into() -> None:
    parsed = parse_address("Phường Bùi Hữu Nghĩa, Quận Bình Thủy, Thành phố Cần Thơ")
    assert parsed.status is AMBIGUOUS
    assert parsed.ward_code is None
    assert parsed.province_code == "92"
    assert parsed.old_ward_code == "31178"
    assert [(place.ward_code, place.ward_name) for place in parsed.candidates] == [
        ("31120", "Phường Cái Khế"),
        ("31168", "Phường Bình Thủy"),
    ]
    assert parsed.place_key is None


def test_a_name_found_in_several_provinces_is_ambiguous_without_a_province() -> None:
    parsed = parse_address("Xã Tân Phú")
    assert parsed.status is AMBIGUOUS
    assert parsed.province_code is None
    assert len({place.province_code for place in parsed.candidates}) > 1
    assert all(place.ward_name == "Xã Tân Phú" for place in parsed.candidates)


def test_a_number_without_its_district_is_ambiguous_across_the_city() -> None:
    parsed = parse_address("Phường 7, TP.HCM")
    assert parsed.status is AMBIGUOUS
    assert parsed.province_code == "79"
    assert "27139" in {place.ward_code for place in parsed.candidates}
    assert len(parsed.candidates) > 3


def test_unaccented_names_that_differ_only_in_accents_stay_ambiguous() -> None:
    parsed = parse_address("Xa Van Lang, Tinh Thai Nguyen")
    assert parsed.status is AMBIGUOUS
    assert {place.ward_name for place in parsed.candidates} == {"Xã Văn Lang", "Xã Văn Lăng"}


def test_a_bare_old_district_that_is_also_a_new_ward_is_ambiguous() -> None:
    parsed = parse_address("Cầu Giấy, Hà Nội")
    assert parsed.status is AMBIGUOUS
    assert parsed.old_district_code == "005"
    assert "00166" in {place.ward_code for place in parsed.candidates}  # today's Phường Cầu Giấy


@pytest.mark.parametrize(
    ("text", "province", "old_district"),
    [
        ("Hà Nội", "01", None),
        ("HN", "01", None),
        ("Thừa Thiên Huế", "46", None),
        ("Sài Gòn", "79", None),
        ("Quận 1", "79", "760"),
        ("Huyện Củ Chi, TP HCM", "79", "783"),
        ("72 Nguyen Hue, Q1", "79", "760"),
        ("12 Lê Lợi, Quận Không Có, Hà Nội", "01", None),
    ],
)
def test_province_only_when_no_ward_is_named(text: str, province: str, old_district: str | None) -> None:
    parsed = parse_address(text)
    assert (parsed.status, parsed.province_code, parsed.ward_code) == (PROVINCE_ONLY, province, None)
    assert parsed.old_district_code == old_district
    assert parsed.candidates == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "xyz",
        "12",
        "giao giờ hành chính",
        "72 Nguyễn Huệ",  # the street, not the city of Huế
        "12 Quang Trung",  # a street named like many wards, but written as a street
        "Vietnam",
        "P.",
        ",,,,",
    ],
)
def test_text_without_a_place_is_unrecognised(text: str) -> None:
    parsed = parse_address(text)
    assert parsed.status is UNRECOGNISED
    assert (parsed.province_code, parsed.ward_code, parsed.candidates) == (None, None, ())
    assert parsed.street == text.strip(" ,.")
    assert parsed.mapping_version == mapping_version()


def test_text_without_words_leaves_nothing_behind_for_later_addresses() -> None:
    assert parse_address(",,,,").status is UNRECOGNISED
    assert parse_address("Ha Noi,").status is PROVINCE_ONLY
    assert parse_address("Viet Nam 700000").status is UNRECOGNISED
    assert parse_address("Phuong Sai Gon, TP HCM, Viet Nam 700000").ward_code == "26740"


def test_a_street_named_like_a_ward_is_not_taken_for_the_ward() -> None:
    parsed = parse_address("12 Quang Trung, Quận Hà Đông, Hà Nội")
    assert parsed.status is PROVINCE_ONLY
    assert (parsed.old_district_code, parsed.old_ward_code) == ("268", None)
    assert parsed.street == "12 Quang Trung"
    assert parse_address("Quang Trung, Quận Hà Đông, Hà Nội").old_ward_code is not None  # written as a ward


def test_same_place_across_the_2025_reform() -> None:
    assert same_place("12 Lê Lợi, P. Bến Nghé, Q.1, TP.HCM", "12 Lê Lợi, Phường Sài Gòn, TP Hồ Chí Minh")
    assert same_place("Phường Phú Lợi, Thủ Dầu Một, Bình Dương", "Phuong Phu Loi, TP HCM")
    assert same_place(parse_address("Phường Minh An, Hội An, Quảng Nam"), "Phường Hội An, Đà Nẵng")
    assert not same_place("Phường Bến Nghé, Quận 1, TP.HCM", "Phường Tân Định, Quận 1, TP.HCM")
    assert not same_place("Hà Nội", "Hà Nội")  # the same province is not the same place
    assert not same_place("Phường 7, TP.HCM", "Phường 7, TP.HCM")  # nor are two ambiguous readings


def test_place_key_is_province_and_ward() -> None:
    assert parse_address("Phường Sài Gòn, TP.HCM").place_key == "79-26740"
    assert parse_address("Hà Nội").place_key is None


def test_the_mapping_version_is_on_every_result() -> None:
    assert mapping_version().startswith("2025-07-01/")
    assert parse_address("Phường Sài Gòn, TP.HCM").mapping_version == mapping_version()


def test_results_are_immutable_and_repeatable() -> None:
    first = parse_address("Phường Sài Gòn, TP.HCM")
    assert parse_address("Phường Sài Gòn, TP.HCM") == first
    with pytest.raises(AttributeError):
        first.ward_code = "00001"  # type: ignore[misc]


def test_decomposed_unicode_reads_like_composed() -> None:
    text = "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"
    decomposed = unicodedata.normalize("NFD", text)
    assert parse_address(decomposed).ward_code == parse_address(text).ward_code == "26740"
    assert parse_address(decomposed).raw == decomposed


def test_very_long_text_is_not_an_address() -> None:
    parsed = parse_address("Phường Sài Gòn, " * 200 + "TP.HCM")
    assert parsed.status is UNRECOGNISED


@pytest.mark.parametrize("value", [None, 12, b"Ha Noi", ["Hà Nội"]])
def test_only_text_is_accepted(value: object) -> None:
    with pytest.raises(TypeError, match="parse_address takes the address as str"):
        parse_address(value)  # type: ignore[arg-type]


def test_parsed_address_fields_fit_the_profile_columns() -> None:
    parsed: ParsedAddress = parse_address("Phường Bến Nghé, Quận 1, TP.HCM")
    assert parsed.province_code is not None and len(parsed.province_code) <= 16
    assert parsed.ward_code is not None and len(parsed.ward_code) <= 16
