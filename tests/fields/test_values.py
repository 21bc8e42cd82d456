"""Reading values as forms and the API write them (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from xuyen.fields.values import BadValue, read_choices, read_date, read_number, read_text, vietnamese_number


@pytest.mark.parametrize(("raw", "expected"), [
    ("1.500.000", Decimal("1500000")), ("1.500.000,5", Decimal("1500000.5")), ("2,5", Decimal("2.5")),
    ("1500000", Decimal("1500000")), ("-12.000", Decimal("-12000")), (" 7 ", Decimal(7)), ("0,25", Decimal("0.25")),
])
def test_forms_take_numbers_as_vietnamese_write_them(raw: str, expected: Decimal) -> None:
    assert read_number(raw, form=True) == expected


def test_the_api_takes_json_numbers_and_plain_decimals() -> None:
    assert read_number(1500000, form=False) == Decimal(1500000)
    assert read_number(2.5, form=False) == Decimal("2.5")
    assert read_number("1500000.75", form=False) == Decimal("1500000.75")
    with pytest.raises(BadValue, match="number"):
        read_number("1.500.000", form=False)


@pytest.mark.parametrize("raw", ["abc", "1,2,3", "1e5", True, None, "1.5.0,0,0", "0.00001"])
def test_what_is_not_a_number_is_refused(raw: object) -> None:
    with pytest.raises(BadValue):
        read_number(raw, form=True)


def test_numbers_too_large_or_too_precise_are_refused() -> None:
    with pytest.raises(BadValue, match="too large"):
        read_number(10**15, form=False)
    with pytest.raises(BadValue, match="too many digits"):
        read_number("99999999999999.9999", form=False)
    assert read_number("50000000000000", form=False) == Decimal("50000000000000")
    assert read_number("12345678901.2345", form=False) == Decimal("12345678901.2345")


def test_dates_are_dd_mm_yyyy_in_forms_and_iso_in_the_api() -> None:
    assert read_date("25/12/2026", form=True) == date(2026, 12, 25)
    assert read_date("5/1/2026", form=True) == date(2026, 1, 5)
    assert read_date("2026-12-25", form=True) == date(2026, 12, 25)
    assert read_date("2026-12-25", form=False) == date(2026, 12, 25)
    for raw, form in (("25/12/2026", False), ("31/02/2026", True), ("12/25/2026", True), ("hôm qua", True)):
        with pytest.raises(BadValue, match="date"):
            read_date(raw, form=form)


def test_text_is_trimmed_and_limited() -> None:
    assert read_text("  Hà Nội ") == "Hà Nội"
    with pytest.raises(BadValue, match="too long"):
        read_text("x" * 1001)
    with pytest.raises(BadValue):
        read_text(12)


def test_choices_are_option_keys_without_repeats() -> None:
    assert read_choices(["a", "b", "a"], allowed=["a", "b"], many=True) == ("a", "b")
    assert read_choices("a", allowed=["a"], many=False) == ("a",)
    with pytest.raises(BadValue, match="no option 'c'"):
        read_choices(["c"], allowed=["a"], many=True)
    with pytest.raises(BadValue, match="one option"):
        read_choices(["a"], allowed=["a"], many=False)
    with pytest.raises(BadValue, match="too many"):
        read_choices([f"o{i}" for i in range(21)], allowed=[f"o{i}" for i in range(30)], many=True)


def test_numbers_are_shown_as_vietnamese_write_them() -> None:
    assert vietnamese_number(Decimal("1500000")) == "1.500.000"
    assert vietnamese_number(Decimal("2.5000")) == "2,5"
