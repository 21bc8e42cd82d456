"""What the duplicate matcher compares: one record per profile, folded and split for comparison.

Names are folded with the identity domain's Vietnamese folding (diacritics off, ``đ`` → ``d``), split family
name first, and also kept as a sorted set of words so that "Văn An Nguyễn" and "Nguyễn Văn An" agree.
Phones and e-mails arrive normalised (E.164, lower-case) from the customer rows; addresses are folded
like names; province and ward codes are compared as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from xuyen.identity.names import fold_name, name_tokens, split_vietnamese_name

# The columns of the table the matcher reads, in order, with their Arrow types.
SCHEMA = pa.schema([
    ("unique_id", pa.int64()),
    ("given_name", pa.string()),
    ("middle_name", pa.string()),
    ("family_name", pa.string()),
    ("name_key", pa.string()),
    ("birth_date", pa.string()),
    ("national_id", pa.string()),
    ("phones", pa.list_(pa.string())),
    ("emails", pa.list_(pa.string())),
    ("address", pa.string()),
    ("province_code", pa.string()),
    ("ward_code", pa.string()),
])


@dataclass(frozen=True)
class MatchRecord:
    """One profile as the matcher sees it; empty strings and empty lists mean "not known"."""

    profile_id: int
    given_name: str = ""
    middle_name: str = ""
    family_name: str = ""
    name_key: str = ""
    birth_date: str = ""
    national_id: str = ""
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    address: str = ""
    province_code: str = ""
    ward_code: str = ""


# The sixteen most common Vietnamese family names, folded: about nine people in ten carry one of them.
COMMON_FAMILY_NAMES = frozenset({"nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui",
                                 "do", "ho", "ngo", "duong", "ly"})


def folded_parts(*, display_name: str = "", family_name: str = "",
                 given_name: str = "") -> tuple[str, str, str]:
    """(family, middle, given), folded; taken from the display name (family name first) when not given.

    A name written given name first ("Hà Nguyễn", as forms and marketplaces often have it) is turned
    around when its last word is a common family name and its first word is not.
    """
    family, given = fold_name(family_name), fold_name(given_name)
    if family or given:
        middle = _middle_words(display_name, family, given)
    else:
        family, middle, given = split_vietnamese_name(fold_name(display_name))
    if given in COMMON_FAMILY_NAMES and family not in COMMON_FAMILY_NAMES and family:
        return given, middle, family
    return family, middle, given


def _middle_words(display_name: str, family: str, given: str) -> str:
    """The words of the display name that are neither the family nor the given name."""
    taken = set(family.split()) | set(given.split())
    return " ".join(word for word in fold_name(display_name).split() if word not in taken)


def birth_date_text(value: date | str | None) -> str:
    """A birth date as ``YYYY-MM-DD`` text (a date, or eight digits ``YYYYMMDD`` kept even if not a real date)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    digits = "".join(c for c in value if c.isdigit())
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if len(digits) == 8 else ""


def match_record(*, profile_id: int, display_name: str = "", family_name: str = "", given_name: str = "",
                 birth_date: date | str | None = None, national_id: str = "", phones: Iterable[str] = (),
                 emails: Iterable[str] = (), address: str = "", province_code: str = "",
                 ward_code: str = "") -> MatchRecord:
    """The record of one profile: names folded and split, the full name as a sorted word set, the rest cleaned."""
    family, middle, given = folded_parts(display_name=display_name, family_name=family_name, given_name=given_name)
    words = name_tokens(display_name) or frozenset(f"{family} {middle} {given}".split())
    return MatchRecord(
        profile_id=profile_id, given_name=given, middle_name=middle, family_name=family,
        name_key=" ".join(sorted(words)), birth_date=birth_date_text(birth_date),
        national_id="".join(c for c in national_id if c.isalnum()).upper(),
        phones=tuple(sorted({phone for phone in phones if phone})),
        emails=tuple(sorted({email.strip().lower() for email in emails if email and email.strip()})),
        address=fold_name(address), province_code=province_code.strip(), ward_code=ward_code.strip(),
    )


def _list_column(values: list[tuple[str, ...]]) -> pa.Array:
    """A list-of-strings column built from flat arrays (much faster than converting lists one by one)."""
    offsets = [0]
    flat: list[str] = []
    for items in values:
        flat.extend(items)
        offsets.append(len(flat))
    empty = pa.array([not items for items in values], type=pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), pa.array(flat, type=pa.string()),
                                    mask=empty)


def records_table(records: Sequence[MatchRecord]) -> pa.Table:
    """The records as an Arrow table in ``SCHEMA`` (empty values as NULL, as the comparisons expect)."""
    columns: dict[str, Any] = {"unique_id": pa.array([record.profile_id for record in records], type=pa.int64())}
    for name in SCHEMA.names[1:]:
        if name in ("phones", "emails"):
            columns[name] = _list_column([getattr(record, name) for record in records])
        else:
            columns[name] = pa.array([getattr(record, name) or None for record in records], type=pa.string())
    return pa.Table.from_pydict(columns, schema=SCHEMA)
