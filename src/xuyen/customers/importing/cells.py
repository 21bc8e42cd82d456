"""Cell values as clerks and Excel leave them: phones turned into numbers, dates as serials or dd/mm/yyyy,
yes/no columns, genders. Pure functions: each returns the clean value or raises ``CellProblem``."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from xuyen.customers.importing.reading import Cell, cell_text
from xuyen.identity.normalise import fold_name

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 once Excel's phantom 29/02/1900 is accounted for
OLDEST_BIRTHDAY = date(1900, 1, 1)
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$")

YES = frozenset({"co", "c", "yes", "y", "x", "1", "true", "dong y", "ok", "v", "da dong y", "nhan", "✓", "✔"})
NO = frozenset({"khong", "k", "ko", "no", "n", "0", "false", "tu choi", "khong dong y", "khong nhan", "huy"})
GENDERS = {"nam": "male", "male": "male", "m": "male", "trai": "male", "anh": "male", "ong": "male",
           "nu": "female", "female": "female", "f": "female", "gai": "female", "chi": "female", "ba": "female",
           "khac": "other", "other": "other", "o": "other"}


class CellProblem(ValueError):
    """A cell that cannot be read as its field; ``code`` names the reason for the report."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def phone_text(cell: Cell) -> str:
    """A phone cell as text, undoing what Excel does to numbers: ``912345678.0`` → ``0912345678``.

    A number (or number-looking text such as ``9.12345678E+08``) loses its leading zero in Excel; a
    Vietnamese mobile number without it has 9 digits (10 for a pre-2018 number), so the zero is put back.
    """
    if isinstance(cell, bool):
        return ""
    if isinstance(cell, int | float):
        digits = _integer_digits(Decimal(str(cell)))
    else:
        text = cell_text(cell)
        excel_number = "e" in text.lower() or text.endswith(".0")  # 9.12345678E+08, 912345678.0
        if not (excel_number and _NUMBER.match(text.replace(" ", ""))):
            return text
        try:
            digits = _integer_digits(Decimal(text.replace(" ", "").replace(",", ".")))
        except InvalidOperation:
            return text
    if digits is None:
        return cell_text(cell)
    return "0" + digits if len(digits) in (9, 10) and not digits.startswith(("0", "84")) else digits


def _integer_digits(number: Decimal) -> str | None:
    if number != number.to_integral_value() or number < 0:
        return None
    return str(int(number))


def birthday(cell: Cell, *, today: date) -> date:
    """A date of birth from an Excel date, an Excel serial number, dd/mm/yyyy (also with - or .) or yyyy-mm-dd."""
    found = _date(cell)
    if not OLDEST_BIRTHDAY <= found <= today:
        raise CellProblem("date_out_of_range")
    return found


def _date(cell: Cell) -> date:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        if 1 <= cell < 2_958_466:  # Excel's serials run from 1900-01-01 to 9999-12-31
            return EXCEL_EPOCH + timedelta(days=int(cell))
        raise CellProblem("bad_date")
    text = cell_text(cell)
    if text.isdigit() and len(text) <= 5:
        return _date(int(text))
    return _date_from_text(text)


def _date_from_text(text: str) -> date:
    day_first = _DAY_FIRST.match(text)
    iso = _ISO.match(text)
    try:
        if day_first:
            day, month, year = (int(part) for part in day_first.groups())
            if len(day_first.group(3)) == 2:
                year += 1900 if year > date.today().year % 100 else 2000
            return date(year, month, day)
        if iso:
            year, month, day = (int(part) for part in iso.groups())
            return date(year, month, day)
    except ValueError:
        raise CellProblem("bad_date") from None
    raise CellProblem("bad_date")


def yes_no(cell: Cell) -> bool:
    """A consent cell: Có/Không, x, 1/0, yes/no, true/false, Đồng ý/Từ chối."""
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int | float):
        if cell in (0, 1):
            return bool(cell)
        raise CellProblem("bad_consent")
    word = fold_name(cell_text(cell)) or cell_text(cell)
    if word in YES:
        return True
    if word in NO:
        return False
    raise CellProblem("bad_consent")


def gender(cell: Cell) -> str:
    """male, female or other from Nam/Nữ/Khác, M/F, male/female/other (any case, with or without accents)."""
    word = fold_name(cell_text(cell))
    if word in GENDERS:
        return GENDERS[word]
    raise CellProblem("bad_gender")
