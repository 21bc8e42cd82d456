"""SMS length: the encoding a text needs (GSM-7 or UCS-2), how many parts it is sent in, and what taking
the Vietnamese accents off would save.

GSM-7 (3GPP TS 23.038) carries 160 characters in one message, 153 per part of a longer one (the rest of each
part holds the header that joins them); characters of its extension table (``^ { } [ ] ~ \\ | €`` and form
feed) take two places, and a part never ends between the two. Any character outside GSM-7 — every Vietnamese
letter with a diacritic but a few French ones — sends the whole text as UCS-2: 70 per message, 67 per part,
counted in UTF-16 units (an emoji takes two, never split across parts).
"""

from __future__ import annotations

from dataclasses import dataclass

from xuyen.identity.names import strip_diacritics

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
GSM7, UCS2 = "GSM-7", "UCS-2"


@dataclass(frozen=True)
class SmsCount:
    """How a text goes out by SMS: encoding, length in that encoding's units, parts, room left in the last part,
    and the characters that forced UCS-2 (none for GSM-7)."""

    encoding: str
    length: int
    parts: int
    per_part: int
    remaining: int
    unicode_characters: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The count as JSON for the API and the pages."""
        return {"encoding": self.encoding, "length": self.length, "parts": self.parts, "per_part": self.per_part,
                "remaining": self.remaining, "unicode_characters": list(self.unicode_characters)}


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM-7 alphabet or its extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _units(text: str, encoding: str) -> list[int]:
    """The size of each character in the encoding's units (septets; UTF-16 code units)."""
    if encoding == GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def _parts(units: list[int], single: int, per_part: int) -> tuple[int, int]:
    """(parts, room left in the last) packing whole characters: a two-unit one never straddles two parts."""
    total = sum(units)
    if total <= single:
        return 1, single - total
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts, per_part - used


def count_sms(text: str) -> SmsCount:
    """The encoding, length and number of parts ``text`` needs as an SMS."""
    unicode_chars: tuple[str, ...]
    if is_gsm7(text):
        encoding, single, per_part, unicode_chars = GSM7, GSM7_SINGLE, GSM7_PART, ()
    else:
        encoding, single, per_part = UCS2, UCS2_SINGLE, UCS2_PART
        unicode_chars = tuple(dict.fromkeys(c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION))
    units = _units(text, encoding)
    if not text:
        return SmsCount(encoding, 0, 0, single, single)
    parts, remaining = _parts(units, single, per_part)
    return SmsCount(encoding, sum(units), parts, single if parts == 1 else per_part, remaining, unicode_chars)


def strip_accents_for_sms(text: str) -> str:
    """``text`` without Vietnamese accents, the đồng sign written "VND" (₫ is not in GSM-7 either)."""
    return strip_diacritics(text.replace("₫", "VND"))


def sms_text(text: str, *, strip_accents: bool) -> str:
    """The text as it is sent: without Vietnamese accents when the template asks for it."""
    return strip_accents_for_sms(text) if strip_accents else text


@dataclass(frozen=True)
class SmsReport:
    """The count of the text as sent, and of the same text with and without accents (to show the saving)."""

    sent: SmsCount
    with_accents: SmsCount
    without_accents: SmsCount

    @property
    def parts_saved(self) -> int:
        """How many parts taking the accents off saves."""
        return self.with_accents.parts - self.without_accents.parts

    def as_dict(self) -> dict[str, object]:
        """The report as JSON."""
        return {"sent": self.sent.as_dict(), "with_accents": self.with_accents.as_dict(),
                "without_accents": self.without_accents.as_dict(), "parts_saved": self.parts_saved}


def sms_report(text: str, *, strip_accents: bool) -> SmsReport:
    """Counts for ``text`` as written (with accents) and stripped, and which one is sent."""
    with_accents, without_accents = count_sms(text), count_sms(strip_accents_for_sms(text))
    return SmsReport(sent=without_accents if strip_accents else with_accents, with_accents=with_accents,
                     without_accents=without_accents)
