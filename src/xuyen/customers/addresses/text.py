"""Address text as tokens: folded keys for lookup, tone marks for telling "Huệ" from "Huế", separators."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from xuyen.identity.names import fold_name

# A word is letters (with an apostrophe inside, as in "Ea H'Leo") or digits; "P7" and "Q.1" are two words each.
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*|\d+")
# What separates the parts of an address. A dot does not ("P.7", "TP.HCM"), nor a slash ("12/3 Lê Lợi").
_SEPARATOR = re.compile(r"[,;|\n\r\t\-–—]")

# The five tone marks. Every Vietnamese syllable carries at most one; where it sits ("hoà" / "hòa") varies.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")

Tone = tuple[str, str]  # (the syllable without its tone mark, the tone mark or "")


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the text: its lookup key, its tone reading (None for plain ASCII), where it is."""

    key: str
    tone: Tone | None
    start: int
    end: int
    after_separator: bool


@lru_cache(maxsize=65536)
def word_key(word: str) -> str:
    """The lookup key of one word: folded letters ("Đắk" → "dak"), or a number without leading zeros."""
    if word.isdigit():
        return word.lstrip("0") or "0"
    return fold_name(word).replace(" ", "")


@lru_cache(maxsize=65536)
def word_tone(word: str) -> Tone | None:
    """The syllable's letters without the tone mark and the mark itself; None for a word typed without accents."""
    if word.isascii():
        return None
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone = "".join(mark for mark in decomposed if mark in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(mark for mark in decomposed if mark not in _TONE_MARKS))
    return base, tone


def tokenize(text: str) -> list[Token]:
    """The words of an NFC text with their keys, tone readings, offsets and whether a separator precedes them."""
    tokens: list[Token] = []
    previous_end = 0
    for match in _WORD.finditer(text):
        word = match.group()
        start = match.start()
        after_separator = not tokens or _SEPARATOR.search(text, previous_end, start) is not None
        tokens.append(Token(word_key(word), word_tone(word), start, match.end(), after_separator))
        previous_end = match.end()
    return tokens


def name_key(name: str) -> str:
    """The lookup key of a unit's name: its words' keys run together ("Bà Rịa - Vũng Tàu" → "bariavungtau")."""
    return "".join(token.key for token in tokenize(name))


def name_tones(name: str) -> tuple[Tone | None, ...]:
    """The tone reading of each word of a unit's name."""
    return tuple(token.tone for token in tokenize(name))


def tones_agree(typed: tuple[Tone | None, ...], name: tuple[Tone | None, ...]) -> bool:
    """False only when a word was typed with a tone mark that the name's word does not have ("Huệ" is not "Huế").

    Words typed without accents, or without a tone mark, agree with any name, and so does text that splits
    into a different number of words than the name (an abbreviation such as "TPHCM").
    """
    if len(typed) != len(name):
        return True
    for typed_tone, name_tone in zip(typed, name, strict=True):
        if typed_tone is None or not typed_tone[1]:
            continue
        if typed_tone[1] != (name_tone[1] if name_tone else ""):
            return False
    return True
