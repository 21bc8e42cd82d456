"""Phone normalisation: the 2018 prefix change, clerk formats, multi-number fields, flags and rejections."""

from __future__ import annotations

import pytest

from xuyen.identity.normalise import OLD_MOBILE_PREFIXES, POSSIBLE_NOT_VALID, check_phone, normalise, normalise_phone
from xuyen.identity.phones import remap_old_prefix

# Written out again from the carriers' published tables, so that a typo in the code's table shows up here.
OLD_TO_NEW = [
    ("0162", "032"), ("0163", "033"), ("0164", "034"), ("0165", "035"),
    ("0166", "036"), ("0167", "037"), ("0168", "038"), ("0169", "039"),
    ("0120", "070"), ("0121", "079"), ("0122", "077"), ("0126", "076"), ("0128", "078"),
    ("0123", "083"), ("0124", "084"), ("0125", "085"), ("0127", "081"), ("0129", "082"),
    ("0186", "056"), ("0188", "058"),
    ("0199", "059"),
]  # fmt: skip


def values(raw: str, region: str = "VN") -> list[str]:
    return [identifier.value for identifier in normalise_phone(raw, region=region)]


def test_the_code_table_is_the_published_table() -> None:
    assert dict(OLD_TO_NEW) == OLD_MOBILE_PREFIXES


@pytest.mark.parametrize(("old", "new"), OLD_TO_NEW)
@pytest.mark.parametrize(
    "form",
    [
        "{old} 234 5678",
        "{old}2345678",
        "{old}.234.5678",
        "{old}-234-5678",
        "({old}) 234 5678",
        "+84 {intl} 234 5678",
        "+84{intl}2345678",
        "84{intl}2345678",
        "0084 {intl} 234 5678",
        "+84 (0) {intl} 234 5678",
        "{intl}2345678",
    ],
)
def test_every_old_prefix_in_every_form_becomes_the_new_one(old: str, new: str, form: str) -> None:
    raw = form.format(old=old, intl=old[1:])
    assert values(raw) == [f"+84{new[1:]}2345678"]


@pytest.mark.parametrize(("old", "new"), OLD_TO_NEW)
def test_old_and_new_forms_are_one_valid_number(old: str, new: str) -> None:
    (from_old,) = normalise_phone(f"{old}9876543")
    (from_new,) = normalise_phone(f"{new}9876543")
    assert from_old == from_new
    assert from_new.flags == frozenset()


@pytest.mark.parametrize(
    "raw", ["0168 123 4567", "+84 168 123 4567", "01681234567", "038 123 4567", "+84381234567", "84381234567"]
)
def test_the_examples_of_the_brief_are_one_number(raw: str) -> None:
    assert values(raw) == ["+84381234567"]


def test_the_remap_leaves_current_and_foreign_numbers_alone() -> None:
    assert remap_old_prefix("0381234567") == "0381234567"
    assert remap_old_prefix("+12125550123") == "+12125550123"
    assert remap_old_prefix("01681234567", region="US") == "01681234567"
    assert remap_old_prefix("+841681234567", region="US") == "+84381234567"


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678/0987654321",
        "0912345678 / 0987654321",
        "0912 345 678 - 0987 654 321",
        "0912345678 – 0987654321",
        "0912345678, 0987654321",
        "0912345678,0987654321",
        "0912345678 ; 0987654321",
        "0912345678;0987654321",
        "0912345678 | 0987654321",
        "0912345678\n0987654321",
        "0912345678 & 0987654321",
        "0912345678 hoặc 0987654321",
        "0912345678 hoac 0987654321",
        "0912345678 hay 0987654321",
        "0912345678 or 0987654321",
        "0912345678 và 0987654321",
        "0912345678 0987654321",
        "0912.345.678 0987.654.321",
        "+84 912 345 678 / +84 987 654 321",
    ],
)
def test_a_field_with_two_numbers_gives_both(raw: str) -> None:
    assert values(raw) == ["+84912345678", "+84987654321"]


def test_a_field_with_an_old_and_a_new_number_gives_both() -> None:
    assert values("0168 123 4567 / 024 3828 6158") == ["+84381234567", "+842438286158"]


def test_the_same_number_twice_in_a_field_is_kept_once() -> None:
    assert values("0912345678 / +84 912 345 678") == ["+84912345678"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("024 3828 6158", "+842438286158"),
        ("(024) 3828-6158", "+842438286158"),
        ("+84 24 3828 6158", "+842438286158"),
        ("028 3822 1234", "+842838221234"),
        ("0236 382 1234", "+842363821234"),
        ("1900 1234", "+8419001234"),
    ],
)
def test_landlines_and_service_numbers_are_valid(raw: str, expected: str) -> None:
    (identifier,) = normalise_phone(raw)
    assert identifier.value == expected
    assert identifier.flags == frozenset()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 650 253 0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+65 6123 4567", "+6561234567"),
        ("001 650 253 0000", "+16502530000"),
    ],
)
def test_foreign_numbers_keep_their_country(raw: str, expected: str) -> None:
    assert values(raw) == [expected]


def test_the_region_decides_numbers_without_a_country() -> None:
    assert values("(650) 253-0000", region="US") == ["+16502530000"]
    with pytest.raises(ValueError, match="unknown phone region"):
        normalise_phone("0912345678", region="XX")


@pytest.mark.parametrize(("raw", "expected"), [("0281234567", "+84281234567"), ("0521234567", "+84521234567")])
def test_possible_but_not_valid_numbers_are_kept_and_flagged(raw: str, expected: str) -> None:
    (identifier,) = normalise_phone(raw)
    assert identifier.value == expected
    assert identifier.flags == frozenset({POSSIBLE_NOT_VALID})


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("abc", "not_a_phone"),
        ("không có", "not_a_phone"),
        ("0123", "not_a_phone"),
        ("12", "not_a_phone"),
        ("+84 000 000 000", "not_a_phone"),
        ("0912345678901234567890", "not_a_phone"),
        ("9" * 600, "too_long"),
    ],
)
def test_garbage_gives_no_number_and_a_reason(raw: str, reason: str) -> None:
    result = check_phone(raw)
    assert result.identifiers == []
    assert [rejection.reason_code for rejection in result.rejected] == [reason]
    assert result.rejected[0].type == "phone"


def test_a_bad_piece_is_rejected_beside_the_good_one() -> None:
    result = check_phone("0912345678 / 0123")
    assert [identifier.value for identifier in result.identifiers] == ["+84912345678"]
    assert [(r.raw, r.reason_code, r.message) for r in result.rejected] == [
        ("0123", "not_a_phone", "not a phone number")
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "ĐT: 0912 345 678 (chị Lan)",
        "0912345678 / không có",
        "0912345678 ext 12",
        "０９１２３４５６７８",
        "  0912345678  ",
        "912345678",
    ],
)
def test_clerk_noise_around_one_number_is_ignored(raw: str) -> None:
    assert values(raw) == ["+84912345678"]


def test_the_entry_point_gives_the_same_numbers() -> None:
    result = normalise("phone", "0168 123 4567 / 0912345678")
    assert [identifier.value for identifier in result.identifiers] == ["+84381234567", "+84912345678"]
    assert result.ok
