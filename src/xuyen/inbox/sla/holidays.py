"""Vietnamese public holidays and a business calendar built from them.

The days off come from the ``holidays`` package (MIT, vacanza/holidays), whose Vietnam calendar follows the
Labour Code 2019, Article 112, computes Tết and the Hùng Kings' day on the Vietnamese lunar calendar (UTC+7,
which differs from the Chinese one in some years, e.g. Tết 1985 on 21 January), adds the compensatory days of
Article 111 and the public-sector day swaps the government announces. ``ANNOUNCED_SWAPS`` adds the swaps
announced after that package's release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import holidays as holidays_lib

from xuyen.clock import to_local, utcnow
from xuyen.inbox.sla.calendar import WEEKDAYS, BusinessCalendar, CalendarError, DayHours

VIETNAM_TIMEZONE = "Asia/Ho_Chi_Minh"
# Office hours of a Vietnamese company: a lunch break, Saturday and Sunday off.
VIETNAM_OFFICE_HOURS: Mapping[str, Sequence[str]] = {
    day: ("08:00-12:00", "13:30-17:30") for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
}
# The years the lunar dates are known for; outside them the package only estimates.
FIRST_YEAR, LAST_YEAR = 1901, 2099


@dataclass(frozen=True)
class Swap:
    """A public-sector day swap: ``day_off`` is taken off, and ``worked_on`` (a weekend day) is worked instead."""

    day_off: date
    worked_on: date
    source: str


# Swaps announced by the government and not (yet) in the ``holidays`` package; each with its public source.
ANNOUNCED_SWAPS: tuple[Swap, ...] = (
    Swap(
        day_off=date(2026, 1, 2),
        worked_on=date(2026, 1, 10),
        source="Văn bản 12729/VPCP-KGVX, 25/12/2025 (Văn phòng Chính phủ): Tết Dương lịch 2026 nghỉ 1-4/1, "
        "làm bù thứ Bảy 10/1/2026",
    ),
)


@dataclass(frozen=True, order=True)
class Holiday:
    """One day off in Vietnam, named in Vietnamese and in English."""

    date: date
    name_vi: str
    name_en: str


def vietnam_holidays(year: int) -> list[Holiday]:
    """Every day off in Vietnam in ``year``: public holidays, compensatory days and announced swaps, by date."""
    return list(_vietnam_holidays(_checked_year(year)))


def vietnam_moved_working_days(year: int) -> list[date]:
    """The weekend days worked in ``year`` in place of a swapped day off (public sector, followed by many firms)."""
    year = _checked_year(year)
    # A swap may reach across New Year (a day off in January worked on a Saturday of the December before).
    neighbours = [_library(other, "vi") for other in (year, year + 1) if other <= LAST_YEAR]
    worked = {day for calendar in neighbours for day in calendar.weekend_workdays if day.year == year}
    worked |= {swap.worked_on for swap in ANNOUNCED_SWAPS if swap.worked_on.year == year}
    return sorted(worked)


def vietnam_calendar(
    hours: Mapping[str, Sequence[str]] | None = None,
    years: Iterable[int] | None = None,
    *,
    timezone: str = VIETNAM_TIMEZONE,
) -> BusinessCalendar:
    """A business calendar with Vietnam's days off and moved working days for ``years``.

    ``hours`` maps weekdays to spans as in ``BusinessCalendar.from_dict`` (default: Monday to Friday 08:00-12:00
    and 13:30-17:30). ``years`` defaults to last year, this year and next year. A moved working day keeps the
    hours of the first open weekday (Monday in the default hours), since it stands in for a full working day.
    """
    chosen = sorted(set(years)) if years is not None else _default_years(timezone)
    week_hours = dict(hours if hours is not None else VIETNAM_OFFICE_HOURS)
    days_off = [holiday.date.isoformat() for year in chosen for holiday in vietnam_holidays(year)]
    base = BusinessCalendar.from_dict({"timezone": timezone, "hours": week_hours})
    full_day = _full_working_day(base)
    data: dict[str, Any] = {
        "timezone": timezone,
        "hours": week_hours,
        "holidays": days_off,
        "extra_working_days": {
            day.isoformat(): [str(span) for span in full_day]
            for year in chosen
            for day in vietnam_moved_working_days(year)
        },
    }
    return BusinessCalendar.from_dict(data)


def _full_working_day(calendar: BusinessCalendar) -> DayHours:
    for index in range(5):
        if calendar.week[index]:
            return calendar.week[index]
    raise CalendarError(["no weekday from Monday to Friday has opening hours, so a moved working day "
                         f"has no hours to keep; give one of {', '.join(WEEKDAYS[:5])} its hours"])


def _default_years(timezone: str) -> list[int]:
    this_year = to_local(utcnow(), timezone).year
    return [this_year - 1, this_year, this_year + 1]


def _checked_year(year: int) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"year must be an integer, got {year!r}")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"Vietnamese holidays are known for {FIRST_YEAR} to {LAST_YEAR}, not {year}")
    return year


@lru_cache(maxsize=256)
def _library(year: int, language: str) -> holidays_lib.HolidayBase:
    return holidays_lib.country_holidays("VN", years=year, language=language)


@lru_cache(maxsize=128)
def _vietnam_holidays(year: int) -> tuple[Holiday, ...]:
    vietnamese, english = _library(year, "vi"), _library(year, "en_US")
    found = {day: Holiday(day, vietnamese[day], english[day]) for day in vietnamese if day.year == year}
    for swap in ANNOUNCED_SWAPS:
        if swap.day_off.year == year and swap.day_off not in found:
            found[swap.day_off] = Holiday(
                swap.day_off,
                f"Ngày nghỉ (thay cho ngày {swap.worked_on:%d/%m/%Y})",
                f"Day off (substituted from {swap.worked_on:%m/%d/%Y})",
            )
    return tuple(sorted(found.values()))
