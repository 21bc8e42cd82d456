"""The catalogue's codes, as properties: GTIN check digits catch mistyped digits, SKUs normalise once and for all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xuyen.commerce.catalogue.codes import (
    clean_options,
    gtin_check_digit,
    is_valid_gtin,
    normalise_barcode,
    normalise_sku,
    options_key,
    scan_forms,
    slugify,
    variant_label,
)
from xuyen.errors import ValidationFailed

bodies = st.sampled_from([7, 11, 12, 13]).flatmap(
    lambda length: st.text(alphabet="0123456789", min_size=length, max_size=length))


def _with_check(body: str) -> str:
    return body + str(gtin_check_digit(body))


@given(bodies)
def test_a_gtin_with_its_check_digit_is_valid_and_kept(body: str) -> None:
    code = _with_check(body)
    assert is_valid_gtin(code)
    stored = normalise_barcode(code)
    assert stored == ("0" + code if len(code) == 12 else code)
    assert normalise_barcode(stored) == stored  # normalising twice changes nothing
    assert stored in scan_forms(code)


@given(bodies, st.data())
def test_any_one_mistyped_digit_is_caught(body: str, data: st.DataObject) -> None:
    code = _with_check(body)
    position = data.draw(st.integers(min_value=0, max_value=len(code) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != code[position]]))
    typo = code[:position] + other + code[position + 1:]
    with pytest.raises(ValidationFailed) as refused:
        normalise_barcode(typo)
    assert refused.value.code == "invalid_barcode"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./", min_size=1,
               max_size=64).filter(lambda text: text[0].isalnum()))
def test_a_sku_normalises_to_upper_case_once(raw: str) -> None:
    sku = normalise_sku(f"  {raw} ")
    assert sku == raw.upper()
    assert normalise_sku(sku) == sku


def test_known_codes() -> None:
    assert is_valid_gtin("8934588012228")  # an EAN-13 as printed on Vietnamese goods
    assert is_valid_gtin("96385074")  # an EAN-8
    assert normalise_barcode(" 036000 291452 ") == "0036000291452"
    assert normalise_barcode("") is None and normalise_barcode(None) is None
    assert normalise_barcode("lm-0001") == "LM-0001"
    assert slugify("Áo sơ mi") == "ao-so-mi" and slugify("Giày & dép") == "giay-dep"


def test_options_keep_order_and_compare_without_case_or_diacritics() -> None:
    options = clean_options({" Màu ": " Đen ", "Cỡ": "M"})
    assert list(options.items()) == [("Màu", "Đen"), ("Cỡ", "M")]
    assert options_key(options) == options_key({"cỡ": "m", "MÀU": "đen"})
    assert variant_label({"Cỡ": "M", "Màu": "Đen"}, ["Màu", "Cỡ"]) == "Đen / M"
    for bad in ({"Màu": ""}, {"": "Đen"}, {"Màu": "Đen", "màu": "Đỏ"}, {f"o{n}": "x" for n in range(6)}):
        with pytest.raises(ValidationFailed):
            clean_options(bad)
