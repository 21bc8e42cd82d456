"""Property tests: parsing never raises and its result is coherent; old and new addresses of a place agree."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from xuyen.customers.addresses import AddressStatus, ParsedAddress, parse_address, same_place
from xuyen.customers.addresses.tails import forget, parse_uncached
from xuyen.customers.addresses.units import Unit, load_units
from xuyen.identity.names import strip_diacritics

UNITS = load_units()
WHOLE_OLD_WARDS = sorted((ward for ward in UNITS.old_wards.values() if len(ward.targets) == 1), key=lambda w: w.code)
ADDRESS_WORDS = ["Phường", "P.", "Quận", "Q", "TP.HCM", "Hà Nội", "Xã", "Huyện", "Tỉnh", "7", "07", ",", " - ",
                 "Bến Nghé", "Thủ Đức", "Huế", "Việt Nam", "Sài Gòn", "Thị trấn", "TT", "Đặc khu", "’", "'"]
# Abbreviations clerks use, by kind; a kind not listed is written in full.
SHORT_KINDS = {"Phường": "P.", "Xã": "X.", "Quận": "Q.", "Huyện": "H.", "Thị xã": "TX.", "Thành phố": "TP.",
               "Thị trấn": "TT."}


def assert_coherent(parsed: ParsedAddress) -> None:
    """The fields a status promises are there, and the ones it rules out are not."""
    if parsed.status is AddressStatus.EXACT:
        assert parsed.ward_code in UNITS.wards
        assert UNITS.wards[parsed.ward_code].parent == parsed.province_code
        assert parsed.candidates == ()
        assert parsed.place_key == f"{parsed.province_code}-{parsed.ward_code}"
    elif parsed.status is AddressStatus.AMBIGUOUS:
        assert parsed.ward_code is None
        assert len(set(parsed.candidates)) == len(parsed.candidates) >= 2
    elif parsed.status is AddressStatus.PROVINCE_ONLY:
        assert parsed.province_code in UNITS.provinces
        assert (parsed.ward_code, parsed.candidates) == (None, ())
    else:
        assert (parsed.province_code, parsed.ward_code, parsed.candidates) == (None, None, ())
    assert parsed.street in unicodedata.normalize("NFC", parsed.raw)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_without_raising(text: str) -> None:
    assert_coherent(parse_address(text))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(ADDRESS_WORDS) | st.text(max_size=8), max_size=12))
def test_address_like_text_parses_coherently(parts: list[str]) -> None:
    text = " ".join(parts)
    parsed = parse_address(text)
    assert_coherent(parsed)
    assert parsed.raw == text


def _written(unit: Unit, short: bool) -> str:
    if short and unit.kind in SHORT_KINDS:
        return f"{SHORT_KINDS[unit.kind]}{unit.name}"
    return unit.full_name


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[str, str, str]:
    """An old-style address of a ward that went whole into one new ward, the new-style one, and the new code."""
    ward = draw(st.sampled_from(WHOLE_OLD_WARDS))
    district = UNITS.old_districts[ward.parent]
    old_province = UNITS.old_provinces[district.parent]
    new_ward = UNITS.wards[ward.targets[0]]
    province = UNITS.provinces[new_ward.parent]
    street = draw(st.sampled_from(["", "12 Lê Lợi, ", "Số 5 ngõ 3 ", "45/7 Trần Hưng Đạo, "]))
    short = draw(st.booleans())
    separator = draw(st.sampled_from([", ", " - ", ","]))
    old = street + separator.join(_written(unit, short) for unit in (ward, district, old_province))
    new = street + separator.join(_written(unit, short) for unit in (new_ward, province))
    return old, new, new_ward.code


@settings(max_examples=300, deadline=None)
@given(old_and_new())
def test_old_and_new_addresses_of_one_place_compare_equal(pair: tuple[str, str, str]) -> None:
    old, new, code = pair
    assert parse_address(old).ward_code == code
    assert parse_address(new).ward_code == code
    assert same_place(old, new)


@settings(max_examples=300, deadline=None)
@given(old_and_new())
def test_without_accents_an_address_reads_the_same_or_admits_doubt(pair: tuple[str, str, str]) -> None:
    old, new, code = pair
    for text in (old, new):
        plain = parse_address(strip_diacritics(text))
        assert_coherent(plain)
        if plain.status is AddressStatus.EXACT:
            assert plain.ward_code == code
        else:  # names that differ only in their accents ("Văn Lang" / "Văn Lăng") cannot be told apart
            assert plain.status is AddressStatus.AMBIGUOUS
            assert code in {place.ward_code for place in plain.candidates}


PREFIXES = ["", "12 Lê Lợi, ", "Số 5 ", "Bà Rịa - ", "Phường, ", "Thị, ", "Quận 1, ", "Hà Nội - ", "x, ", ", , "]
ENDINGS = ["", ",", ", ", " - ", ", Việt Nam", " VN 700000"]


@st.composite
def shared_tails(draw: st.DrawFn) -> tuple[str, str]:
    """Two addresses ending in the same text after a separator, with different beginnings."""
    old, new, _ = draw(old_and_new())
    tail = draw(st.sampled_from([old, new, strip_diacritics(old), "Phường 7, TP.HCM", "Cầu Giấy, Hà Nội"]))
    tail = tail.split(", ", 1)[-1] if draw(st.booleans()) else tail
    tail += draw(st.sampled_from(ENDINGS))
    first, second = draw(st.sampled_from(PREFIXES)), draw(st.sampled_from(PREFIXES))
    return first + tail, second + tail


@settings(max_examples=300, deadline=None)
@given(shared_tails(), st.lists(st.sampled_from(PREFIXES + ENDINGS) | st.text(max_size=12), max_size=3))
def test_a_remembered_tail_reads_as_the_text_read_in_full(pair: tuple[str, str], others: list[str]) -> None:
    first, second = pair
    forget()
    for other in [*others, first]:  # remembers their tails, whatever they are
        parse_address(other)
    assert parse_address(second) == parse_uncached(second)
    assert parse_address(first) == parse_uncached(first)
