"""Name folding for comparison: Vietnamese diacritics, đ, case, spacing, punctuation and name order."""

from __future__ import annotations

import unicodedata

import pytest

from xuyen.identity.names import VIETNAMESE_FOLDING, fold_name, name_key, name_tokens, split_vietnamese_name


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Nguyễn Văn An", "nguyen van an"),
        ("NGUYỄN VĂN AN", "nguyen van an"),
        ("Đặng Thị Đào", "dang thi dao"),
        ("đinh đức", "dinh duc"),
        ("Trần   Thị\tHồng\u00a0Nhung", "tran thi hong nhung"),
        ("Lê-Thị Thu, Hà.", "le thi thu ha"),
        ("Phạm Ngọc Ánh (chị)", "pham ngoc anh chi"),
        ("Hoà Hòa", "hoa hoa"),
        ("Ðỗ Quỳnh", "do quynh"),  # the Icelandic eth, typed for Đ
        ("Dương Ưng Ỷ", "duong ung y"),
        ("José Müller-Łukasz Søren O'Brien", "jose muller lukasz soren obrien"),
        ("", ""),
        ("  ", ""),
        ("陳", ""),
    ],
)
def test_fold_name(raw: str, folded: str) -> None:
    assert fold_name(raw) == folded


def test_decomposed_input_folds_like_composed_input() -> None:
    name = "Nguyễn Thị Ánh Tuyết"
    assert fold_name(unicodedata.normalize("NFD", name)) == fold_name(name) == "nguyen thi anh tuyet"


def test_the_table_agrees_with_unicode_decomposition_except_for_d_stroke() -> None:
    for code, base in VIETNAMESE_FOLDING.items():
        letter = chr(code)
        if letter in "đĐ":
            assert unicodedata.normalize("NFKD", letter) == letter  # why the table exists
            continue
        assert unicodedata.normalize("NFKD", letter)[0] == base


def test_the_table_covers_all_134_vietnamese_letters_with_marks() -> None:
    assert len(VIETNAMESE_FOLDING) == 134


@pytest.mark.parametrize("raw", ["Nguyễn Văn An", "NGUYEN VAN AN", "nguyen van  an", " Nguyễn  văn AN "])
def test_name_key_is_the_same_for_one_name_however_typed(raw: str) -> None:
    assert name_key(raw) == "nguyen van an"


def test_name_key_keeps_order_and_name_tokens_do_not() -> None:
    assert name_key("An Nguyen Van") != name_key("Nguyễn Văn An")
    assert name_tokens("An Nguyen Van") == name_tokens("Nguyễn Văn An") == frozenset({"nguyen", "van", "an"})


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("Nguyễn Thị Minh Khai", ("Nguyễn", "Thị Minh", "Khai")),
        ("Trần Hưng Đạo", ("Trần", "Hưng", "Đạo")),
        ("Lê Lợi", ("Lê", "", "Lợi")),
        ("  Phạm   Văn   Đồng ", ("Phạm", "Văn", "Đồng")),
        ("Lan", ("", "", "Lan")),
        ("", ("", "", "")),
    ],
)
def test_split_vietnamese_name(full: str, parts: tuple[str, str, str]) -> None:
    assert split_vietnamese_name(full) == parts
