"""Business calendars and business-time arithmetic: opening hours per weekday, holidays, in one time zone.

Opening hours are wall-clock spans in the calendar's time zone (a lunch break is simply the gap between two
spans); the functions take and give timezone-aware datetimes and answer in UTC. They step by opening span and
by day, and skip whole ordinary weeks, so a deadline weeks away costs a few dozen steps, never one per minute.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from xuyen.errors import ValidationFailed

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60
# A calendar closed this many days in a row is taken as a mistake rather than searched further.
MAX_CLOSED_DAYS = 400

_ONE_DAY = timedelta(days=1)
_ONE_WEEK = timedelta(days=7)
_ZERO = timedelta(0)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DICT_KEYS = ("timezone", "hours", "holidays", "extra_working_days")


class CalendarError(ValidationFailed, ValueError):
    """A business calendar that cannot be used; ``problems`` lists every reason, each for a person to read."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            "The business calendar is not valid: " + "; ".join(self.problems) + ".",
            code="invalid_business_calendar",
            details={"problems": self.problems},
        )


class NoOpeningHours(ValidationFailed, ValueError):
    """The calendar never opens within reach, so no deadline or opening can be computed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="calendar_never_opens")


@dataclass(frozen=True, order=True)
class Span:
    """Opening hours within one day: from ``start`` to ``end``, minutes after local midnight (end may be 24:00)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not (0 <= self.start < MINUTES_PER_DAY and 0 < self.end <= MINUTES_PER_DAY):
            raise CalendarError([f"opening hours from minute {self.start} to minute {self.end} are outside the day "
                                 f"(0 to {MINUTES_PER_DAY}, that is 00:00 to 24:00)"])
        if self.end <= self.start:
            raise CalendarError(
                [f"opening hours {self} end before they start; a span cannot cross midnight, "
                 "so split a night shift into one span before and one after midnight"]
            )

    @classmethod
    def parse(cls, text: str) -> Span:
        """A span from ``"08:00-12:00"``."""
        return _parse_span(text, "opening hours")

    @property
    def minutes(self) -> int:
        """Length of the span in minutes."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_format_minute(self.start)}-{_format_minute(self.end)}"


DayHours = tuple[Span, ...]
CLOSED: DayHours = ()


@dataclass(frozen=True)
class BusinessCalendar:
    """When a business is open: spans per weekday (Monday first), holidays closed all day, extra working days.

    Spans are local wall-clock times in ``timezone`` and cannot cross midnight (a night shift is two spans, one
    ending at 24:00 and one starting at 00:00 the next day). An extra working day (a Saturday worked in place of a
    day off, as Vietnam does around Tết) opens with its own spans, whatever its weekday.
    """

    timezone: str = "Asia/Ho_Chi_Minh"
    week: tuple[DayHours, ...] = (CLOSED,) * 7
    holidays: frozenset[date] = frozenset()
    extra_working_days: tuple[tuple[date, DayHours], ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _extra: dict[date, DayHours] = field(init=False, repr=False, compare=False, hash=False)
    _week_total: timedelta = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        zone = _zone_or_problem(self.timezone, problems)
        week = tuple(self.week)
        if len(week) != 7:
            problems.append(f"opening hours need one entry per weekday (7), got {len(week)}")
            week = (CLOSED,) * 7
        week = tuple(_normalise_day(spans, WEEKDAYS[index], problems) for index, spans in enumerate(week))
        holidays = frozenset(self.holidays)
        for day in holidays:
            if not _is_plain_date(day):
                problems.append(f"holiday {day!r} is not a date")
        extra: dict[date, DayHours] = {}
        given = self.extra_working_days
        pairs = list(given.items()) if isinstance(given, Mapping) else list(given)
        for day, spans in pairs:
            if not _is_plain_date(day):
                problems.append(f"extra working day {day!r} is not a date")
                continue
            if day in extra:
                problems.append(f"extra working day {day.isoformat()} is listed twice")
            hours = _normalise_day(spans, f"extra working day {day.isoformat()}", problems)
            if not hours:
                problems.append(f"extra working day {day.isoformat()} has no opening hours")
            extra[day] = hours
            if day in holidays:
                problems.append(f"{day.isoformat()} is both a holiday and an extra working day; keep only one")
        if not any(week) and not extra:
            problems.append("no weekday has opening hours; give at least one weekday its hours "
                            "(or use always_open() for 24/7)")
        if problems:
            raise CalendarError(problems)
        object.__setattr__(self, "week", week)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "extra_working_days", tuple(sorted(extra.items())))
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_extra", extra)
        object.__setattr__(self, "_week_total", timedelta(minutes=sum(s.minutes for day in week for s in day)))

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        """A calendar open around the clock, every day (business time is then plain elapsed time)."""
        return cls(timezone=timezone, week=((Span(0, MINUTES_PER_DAY),),) * 7)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """A calendar from its stored form (see ``to_dict``); every problem found is reported at once."""
        if not isinstance(data, Mapping):
            raise CalendarError([f"a business calendar must be an object, got {type(data).__name__}"])
        problems: list[str] = []
        unknown = sorted(set(data) - set(_DICT_KEYS))
        if unknown:
            problems.append(f"unknown field(s) {', '.join(map(repr, unknown))}; the fields are {', '.join(_DICT_KEYS)}")
        timezone = data.get("timezone", "Asia/Ho_Chi_Minh")
        if not isinstance(timezone, str):
            problems.append(f"timezone must be a name such as 'Asia/Ho_Chi_Minh', got {timezone!r}")
            timezone = "UTC"
        week = _parse_week(data.get("hours", {}), problems)
        holidays = _parse_dates(data.get("holidays", []), "holidays", problems)
        extra = _parse_extra_days(data.get("extra_working_days", {}), week, problems)
        if problems:
            raise CalendarError(problems)
        return cls(timezone=timezone, week=week, holidays=frozenset(holidays), extra_working_days=tuple(extra))

    def to_dict(self) -> dict[str, Any]:
        """The calendar as plain JSON-ready data, which ``from_dict`` reads back."""
        return {
            "timezone": self.timezone,
            "hours": {name: [str(span) for span in self.week[index]] for index, name in enumerate(WEEKDAYS)},
            "holidays": [day.isoformat() for day in sorted(self.holidays)],
            "extra_working_days": {day.isoformat(): [str(span) for span in spans]
                                   for day, spans in self.extra_working_days},
        }

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    def hours_on(self, day: date) -> DayHours:
        """The opening spans of one local date (none on a holiday)."""
        if day in self.holidays:
            return CLOSED
        extra = self._extra.get(day)
        if extra is not None:
            return extra
        return self.week[day.weekday()]


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The UTC moment ``duration`` of opening time after ``start``, counting from the next opening if closed.

    A zero duration gives the next opening (``start`` itself when open). A deadline that uses up a span exactly
    is that span's closing time, not the next opening.
    """
    at = _utc(start, "start")
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}; a deadline lies after its start")
    week_total = calendar._week_total
    # A day before, for zones whose clocks go back across midnight (a local date can then come round again).
    day = at.astimezone(calendar.zone).date() - _ONE_DAY
    remaining = duration
    closed_days = 0
    while True:
        if remaining > week_total > _ZERO:
            week_opens = _ordinary_week_start(calendar, day)
            if week_opens is not None and week_opens >= at:
                remaining -= week_total
                day += _ONE_WEEK
                closed_days = 0
                continue
        opened = False
        for opens, closes in _day_intervals(calendar, day):
            if closes <= at:
                continue
            opened = True
            opens = max(opens, at)
            if closes - opens >= remaining:
                return opens + remaining
            remaining -= closes - opens
        closed_days = 0 if opened else closed_days + 1
        if closed_days > MAX_CLOSED_DAYS:
            raise _never_opens(calendar, at)
        day += _ONE_DAY


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The opening time from ``start`` to ``end``; negative when ``end`` comes first (an overdue deadline)."""
    begin, finish = _utc(start, "start"), _utc(end, "end")
    if finish < begin:
        return -business_time_between(calendar, finish, begin)
    zone = calendar.zone
    week_total = calendar._week_total
    day = begin.astimezone(zone).date() - _ONE_DAY
    last_day = finish.astimezone(zone).date() + _ONE_DAY
    total = _ZERO
    while day <= last_day:
        if week_total > _ZERO and day + _ONE_WEEK <= last_day:
            week_opens = _ordinary_week_start(calendar, day)
            if week_opens is not None and week_opens >= begin and week_opens + _ONE_WEEK <= finish:
                total += week_total
                day += _ONE_WEEK
                continue
        for opens, closes in _day_intervals(calendar, day):
            overlap = min(closes, finish) - max(opens, begin)
            if overlap > _ZERO:
                total += overlap
        day += _ONE_DAY
    return total


def is_open(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether the local clock shows opening hours at that moment (a span includes its first minute, not its end)."""
    moment = _utc(at, "at")
    local_day = moment.astimezone(calendar.zone).date()
    return any(opens <= moment < closes
               for day in (local_day - _ONE_DAY, local_day) for opens, closes in _day_intervals(calendar, day))


def next_opening(calendar: BusinessCalendar, at: datetime) -> datetime:
    """The first open moment at or after ``at``, in UTC (``at`` itself when open)."""
    return add_business_time(calendar, at, _ZERO)


def _day_intervals(calendar: BusinessCalendar, day: date) -> list[tuple[datetime, datetime]]:
    """The UTC intervals in which the local clock shows one of the date's spans, in order.

    On the day the clocks change, the day is cut at the change: before it, wall time is UTC plus the old offset,
    after it UTC plus the new one. A span inside a skipped hour is therefore empty, and a repeated hour is open
    both times the clock shows it.
    """
    spans = calendar.hours_on(day)
    if not spans:
        return []
    zone = calendar.zone
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    before = _offset(zone, day, 0)
    after = _offset(zone, day + _ONE_DAY, 1)
    if before == after:
        return [(midnight + timedelta(minutes=span.start) - before, midnight + timedelta(minutes=span.end) - before)
                for span in spans]
    change = _clock_change(zone, midnight - before - _ONE_DAY, midnight + 2 * _ONE_DAY - after, after)
    intervals: list[tuple[datetime, datetime]] = []
    for offset, lowest, highest in ((before, None, change), (after, change, None)):
        for span in spans:
            opens = midnight + timedelta(minutes=span.start) - offset
            closes = midnight + timedelta(minutes=span.end) - offset
            if lowest is not None:
                opens = max(opens, lowest)
            if highest is not None:
                closes = min(closes, highest)
            if closes <= opens:
                continue
            if intervals and opens <= intervals[-1][1]:
                intervals[-1] = (intervals[-1][0], max(closes, intervals[-1][1]))
            else:
                intervals.append((opens, closes))
    return intervals


@lru_cache(maxsize=1 << 16)
def _offset(zone: ZoneInfo, day: date, fold: int) -> timedelta:
    """The UTC offset at local midnight starting ``day`` (remembered: deadlines look at the same days again)."""
    offset = datetime(day.year, day.month, day.day, tzinfo=zone, fold=fold).utcoffset()
    assert offset is not None
    return offset


def _clock_change(zone: ZoneInfo, low: datetime, high: datetime, new_offset: timedelta) -> datetime:
    """The first second between ``low`` and ``high`` (UTC) at which the zone's offset is ``new_offset``."""
    first, last = int(low.timestamp()), int(high.timestamp())
    while last - first > 1:
        middle = (first + last) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == new_offset:
            last = middle
        else:
            first = middle
    return datetime.fromtimestamp(last, UTC)


def _ordinary_week_start(calendar: BusinessCalendar, first: date) -> datetime | None:
    """When a week from ``first`` opens exactly as the weekly pattern says, the UTC moment it begins; else None.

    Such a week has no holiday, no extra working day and no clock change, so its opening time is the pattern's.
    """
    days = [first + timedelta(days=offset) for offset in range(8)]
    if any(day in calendar.holidays or day in calendar._extra for day in days[:7]):
        return None
    zone = calendar.zone
    offsets = {_offset(zone, day, fold) for day in days for fold in (0, 1)}
    if len(offsets) != 1:
        return None
    return datetime(first.year, first.month, first.day, tzinfo=UTC) - offsets.pop()


def _never_opens(calendar: BusinessCalendar, at: datetime) -> NoOpeningHours:
    return NoOpeningHours(
        f"The business calendar has no opening hours in the {MAX_CLOSED_DAYS} days after {at.isoformat()}, "
        "so no deadline can be set; give the calendar weekday opening hours or remove some holidays."
    )


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got the naive time {moment.isoformat()}")
    return moment.astimezone(UTC)


def _is_plain_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _zone_or_problem(name: object, problems: list[str]) -> ZoneInfo:
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    problems.append(f"unknown time zone {name!r}; use an IANA name such as 'Asia/Ho_Chi_Minh' or 'Europe/Berlin'")
    return ZoneInfo("UTC")


def _normalise_day(spans: Iterable[Span], label: str, problems: list[str]) -> DayHours:
    """Sorted spans, touching ones merged; overlapping ones reported."""
    items = list(spans)
    if not all(isinstance(span, Span) for span in items):
        problems.append(f"{label}: opening hours must be spans such as '08:00-12:00'")
        return CLOSED
    merged: list[Span] = []
    for span in sorted(items):
        if merged and span.start < merged[-1].end:
            problems.append(f"{label}: opening hours {merged[-1]} and {span} overlap; make them separate or join them")
            continue
        if merged and span.start == merged[-1].end:
            merged[-1] = Span(merged[-1].start, span.end)
        else:
            merged.append(span)
    return tuple(merged)


def _format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _parse_minute(text: str, label: str, *, end: bool) -> int:
    match = _TIME.match(text.strip())
    if match:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if minutes < 60 and (hours < 24 or (end and hours == 24 and minutes == 0)):
            return hours * 60 + minutes
    allowed = "00:00 to 24:00" if end else "00:00 to 23:59"
    raise CalendarError([f"{label}: {text!r} is not a time of day; write HH:MM from {allowed}"])


def _parse_span(value: object, label: str) -> Span:
    if isinstance(value, str) and value.count("-") == 1:
        start_text, end_text = value.split("-")
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2 \
            and all(isinstance(part, str) for part in value):
        start_text, end_text = value[0], value[1]
    else:
        raise CalendarError([f"{label}: {value!r} is not a span; write it as '08:00-12:00'"])
    start = _parse_minute(start_text, label, end=False)
    end = _parse_minute(end_text, label, end=True)
    if end <= start:
        raise CalendarError(
            [f"{label}: {start_text.strip()}-{end_text.strip()} ends before it starts; a span cannot cross "
             "midnight, so split a night shift into one span before and one after midnight"]
        )
    return Span(start, end)


def _parse_spans(value: object, label: str, problems: list[str]) -> DayHours:
    if not isinstance(value, Sequence) or isinstance(value, str):
        problems.append(f"{label}: give a list of spans such as ['08:00-12:00', '13:30-17:30'], got {value!r}")
        return CLOSED
    spans: list[Span] = []
    for item in value:
        try:
            spans.append(_parse_span(item, label))
        except CalendarError as error:
            problems.extend(error.problems)
    return _normalise_day(spans, label, problems)


def _weekday_index(name: object) -> int | None:
    if not isinstance(name, str):
        return None
    key = name.strip().lower()
    for index, weekday in enumerate(WEEKDAYS):
        if key in (weekday, weekday[:3]):
            return index
    return None


def _parse_week(value: object, problems: list[str]) -> tuple[DayHours, ...]:
    week: list[DayHours] = [CLOSED] * 7
    if not isinstance(value, Mapping):
        problems.append(f"hours must map weekdays to spans, e.g. {{'monday': ['08:00-12:00']}}, got {value!r}")
        return tuple(week)
    seen: dict[int, str] = {}
    for name, spans in value.items():
        index = _weekday_index(name)
        if index is None:
            problems.append(f"hours: unknown weekday {name!r}; use monday, tuesday, … sunday")
            continue
        if index in seen:
            problems.append(f"hours: {WEEKDAYS[index]} is given twice ({seen[index]!r} and {name!r})")
            continue
        seen[index] = name
        week[index] = _parse_spans(spans, WEEKDAYS[index], problems)
    return tuple(week)


def _parse_date(value: object, label: str, problems: list[str]) -> date | None:
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(f"{label}: {value!r} is not a date; write it as YYYY-MM-DD, e.g. '2026-02-17'")
    return None


def _parse_dates(value: object, label: str, problems: list[str]) -> list[date]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        problems.append(f"{label} must be a list of dates such as ['2026-02-17'], got {value!r}")
        return []
    days = [_parse_date(item, label, problems) for item in value]
    return [day for day in days if day is not None]


def _parse_extra_days(
    value: object, week: tuple[DayHours, ...], problems: list[str]
) -> list[tuple[date, DayHours]]:
    label = "extra_working_days"
    if not isinstance(value, Mapping):
        problems.append(f"{label} must map dates to a weekday whose hours apply or to spans, "
                        f"e.g. {{'2026-01-10': 'friday'}}, got {value!r}")
        return []
    extra: list[tuple[date, DayHours]] = []
    for key, hours in value.items():
        day = _parse_date(key, label, problems)
        if day is None:
            continue
        day_label = f"{label} {day.isoformat()}"
        if isinstance(hours, str):
            index = _weekday_index(hours)
            if index is None:
                problems.append(f"{day_label}: unknown weekday {hours!r}; name the weekday whose hours apply "
                                "(monday … sunday) or give spans")
                continue
            spans = week[index]
            if not spans:
                problems.append(f"{day_label} works like a {WEEKDAYS[index]}, but {WEEKDAYS[index]} has no "
                                "opening hours; name an open weekday or give spans")
                continue
        else:
            spans = _parse_spans(hours, day_label, problems)
            if not spans:
                problems.append(f"{day_label} has no opening hours")
                continue
        extra.append((day, spans))
    return extra
