"""Address text as words: folded keys for lookup, spellings for telling "Huệ" from "Huế", separators."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from xuyen.identity.names import VIETNAMESE_FOLDING, fold_name

# A word is letters (with an apostrophe inside, as in "Ea H'Leo") or digits; "P7" and "Q.1" are two words each.
# What separates the parts of an address is caught too: not a dot ("P.7", "TP.HCM"), nor a slash ("12/3").
_WORD_PATTERN = r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*|\d+"
_SEPARATOR_PATTERN = r"[,;|\n\r\t\-–—]"
_WORD = re.compile(_WORD_PATTERN)
_WORD_OR_SEPARATOR = re.compile(rf"({_WORD_PATTERN})|{_SEPARATOR_PATTERN}")
_PART_START = re.compile(rf"{_SEPARATOR_PATTERN}\s*")
# Any Vietnamese letter with a diacritic (in NFC): the sign that a text was typed with accents.
_ACCENTED = re.compile("[" + "".join(sorted(map(chr, VIETNAMESE_FOLDING))) + "]")

# The five tone marks. Every Vietnamese syllable carries at most one; where it sits ("hoà" / "hòa") varies.
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")

Spelling = str  # a word as written, lower-case, its tone mark moved to the end: "Hoà", "hòa" → "hoa" + grave


@dataclass(slots=True)
class Words:
    """The words of a text as parallel lists: lookup keys, spellings, and whether a separator (or the start of
    the text) precedes each word."""

    text: str
    keys: list[str]
    spellings: list[Spelling]
    after_separator: list[bool]
    accented: bool  # typed with Vietnamese accents (anywhere), so spellings can tell names apart
    reach: int = 0  # the first word a reading has looked at (set by the parser)
    needs_start: bool = False  # whether a reading would have looked further left than the first word

    def __post_init__(self) -> None:
        self.reach = len(self.keys)

    def look_at(self, index: int) -> None:
        """Note that a reading depends on the word at ``index`` (and so on the text from there on)."""
        if index < self.reach:
            self.reach = index

    def __len__(self) -> int:
        return len(self.keys)

    def offsets(self, *indexes: int) -> list[int]:
        """Where the words at ``indexes`` start in the text (the text's length for an index past the last word)."""
        found = dict.fromkeys(indexes, len(self.text))
        last = max(indexes)
        for number, match in enumerate(_WORD.finditer(self.text)):
            if number in found:
                found[number] = match.start()
            if number >= last:
                break
        return [found[index] for index in indexes]


def part_starts(text: str) -> list[int]:
    """Where the parts of an address begin (after a separator and its spaces), right-most first; 0 last."""
    return [match.end() for match in reversed(list(_PART_START.finditer(text)))] + [0]


def typed_with_accents(text: str) -> bool:
    """Whether an NFC text has any Vietnamese letter with a diacritic (an en dash or a curly quote does not count)."""
    return _ACCENTED.search(text) is not None


def has_word_before(text: str, position: int) -> bool:
    """Whether any word stands before ``position``."""
    return _WORD.search(text, 0, position) is not None


@lru_cache(maxsize=65536)
def read_word(word: str) -> tuple[str, Spelling]:
    """The lookup key of one word and its spelling: "Đắk" → ("dak", "đăk" + acute); "07" → ("7", "7")."""
    if word.isdigit():
        key = word.lstrip("0") or "0"
        return key, key
    return fold_name(word).replace(" ", ""), spelling(word)


def spelling(word: str) -> Spelling:
    """The word lower-case with its tone mark (if any) moved to the end, so "hoà" and "hòa" spell the same."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone = "".join(mark for mark in decomposed if mark in _TONE_MARKS)
    return unicodedata.normalize("NFC", "".join(mark for mark in decomposed if mark not in _TONE_MARKS)) + tone


def _tone(word: Spelling) -> str:
    return word[-1] if word and word[-1] in _TONE_MARKS else ""


def tokenize(text: str) -> Words:
    """The words of an NFC text with their keys, tone readings and the separators before them."""
    keys: list[str] = []
    spellings: list[Spelling] = []
    after_separator: list[bool] = []
    separated = True
    for word in _WORD_OR_SEPARATOR.findall(text):
        if not word:  # a separator
            separated = True
            continue
        key, written = read_word(word)
        keys.append(key)
        spellings.append(written)
        after_separator.append(separated)
        separated = False
    return Words(text, keys, spellings, after_separator, typed_with_accents(text))


def name_key(name: str) -> str:
    """The lookup key of a unit's name: its words' keys run together ("Bà Rịa - Vũng Tàu" → "bariavungtau")."""
    return "".join(tokenize(name).keys)


def name_spellings(name: str) -> tuple[Spelling, ...]:
    """The spelling of each word of a unit's name."""
    return tuple(tokenize(name).spellings)


def tones_agree(typed: Sequence[Spelling], name: Sequence[Spelling]) -> bool:
    """False only when a word was typed with a tone mark that the name's word does not have ("Huệ" is not "Huế").

    Words typed without a tone mark agree with any name, and so does text that splits into a different number
    of words than the name (an abbreviation such as "TPHCM").
    """
    if len(typed) != len(name):
        return True
    for written, expected in zip(typed, name, strict=True):
        if written == expected:
            continue
        tone = _tone(written)
        if tone and tone != _tone(expected):
            return False
    return True
