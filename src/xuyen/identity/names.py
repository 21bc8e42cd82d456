"""Person names for comparison (not display): Vietnamese folding, name order, keys and tokens."""

from __future__ import annotations

import re
import unicodedata

# Every Vietnamese letter with a diacritic, by the ASCII letter it folds to. Written out rather than left to
# Unicode decomposition because decomposition leaves "đ" alone; the table is ours (``unidecode`` is GPL).
_VIETNAMESE_LETTERS: dict[str, str] = {
    "a": "àáảãạăằắẳẵặâầấẩẫậ",
    "d": "đ",
    "e": "èéẻẽẹêềếểễệ",
    "i": "ìíỉĩị",
    "o": "òóỏõọôồốổỗộơờớởỡợ",
    "u": "ùúủũụưừứửữự",
    "y": "ỳýỷỹỵ",
}

# Latin letters that NFKD does not decompose into a base letter and marks.
_OTHER_LATIN: dict[str, str] = {
    "ð": "d", "Ð": "D",  # eth, often typed for "Đ", which looks the same
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "ı": "i",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS", "þ": "th", "Þ": "TH",
}  # fmt: skip


def _vietnamese_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for base, letters in _VIETNAMESE_LETTERS.items():
        for letter in letters:
            table[ord(letter)] = base
            table[ord(letter.upper())] = base.upper()
    return table


VIETNAMESE_FOLDING = _vietnamese_table()
_OTHER_LATIN_TABLE = str.maketrans(_OTHER_LATIN)
_APOSTROPHES = re.compile(r"['’‘`ʼ]")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def strip_diacritics(text: str) -> str:
    """Vietnamese letters through our table, other Latin accents through NFKD; case is kept."""
    text = unicodedata.normalize("NFC", text).translate(VIETNAMESE_FOLDING)
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    return without_marks.translate(_OTHER_LATIN_TABLE)


def fold_name(raw: str) -> str:
    """A name for comparison: ASCII, lower-case, no diacritics (``đ`` → ``d``), no punctuation, single spaces."""
    ascii_lower = strip_diacritics(raw).encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_ALNUM.sub(" ", _APOSTROPHES.sub("", ascii_lower)).strip()


def split_vietnamese_name(full: str) -> tuple[str, str, str]:
    """(family, middle, given) of a name written family name first: "Nguyễn Thị Minh Khai" → Nguyễn, Thị Minh, Khai."""
    words = full.split()
    if not words:
        return "", "", ""
    if len(words) == 1:
        return "", "", words[0]
    return words[0], " ".join(words[1:-1]), words[-1]


def name_key(raw: str) -> str:
    """The order-sensitive comparison key of a name: "Nguyễn Văn An", "NGUYEN VAN AN" → "nguyen van an"."""
    return fold_name(raw)


def name_tokens(raw: str) -> frozenset[str]:
    """The folded words of a name, for order-insensitive comparison ("An Nguyen Van" vs "Nguyễn Văn An")."""
    return frozenset(fold_name(raw).split())
