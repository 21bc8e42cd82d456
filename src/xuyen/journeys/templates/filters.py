"""The Vietnamese filters message templates use: money in VND, dates in the customer's time zone, first names."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfoNotFoundError

from babel.numbers import format_currency, format_decimal

from xuyen.clock import to_local
from xuyen.identity.names import split_vietnamese_name, strip_diacritics

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DATE_FORMAT = "%d/%m/%Y"
DATETIME_FORMAT = "%d/%m/%Y %H:%M"


class FilterInputError(ValueError):
    """A filter was given a value it cannot format (text where a number or a date belongs)."""


def _amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise FilterInputError(f"money needs a number, not {value!r}")
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise FilterInputError(f"money needs a number, not {str(value)[:40]!r}") from None


def money(value: object, currency: str = "VND") -> str:
    """An amount as Vietnamese write it, with a plain space (1.250.000 ₫); VND without decimals."""
    amount = _amount(value)
    if currency == "VND":
        amount = amount.quantize(Decimal(1))
    # babel puts a no-break space before the sign, which would force an SMS into UCS-2
    return format_currency(amount, currency, locale="vi").replace("\xa0", " ")


def number(value: object) -> str:
    """A number with Vietnamese thousands separators (1.250.000)."""
    return format_decimal(_amount(value), locale="vi").replace("\xa0", " ")


def _moment(value: object) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    text = str(value).strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterInputError(f"date needs a date or an ISO 8601 time, not {text[:40]!r}") from None


def _local(moment: datetime, timezone: str) -> datetime:
    try:
        return to_local(moment, timezone or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return to_local(moment, DEFAULT_TIMEZONE)


def format_date(value: object, timezone: str = DEFAULT_TIMEZONE) -> str:
    """dd/mm/yyyy; a time is first moved into ``timezone`` (the customer's), so 23:30 UTC is the next day."""
    moment = _moment(value)
    if isinstance(moment, datetime):
        moment = _local(moment, timezone)
    return moment.strftime(DATE_FORMAT)


def format_datetime(value: object, timezone: str = DEFAULT_TIMEZONE) -> str:
    """dd/mm/yyyy HH:MM in ``timezone`` (a bare date is shown as a date)."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return moment.strftime(DATE_FORMAT)
    return _local(moment, timezone).strftime(DATETIME_FORMAT)


def first_name(full_name: object) -> str:
    """The name Vietnamese call a person by: the given name, the last word ("Nguyễn Thị Lan" → "Lan")."""
    return split_vietnamese_name(" ".join(str(full_name or "").split()))[2]


def without_diacritics(text: object) -> str:
    """Text with Vietnamese accents taken off ("Cảm ơn" → "Cam on"; "đ" → "d")."""
    return strip_diacritics(str(text))
