"""SMS text: carrier segment counting, diacritics folding, phone numbers as gateways write them."""

from __future__ import annotations

import unicodedata

import pytest

from tests.channels.sms_support import CUSTOMER
from xuyen.channels.sms import SegmentInfo, fold_diacritics, segments
from xuyen.channels.sms.phones import PhoneInvalid, for_gateway, to_e164

# Segments ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "expected"), [(0, 0), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3),
                                                  (765, 5), (766, 6)])
def test_gsm7_segments_at_the_boundaries(length: int, expected: int) -> None:
    info = segments("a" * length, unicode_allowed=True)
    assert (info.encoding, info.units, info.segments) == ("gsm7", length, expected)


def test_gsm7_remaining_counts_down_in_the_last_segment() -> None:
    assert segments("a" * 150, unicode_allowed=True).remaining == 10
    info = segments("a" * 161, unicode_allowed=True)
    assert (info.per_segment, info.remaining) == (153, 153 - 8)


def test_extension_characters_count_twice() -> None:
    assert segments("€" * 80, unicode_allowed=True).units == 160
    assert segments("€" * 80, unicode_allowed=True).segments == 1
    assert segments("€" * 80 + "a", unicode_allowed=True).segments == 2
    for char in "^{}\\[~]|€":
        assert segments(char, unicode_allowed=True).units == 2, char


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 306 septets would fit two parts of 153, but each part can end with one septet unused rather than split "€".
    info = segments("a" * 152 + "€" * 77, unicode_allowed=True)
    assert (info.units, info.segments) == (306, 3)


@pytest.mark.parametrize(("length", "expected"), [(70, 1), (71, 2), (134, 2), (135, 3), (335, 5), (336, 6)])
def test_ucs2_segments_at_the_boundaries(length: int, expected: int) -> None:
    info = segments("ơ" * length, unicode_allowed=True)
    assert (info.encoding, info.units, info.segments) == ("ucs2", length, expected)


def test_emoji_take_two_units_and_are_not_split() -> None:
    assert segments("😀" * 35, unicode_allowed=True).segments == 1
    info = segments("😀" * 36, unicode_allowed=True)
    assert (info.units, info.segments, info.remaining) == (72, 2, 67 - 6)


def test_vietnamese_with_diacritics_forces_ucs2() -> None:
    assert segments("Cảm ơn quý khách", unicode_allowed=True).encoding == "ucs2"
    assert segments("Đơn hàng", unicode_allowed=True).encoding == "ucs2"
    # à and é are GSM-7 letters, but a Vietnamese text is sent as UCS-2 to keep its diacritics whole.
    assert segments("Chào bà", unicode_allowed=True).encoding == "ucs2"
    assert segments("Cam on quy khach", unicode_allowed=True).encoding == "gsm7"


def test_decomposed_input_counts_like_composed() -> None:
    composed = "Nguyễn Thị Ánh " * 4
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > len(composed)
    assert segments(decomposed, unicode_allowed=True) == segments(composed, unicode_allowed=True)
    assert segments(decomposed, unicode_allowed=False) == segments(composed, unicode_allowed=False)


def test_without_unicode_the_text_is_folded_and_counted_as_gsm7() -> None:
    info = segments("Cảm ơn quý khách đã đặt hàng", unicode_allowed=False)
    assert info == SegmentInfo(text="Cam on quy khach da dat hang", encoding="gsm7", units=28, segments=1,
                               per_segment=160, remaining=132, folded=True)
    assert info.sendable


def test_without_unicode_characters_that_cannot_be_folded_are_listed() -> None:
    info = segments("Cảm ơn 😀 謝謝", unicode_allowed=False)
    assert info.unsupported == ("😀", "謝")
    assert not info.sendable


# Folding ----------------------------------------------------------------------------------------------


def test_folding_takes_off_every_vietnamese_diacritic() -> None:
    assert fold_diacritics("Nguyễn Thị Ánh Tuyết, Đường Lê Lợi, Quận 1") == "Nguyen Thi Anh Tuyet, Duong Le Loi, Quan 1"
    assert fold_diacritics("ăâêôơư ĂÂÊÔƠƯ ạảãáàặẩẫ ừứửữự ỳýỷỹỵ") == "aaeoou AAEOOU aaaaaaaa uuuuu yyyyy"


def test_folding_maps_d_with_stroke_which_decomposition_misses() -> None:
    decomposition_only = "".join(c for c in unicodedata.normalize("NFD", "đĐ") if not unicodedata.combining(c))
    assert decomposition_only == "đĐ"  # why the adapter maps these two itself
    assert fold_diacritics("đi Đà Nẵng, ĐT 0912") == "di Da Nang, DT 0912"


def test_folding_treats_composed_and_decomposed_input_alike() -> None:
    text = "Đặng Thị Hồng Nhung — “Đã giao”…"
    assert fold_diacritics(unicodedata.normalize("NFD", text)) == fold_diacritics(text)
    assert fold_diacritics(text) == 'Dang Thi Hong Nhung - "Da giao"...'


# Phones -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0912345678", "0912 345 678", "84912345678", "+84 912 345 678", "0084912345678",
                                 "091.234.5678"])
def test_phone_numbers_written_any_way_become_e164(raw: str) -> None:
    assert to_e164(raw) == CUSTOMER


def test_old_eleven_digit_prefixes_are_remapped() -> None:
    assert to_e164("01689123456") == "+84389123456"
    assert to_e164("841689123456") == "+84389123456"
    assert to_e164("+84 128 912 3456") == "+84789123456"


def test_numbers_are_written_as_the_gateway_wants() -> None:
    assert for_gateway(CUSTOMER, "e164") == CUSTOMER
    assert for_gateway(CUSTOMER, "84") == "84912345678"
    assert for_gateway(CUSTOMER, "0") == "0912345678"
    with pytest.raises(PhoneInvalid):
        for_gateway("+6591234567", "0")


@pytest.mark.parametrize("raw", ["", "abc", "12", "0912", "+84 000 000 000", "0912345678901234567890"])
def test_what_is_not_a_phone_number_is_refused(raw: str) -> None:
    with pytest.raises(PhoneInvalid):
        to_e164(raw)
