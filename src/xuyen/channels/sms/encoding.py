"""How carriers count an SMS: GSM-7 or UCS-2, single or concatenated segments; Vietnamese diacritics folded away
for routes that refuse Unicode.

GSM 03.38 (3GPP TS 23.038) default alphabet: one septet per character, the extension table's characters take an
escape septet as well. A single message holds 160 septets, each part of a concatenated one 153 (the user data
header takes the rest), and an escape pair is never split across two parts. UCS-2 holds 70 UTF-16 code units
single, 67 per part; characters outside the Basic Multilingual Plane (emoji) take two units and are not split.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# Letters of the GSM-7 alphabet that are also Vietnamese letters with a diacritic. GSM-7 could carry them, but a
# Vietnamese text that has them has others that it cannot, and Vietnamese brand-name routes in non-Unicode mode
# take unaccented text: with Unicode allowed they send the text as UCS-2, without it they are folded like the rest.
_VIETNAMESE_IN_GSM7 = frozenset("àèéìòùÉ")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Letters that Unicode decomposition leaves whole: the Vietnamese (and Croatian) d with stroke, and its look-alikes.
_UNDECOMPOSABLE = {"đ": "d", "Đ": "D", "Ð": "D", "ð": "d", "Ɖ": "D", "ɖ": "d"}
# Typographic punctuation that word processors and phones put in, and its plain form.
_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "«": '"', "»": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200b": "", "\ufeff": "",
    "\u2022": "-", "\u00b7": ".", "\t": " ",
}  # fmt: skip

Encoding = Literal["gsm7", "ucs2"]


@dataclass(frozen=True)
class SegmentInfo:
    """What a text costs as SMS: the text that would go out, its encoding, its length in the encoding's units
    (septets or UTF-16 code units), how many segments it takes, and how many units are left in the last one.

    ``unsupported`` lists characters that cannot be sent at all when Unicode is not allowed (emoji, CJK, …);
    ``folded`` says the diacritics were taken off to send it without Unicode.
    """

    text: str
    encoding: Encoding
    units: int
    segments: int
    per_segment: int
    remaining: int
    unsupported: tuple[str, ...] = ()
    folded: bool = False

    @property
    def sendable(self) -> bool:
        """Whether every character can be sent in this encoding."""
        return not self.unsupported


def fold_diacritics(text: str) -> str:
    """The text without diacritics (``Đường phố`` → ``Duong pho``), typographic punctuation made plain.

    Decomposition alone leaves ``đ``/``Đ`` as they are (they are letters of their own, not d plus a mark), so
    they are mapped first; composed and decomposed input fold the same.
    """
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in _UNDECOMPOSABLE:
            out.append(_UNDECOMPOSABLE[char])
        elif char in _PUNCTUATION:
            out.append(_PUNCTUATION[char])
        elif char.isascii():
            out.append(char)
        else:
            out.append("".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c)))
    return "".join(out)


def keyword_form(text: str) -> str:
    """A reply as keywords are compared: folded, upper-case, punctuation dropped, single spaces (``Từ chối!`` →
    ``TU CHOI``)."""
    words = "".join(c if c.isalnum() else " " for c in fold_diacritics(text).upper())
    return " ".join(words.split())


def is_gsm7(text: str) -> bool:
    """Whether every character of ``text`` is in the GSM-7 alphabet or its extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def segments(text: str, *, unicode_allowed: bool) -> SegmentInfo:
    """Count ``text`` the way carriers do: GSM-7 when it fits the alphabet, else UCS-2 when Unicode is allowed,
    else folded to unaccented text (characters that still do not fit are listed in ``unsupported``)."""
    text = unicodedata.normalize("NFC", text)
    if unicode_allowed:
        if is_gsm7(text) and not any(c in _VIETNAMESE_IN_GSM7 for c in text):
            return _count_gsm7(text, folded=False)
        return _count_ucs2(text)
    folded = fold_diacritics(text)
    unsupported = tuple(dict.fromkeys(c for c in folded if c not in GSM7_BASIC and c not in GSM7_EXTENSION))
    return _count_gsm7(folded, folded=folded != text, unsupported=unsupported)


def _septets(char: str) -> int:
    """Septets one character takes in GSM-7 (characters that cannot be sent are counted as one, as ``?``)."""
    return 2 if char in GSM7_EXTENSION else 1


def _utf16_units(char: str) -> int:
    """UTF-16 code units one character takes."""
    return 2 if ord(char) > 0xFFFF else 1


def _count_gsm7(text: str, *, folded: bool, unsupported: tuple[str, ...] = ()) -> SegmentInfo:
    """SegmentInfo of a GSM-7 text."""
    units = [_septets(c) for c in text]
    count, per, remaining = _split(units, GSM7_SINGLE, GSM7_PART)
    return SegmentInfo(text=text, encoding="gsm7", units=sum(units), segments=count, per_segment=per,
                       remaining=remaining, unsupported=unsupported, folded=folded)


def _count_ucs2(text: str) -> SegmentInfo:
    """SegmentInfo of a UCS-2 text."""
    units = [_utf16_units(c) for c in text]
    count, per, remaining = _split(units, UCS2_SINGLE, UCS2_PART)
    return SegmentInfo(text=text, encoding="ucs2", units=sum(units), segments=count, per_segment=per,
                       remaining=remaining)


def _split(units: list[int], single: int, part: int) -> tuple[int, int, int]:
    """Segments, units per segment and units left in the last one, never splitting one character's units."""
    total = sum(units)
    if total <= single:
        return (1 if total else 0), single, single - total
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count, part, part - used
