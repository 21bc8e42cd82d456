"""Reading one typed value from what a form or the API sent, per kind, with an error message naming the problem.

Forms take numbers as Vietnamese write them (``1.500.000``, ``1.500.000,5``, ``2,5``) and dates as dd/mm/yyyy;
the API takes JSON numbers (or plain decimal strings such as ``"1500000.5"``) and ISO dates (yyyy-mm-dd).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from xuyen.fields.models import NUMBER_PRECISION, NUMBER_SCALE

MAX_TEXT = 1000
MAX_CHOICES = 20
MAX_NUMBER = Decimal(10) ** (NUMBER_PRECISION - NUMBER_SCALE)
# Every stored number is exact in a double (SQLite's REAL, a JSON number): 15 significant digits at most.
MAX_DIGITS = 15
_DOTTED_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_COMMA_DECIMAL = re.compile(r"^-?\d+(,\d+)?$")
_PLAIN_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_DAY_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


class BadValue(ValueError):
    """A value that does not fit its field; the message says why, in plain words."""


@dataclass(frozen=True)
class Typed:
    """A value read for storage: the typed column it goes in, or the chosen option keys."""

    text: str | None = None
    number: Decimal | None = None
    day: date | None = None
    options: tuple[str, ...] = ()


def is_empty(raw: Any) -> bool:
    """Whether ``raw`` means "no value" (None, blank text, an empty list)."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple):
        return all(is_empty(item) for item in raw)
    return False


def read_text(raw: Any) -> str:
    """A text value, trimmed; at most MAX_TEXT characters."""
    if not isinstance(raw, str):
        raise BadValue("expects text")
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise BadValue(f"is too long ({len(text)} characters; at most {MAX_TEXT})")
    return text


def _checked_number(number: Decimal) -> Decimal:
    if not number.is_finite():
        raise BadValue("expects a number")
    if abs(number) >= MAX_NUMBER:
        raise BadValue(f"is too large (at most {MAX_NUMBER - 1:,} either way)")
    if number != number.quantize(Decimal(1).scaleb(-NUMBER_SCALE)):
        raise BadValue(f"has too many decimals (at most {NUMBER_SCALE})")
    if len(number.normalize().as_tuple().digits) > MAX_DIGITS:
        raise BadValue(f"has too many digits (at most {MAX_DIGITS} in all)")
    return number


def read_number(raw: Any, *, form: bool) -> Decimal:
    """A number: from a form as Vietnamese write it (dots group thousands, a comma marks decimals) or plain;
    from the API a JSON number or a plain decimal string."""
    if isinstance(raw, bool):
        raise BadValue("expects a number")
    if isinstance(raw, int):
        return _checked_number(Decimal(raw))
    if isinstance(raw, float):
        return _checked_number(Decimal(repr(raw)))
    if not isinstance(raw, str):
        raise BadValue("expects a number")
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if form and _DOTTED_THOUSANDS.match(text):
        text = text.replace(".", "").replace(",", ".")
    elif form and _COMMA_DECIMAL.match(text):
        text = text.replace(",", ".")
    if not _PLAIN_DECIMAL.match(text):
        example = "1.500.000 or 2,5" if form else "1500000 or 2.5"
        raise BadValue(f"expects a number such as {example}")
    try:
        return _checked_number(Decimal(text))
    except InvalidOperation:
        raise BadValue("expects a number") from None


def read_date(raw: Any, *, form: bool) -> date:
    """A date: dd/mm/yyyy (or yyyy-mm-dd) from a form, yyyy-mm-dd from the API."""
    if not isinstance(raw, str):
        raise BadValue("expects a date")
    text = raw.strip()
    matched = _DAY_MONTH_YEAR.match(text) if form else None
    try:
        if matched:
            day, month, year = (int(part) for part in matched.groups())
            return date(year, month, day)
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        example = "dd/mm/yyyy, e.g. 25/12/2026" if form else "yyyy-mm-dd, e.g. 2026-12-25"
        raise BadValue(f"expects a date as {example}") from None


def _option(raw: Any, allowed: Sequence[str]) -> str:
    if not isinstance(raw, str):
        raise BadValue("expects an option key")
    key = raw.strip()
    if key not in allowed:
        raise BadValue(f"has no option {key[:64]!r} (options: {', '.join(allowed) or 'none'})")
    return key


def read_choices(raw: Any, *, allowed: Sequence[str], many: bool) -> tuple[str, ...]:
    """The chosen option keys: one for a choice, a list (without repeats) for a multi-choice."""
    if not many:
        if isinstance(raw, list | tuple):
            raise BadValue("takes one option, not a list")
        return (_option(raw, allowed),)
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        raise BadValue("expects a list of option keys")
    keys = tuple(dict.fromkeys(_option(item, allowed) for item in items if not is_empty(item)))
    if len(keys) > MAX_CHOICES:
        raise BadValue(f"has too many options chosen ({len(keys)}; at most {MAX_CHOICES})")
    return keys


def number_json(number: Decimal) -> int | float:
    """A stored number as JSON: an int when whole, else a float."""
    return int(number) if number == number.to_integral_value() else float(number)


def vietnamese_number(number: Decimal) -> str:
    """A number as Vietnamese write it: 1.500.000 or 2,5."""
    whole = number == number.to_integral_value()
    text = f"{number:,.0f}" if whole else f"{number.normalize():,f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
