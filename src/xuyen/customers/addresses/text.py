"""Address text as tokens: folded keys for lookup, tone marks for telling "Huệ" from "Huế", separators."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from xuyen.identity.names import fold_name

# A word is letters (with an apostrophe inside, as in "Ea H'Leo") or digits; "P7" and "Q.1" are two words each.
# What separates the parts of an address is caught too: not a dot ("P.7", "TP.HCM"), nor a slash ("12/3").
_WORD_PATTERN = r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*|\d+"
_WORD = re.compile(_WORD_PATTERN)
_WORD_OR_SEPARATOR = re.compile(rf"({_WORD_PATTERN})|[,;|\n\r\t\-–—]")

# The five tone marks. Every Vietnamese syllable carries at most one; where it sits ("hoà" / "hòa") varies.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")

Tone = str  # a word's tone mark, "" for none


@dataclass(slots=True)
class Words:
    """The words of a text as parallel lists: lookup keys, tone marks ("" for none), and whether a separator (or
    the start of the text) precedes each word."""

    text: str
    keys: list[str]
    tones: list[Tone]
    after_separator: list[bool]

    def __len__(self) -> int:
        return len(self.keys)

    def offset(self, index: int) -> int:
        """Where the ``index``-th word starts in the text."""
        for number, match in enumerate(_WORD.finditer(self.text)):
            if number == index:
                return match.start()
        return len(self.text)


@lru_cache(maxsize=65536)
def read_word(word: str) -> tuple[str, Tone]:
    """The lookup key of one word and its tone mark: "Đắk" → ("dak", "\u0301"); "07" → ("7", "")."""
    if word.isdigit():
        return word.lstrip("0") or "0", ""
    return fold_name(word).replace(" ", ""), word_tone(word)


def word_tone(word: str) -> Tone:
    """The tone mark of a syllable ("" for none), wherever it sits: "hoà" and "hòa" both give the grave accent."""
    if word.isascii():
        return ""
    return "".join(mark for mark in unicodedata.normalize("NFD", word) if mark in _TONE_MARKS)


def tokenize(text: str) -> Words:
    """The words of an NFC text with their keys, tone readings and the separators before them."""
    keys: list[str] = []
    tones: list[Tone] = []
    after_separator: list[bool] = []
    separated = True
    for word in _WORD_OR_SEPARATOR.findall(text):
        if not word:  # a separator
            separated = True
            continue
        key, tone = read_word(word)
        keys.append(key)
        tones.append(tone)
        after_separator.append(separated)
        separated = False
    return Words(text, keys, tones, after_separator)


def name_key(name: str) -> str:
    """The lookup key of a unit's name: its words' keys run together ("Bà Rịa - Vũng Tàu" → "bariavungtau")."""
    return "".join(tokenize(name).keys)


def name_tones(name: str) -> tuple[Tone, ...]:
    """The tone mark of each word of a unit's name."""
    return tuple(tokenize(name).tones)


def tones_agree(typed: Sequence[Tone], name: Sequence[Tone]) -> bool:
    """False only when a word was typed with a tone mark that the name's word does not have ("Huệ" is not "Huế").

    Words typed without a tone mark agree with any name, and so does text that splits into a different number
    of words than the name (an abbreviation such as "TPHCM").
    """
    if not any(typed) or len(typed) != len(name):
        return True
    return all(not mark or mark == expected for mark, expected in zip(typed, name, strict=True))
