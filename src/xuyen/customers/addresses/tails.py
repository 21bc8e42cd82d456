"""Parsing with the readings of address tails remembered: "…, P. Bến Nghé, Q.1, TP.HCM" is read once.

The parser reads an address from its right end and looks only at the words it needs: the units, the words
just before them, never the rest of the street. ``Words`` records the first word a reading looked at (and
whether it would have looked further left than the text's first word). A reading depends on nothing before
that word, so it holds for every text that ends with the same words: the tail from the start of that part
of the address (after a comma or a dash) is remembered with its reading, and a later address ending in the
same tail is answered from it, its own street put in. Tails are keyed on their exact text and on whether the
whole address was typed with accents (which changes how names are told apart).
"""

from __future__ import annotations

import itertools
import unicodedata

from xuyen.customers.addresses.parser import read, result
from xuyen.customers.addresses.result import AddressStatus, ParsedAddress, Place
from xuyen.customers.addresses.text import has_word_before, part_starts, tokenize, typed_with_accents
from xuyen.customers.addresses.units import Units, load_units

MAX_LENGTH = 1000  # characters; longer text is not an address
MAX_TAILS = 50_000  # remembered tails (about 30 MB at most); when full, the quarter least recently used goes
_MARGINS = " \t\r\n,;|-–—.:"


# A remembered reading is a tuple of strings, numbers and None only: the garbage collector stops tracking such
# tuples, so a large memory of tails costs no time in collections. In order: where the units begin (from the
# start of the tail; None if none were found), whether the reading also needs no words before the tail, then
# the result's status and codes, and the candidates as tuples.
_Tail = tuple[int | None, bool, str, str | None, str | None, str | None, str | None, str | None, str | None,
              str | None, tuple[tuple[str, str, str | None, str | None], ...]]
_TAILS: dict[tuple[str, bool], _Tail] = {}
_STATUSES = {status.value: status for status in AddressStatus}


def _remember(parsed: ParsedAddress, units_start: int | None, needs_start: bool) -> _Tail:
    return (units_start, needs_start, parsed.status.value, parsed.province_code, parsed.province_name,
            parsed.ward_code, parsed.ward_name, parsed.old_province_code, parsed.old_district_code,
            parsed.old_ward_code, tuple((place.province_code, place.province_name, place.ward_code,
                                         place.ward_name) for place in parsed.candidates))


def _recall(tail: _Tail, raw: str, street: str, version: str) -> ParsedAddress:
    _, _, status, province_code, province_name, ward_code, ward_name, old_province, old_district, old_ward, \
        candidates = tail
    return ParsedAddress(raw, street, _STATUSES[status], version, province_code, province_name, ward_code,
                         ward_name, old_province, old_district, old_ward,
                         tuple(Place(*candidate) for candidate in candidates))


def _street(text: str, units_start: int | None) -> str:
    return (text if units_start is None else text[:units_start]).strip(_MARGINS)


def _remembered(raw: str, text: str, accented: bool, starts: list[int], version: str) -> ParsedAddress | None:
    for start in starts:
        key = (text[start:], accented)
        tail = _TAILS.get(key)
        if tail is None or (tail[1] and has_word_before(text, start)):
            continue
        _TAILS[key] = _TAILS.pop(key, tail)  # now the most recently used (a dict keeps its insertion order)
        units_start = None if tail[0] is None else start + tail[0]
        return _recall(tail, raw, _street(text, units_start), version)
    return None


def _read_and_remember(raw: str, text: str, accented: bool, starts: list[int], units: Units) -> ParsedAddress:
    words = tokenize(text)
    if not len(words):  # nothing to read, and nothing worth remembering
        return result(raw, _street(text, None), None, units)
    reading = read(words, units)
    reach, units_start = words.offsets(words.reach, len(words) if reading is None else reading.start)
    parsed = result(raw, _street(text, None if reading is None else units_start), reading, units)
    start = next(start for start in starts if start <= reach)  # the tail holds every word the reading looked at
    if len(_TAILS) >= MAX_TAILS:
        for oldest in list(itertools.islice(_TAILS, MAX_TAILS // 4)):
            _TAILS.pop(oldest, None)
    _TAILS[(text[start:], accented)] = _remember(parsed, None if reading is None else units_start - start,
                                                 words.needs_start)
    return parsed


def parse(text: str) -> ParsedAddress:
    """The address read into today's units, from a remembered tail when one fits."""
    units = load_units()
    if len(text) > MAX_LENGTH:
        return ParsedAddress(text, "", AddressStatus.UNRECOGNISED, units.version)
    normalised = unicodedata.normalize("NFC", text)
    accented = typed_with_accents(normalised)
    starts = part_starts(normalised)
    found = _remembered(text, normalised, accented, starts, units.version)
    return found or _read_and_remember(text, normalised, accented, starts, units)


def parse_uncached(text: str) -> ParsedAddress:
    """The same as ``parse`` without any remembered reading: for tests and benchmarks."""
    units = load_units()
    if len(text) > MAX_LENGTH:
        return ParsedAddress(text, "", AddressStatus.UNRECOGNISED, units.version)
    normalised = unicodedata.normalize("NFC", text)
    words = tokenize(normalised)
    reading = read(words, units) if len(words) else None
    units_start = None if reading is None else words.offsets(reading.start)[0]
    return result(text, _street(normalised, units_start), reading, units)


def forget() -> None:
    """Drop every remembered reading (after the unit data changes, and between benchmark rounds)."""
    _TAILS.clear()
