"""Business time for SLA deadlines: opening spans, lunch breaks, holidays and Tết, moved working days, DST."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xuyen.inbox.sla import (
    BusinessCalendar,
    CalendarError,
    NoOpeningHours,
    Span,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
    vietnam_calendar,
    vietnam_holidays,
    vietnam_moved_working_days,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)

OFFICE = {
    "timezone": "Asia/Ho_Chi_Minh",
    "hours": {
        "monday": ["08:00-12:00", "13:30-17:30"],
        "tuesday": ["08:00-12:00", "13:30-17:30"],
        "wednesday": ["08:00-12:00", "13:30-17:30"],
        "thursday": ["08:00-12:00", "13:30-17:30"],
        "friday": ["08:00-12:00", "13:30-17:30"],
        "saturday": ["08:00-12:00"],
    },
    "holidays": ["2026-03-04"],
    "extra_working_days": {"2026-03-08": "monday"},
}
SHOP = BusinessCalendar.from_dict(OFFICE)
VIETNAM = vietnam_calendar(years=[2025, 2026, 2027])


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """A Hanoi wall-clock time."""
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=VN)


def local(moment: datetime, zone: ZoneInfo = VN) -> datetime:
    assert moment.tzinfo is UTC
    return moment.astimezone(zone)


# --- deadlines on an ordinary week (Mon 2 March 2026 is a Monday) ----------------------------------------------

def test_lunch_break_is_skipped() -> None:
    assert local(add_business_time(SHOP, vn(2026, 3, 2, 11, 0), 2 * H)) == vn(2026, 3, 2, 14, 30)


def test_deadline_carries_over_night() -> None:
    assert local(add_business_time(SHOP, vn(2026, 3, 2, 17, 0), H)) == vn(2026, 3, 3, 8, 30)


def test_deadline_carries_over_the_weekend() -> None:
    # Friday 17:00 + 1h: 30 min on Friday, 30 min on Saturday morning.
    assert local(add_business_time(SHOP, vn(2026, 3, 6, 17, 0), H)) == vn(2026, 3, 7, 8, 30)
    # Saturday closes at noon; Sunday is closed; Monday 2 March is an ordinary Monday.
    assert local(add_business_time(SHOP, vn(2026, 2, 28, 11, 0), 2 * H)) == vn(2026, 3, 2, 9, 0)
    # Without Saturday hours Friday's work goes on on Monday.
    weekdays = vietnam_calendar(years=[2026])
    assert local(add_business_time(weekdays, vn(2026, 3, 6, 17, 0), H)) == vn(2026, 3, 9, 8, 30)


def test_a_holiday_is_skipped() -> None:
    # Tuesday 3 March 17:00 + 1h: Wednesday 4 March is a holiday in SHOP.
    assert local(add_business_time(SHOP, vn(2026, 3, 3, 17, 0), H)) == vn(2026, 3, 5, 8, 30)


def test_an_extra_working_day_counts() -> None:
    # Sunday 8 March 2026 is worked with Monday's hours in SHOP.
    assert local(add_business_time(SHOP, vn(2026, 3, 7, 11, 30), H)) == vn(2026, 3, 8, 8, 30)
    assert is_open(SHOP, vn(2026, 3, 8, 15, 0))
    assert not is_open(SHOP, vn(2026, 3, 15, 15, 0))  # an ordinary Sunday


def test_start_inside_a_break_counts_from_the_next_opening() -> None:
    assert local(add_business_time(SHOP, vn(2026, 3, 2, 12, 15), 30 * MIN)) == vn(2026, 3, 2, 14, 0)
    assert local(add_business_time(SHOP, vn(2026, 3, 2, 6, 0), 30 * MIN)) == vn(2026, 3, 2, 8, 30)
    assert local(add_business_time(SHOP, vn(2026, 3, 4, 10, 0), 30 * MIN)) == vn(2026, 3, 5, 8, 30)  # holiday
    assert local(add_business_time(SHOP, vn(2026, 3, 1, 10, 0), 30 * MIN)) == vn(2026, 3, 2, 8, 30)  # Sunday


def test_a_deadline_that_fills_a_span_is_its_closing_time() -> None:
    assert local(add_business_time(SHOP, vn(2026, 3, 2, 8, 0), 4 * H)) == vn(2026, 3, 2, 12, 0)
    assert local(add_business_time(SHOP, vn(2026, 3, 2, 8, 0), 8 * H)) == vn(2026, 3, 2, 17, 30)


def test_zero_duration_is_the_next_opening() -> None:
    open_moment = vn(2026, 3, 2, 9, 17, 23)
    assert add_business_time(SHOP, open_moment, timedelta(0)) == open_moment.astimezone(UTC)
    assert local(add_business_time(SHOP, vn(2026, 3, 2, 12, 0), timedelta(0))) == vn(2026, 3, 2, 13, 30)
    assert local(next_opening(SHOP, vn(2026, 3, 2, 17, 30))) == vn(2026, 3, 3, 8, 0)
    assert next_opening(SHOP, open_moment) == open_moment


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_time(SHOP, vn(2026, 3, 2, 9, 0), -MIN)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(SHOP, datetime(2026, 3, 2, 9, 0), H)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(SHOP, vn(2026, 3, 2, 9, 0), datetime(2026, 3, 3, 9, 0))


def test_results_are_utc_and_keep_seconds() -> None:
    deadline = add_business_time(SHOP, vn(2026, 3, 2, 11, 59, 30, 250), timedelta(seconds=45))
    assert deadline.tzinfo is UTC
    assert local(deadline) == vn(2026, 3, 2, 13, 30, 15, 250)


def test_is_open_includes_the_opening_minute_not_the_closing_one() -> None:
    assert is_open(SHOP, vn(2026, 3, 2, 8, 0))
    assert is_open(SHOP, vn(2026, 3, 2, 11, 59, 59))
    assert not is_open(SHOP, vn(2026, 3, 2, 12, 0))
    assert not is_open(SHOP, vn(2026, 3, 2, 7, 59))
    assert not is_open(SHOP, vn(2026, 3, 4, 9, 0))  # holiday


def test_business_time_between() -> None:
    assert business_time_between(SHOP, vn(2026, 3, 2, 11, 0), vn(2026, 3, 2, 14, 30)) == 2 * H
    # Wednesday 4 March is a holiday, Saturday a half day, Sunday 8 March an extra working day.
    assert business_time_between(SHOP, vn(2026, 3, 2, 0, 0), vn(2026, 3, 9, 0, 0)) == 4 * 8 * H + 4 * H + 8 * H
    # An overdue deadline: negative business time.
    assert business_time_between(SHOP, vn(2026, 3, 2, 14, 30), vn(2026, 3, 2, 11, 0)) == -2 * H
    assert business_time_between(SHOP, vn(2026, 3, 1, 9, 0), vn(2026, 3, 1, 17, 0)) == timedelta(0)


# --- Vietnam: Tết, swaps, known dates ---------------------------------------------------------------------------

def test_a_deadline_set_before_tet_lands_after_tet() -> None:
    # Friday 13 February 2026 16:00, 4 business hours: 1.5 h on Friday, then Tết (16-20 Feb) and the weekend.
    deadline = add_business_time(VIETNAM, vn(2026, 2, 13, 16, 0), 4 * H)
    assert local(deadline) == vn(2026, 2, 23, 10, 30)
    assert business_time_between(VIETNAM, vn(2026, 2, 13, 16, 0), deadline) == 4 * H


def test_tet_2025_closes_from_the_compensatory_monday() -> None:
    # Tết 2025 (29 Jan): 28 Jan - 1 Feb, Saturday 1 Feb compensated on Monday 27 Jan.
    deadline = add_business_time(VIETNAM, vn(2025, 1, 24, 17, 0), H)
    assert local(deadline) == vn(2025, 2, 3, 8, 30)


def test_a_moved_working_saturday_counts() -> None:
    # New Year 2026: Friday 2 January off, Saturday 10 January worked instead (12729/VPCP-KGVX).
    assert local(add_business_time(VIETNAM, vn(2025, 12, 31, 17, 0), H)) == vn(2026, 1, 5, 8, 30)
    assert local(add_business_time(VIETNAM, vn(2026, 1, 9, 17, 0), H)) == vn(2026, 1, 10, 8, 30)
    assert is_open(VIETNAM, vn(2026, 1, 10, 14, 0))  # the whole working day, lunch break included
    assert not is_open(VIETNAM, vn(2026, 1, 10, 12, 30))
    # 30 April - 4 May 2025: Friday 2 May off, Saturday 26 April worked.
    assert is_open(VIETNAM, vn(2025, 4, 26, 9, 0))
    assert not is_open(VIETNAM, vn(2025, 5, 2, 9, 0))


def _days(year: int) -> dict[date, str]:
    return {holiday.date: holiday.name_en for holiday in vietnam_holidays(year)}


def test_vietnam_holidays_2025() -> None:
    assert sorted(_days(2025)) == [
        date(2025, 1, 1),  # New Year
        date(2025, 1, 27),  # compensates Saturday 1 Feb (Tết Ất Tỵ off 25 Jan - 2 Feb with the weekends)
        date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1),  # Tết
        date(2025, 4, 7),  # Hùng Kings, 10/3 lunar
        date(2025, 4, 30), date(2025, 5, 1),
        date(2025, 5, 2),  # swapped with Saturday 26 April
        date(2025, 9, 1), date(2025, 9, 2),  # National Day and the day before
    ]
    assert vietnam_moved_working_days(2025) == [date(2025, 4, 26)]


def test_vietnam_holidays_2026() -> None:
    days = _days(2026)
    assert sorted(days) == [
        date(2026, 1, 1),
        date(2026, 1, 2),  # swapped with Saturday 10 January
        date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19), date(2026, 2, 20),  # Tết
        date(2026, 4, 26),  # Hùng Kings on a Sunday ...
        date(2026, 4, 27),  # ... compensated on Monday
        date(2026, 4, 30), date(2026, 5, 1),
        date(2026, 8, 31),  # swapped with Saturday 22 August
        date(2026, 9, 1), date(2026, 9, 2),
        date(2026, 11, 24),  # Vietnam Culture Day, a paid day off from 2026
    ]
    assert days[date(2026, 2, 17)] == "Lunar New Year"
    tet = next(holiday for holiday in vietnam_holidays(2026) if holiday.date == date(2026, 2, 17))
    assert tet.name_vi == "Tết Nguyên Đán"
    assert vietnam_moved_working_days(2026) == [date(2026, 1, 10), date(2026, 8, 22)]


def test_lunar_dates_follow_the_vietnamese_calendar() -> None:
    # The new moon falls just before midnight at UTC+7 and just after it at UTC+8: Vietnam's Tết is a day,
    # or in 1985 a month, earlier than China's Spring Festival.
    assert "Lunar New Year" in _days(1985)[date(1985, 1, 21)]
    assert "Lunar New Year" in _days(2030)[date(2030, 2, 2)]


@pytest.mark.parametrize("year", range(2021, 2041))
def test_every_year_has_the_labour_code_days(year: int) -> None:
    days = _days(year)
    names = set(days.values())
    assert {"New Year's Day", "Lunar New Year's Eve", "Lunar New Year", "Second Day of Lunar New Year",
            "Third Day of Lunar New Year", "Fourth Day of Lunar New Year", "Hung Kings' Commemoration Day",
            "Liberation Day/Reunification Day", "International Labor Day", "National Day"} <= names
    assert date(year, 1, 1) in days and date(year, 4, 30) in days and date(year, 5, 1) in days
    assert date(year, 9, 2) in days and (date(year, 9, 1) in days or date(year, 9, 3) in days)
    tet = next(day for day, name in days.items() if name == "Lunar New Year")
    assert date(year, 1, 21) <= tet <= date(year, 2, 20)
    assert all(tet + timedelta(days=offset) in days for offset in range(-1, 4))


def test_vietnam_holidays_refuses_unknown_years() -> None:
    with pytest.raises(ValueError, match="1901 to 2099"):
        vietnam_holidays(2150)


def test_vietnam_calendar_takes_hours() -> None:
    shop = vietnam_calendar(hours={"monday": ["09:00-18:00"], "saturday": ["09:00-12:00"]}, years=[2026])
    assert shop.hours_on(date(2026, 1, 10)) == (Span(9 * 60, 18 * 60),)  # the moved Saturday: a full day
    assert shop.hours_on(date(2026, 1, 17)) == (Span(9 * 60, 12 * 60),)
    assert shop.hours_on(date(2026, 2, 17)) == ()


def test_vietnam_calendar_defaults_to_the_years_around_now() -> None:
    this_year = datetime.now(VN).year
    calendar = vietnam_calendar()
    assert calendar.timezone == "Asia/Ho_Chi_Minh"
    assert {day.year for day in calendar.holidays} == {this_year - 1, this_year, this_year + 1}
    assert calendar.hours_on(date(this_year, 1, 1)) == ()
    assert calendar.week[0] == (Span.parse("08:00-12:00"), Span.parse("13:30-17:30"))
    assert calendar.week[5] == calendar.week[6] == ()


# --- time zones with daylight saving time ----------------------------------------------------------------------

def berlin(year: int, month: int, day: int, hour: int, minute: int, *, fold: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold)


def test_office_hours_across_the_spring_change() -> None:
    office = BusinessCalendar.from_dict({"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"],
                                                                                "fri": ["09:00-17:00"]}})
    # Friday 27 March 2026 (CET, UTC+1) to Monday 30 March (CEST, UTC+2): 1 h + 1 h, wall clock both days.
    deadline = add_business_time(office, berlin(2026, 3, 27, 16, 0), 2 * H)
    assert deadline == berlin(2026, 3, 30, 10, 0).astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_always_open_across_the_clock_changes() -> None:
    around = BusinessCalendar.always_open("Europe/Berlin")
    # Sunday 29 March 2026 has 23 hours, Sunday 25 October 2026 has 25.
    assert business_time_between(around, berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == 23 * H
    assert business_time_between(around, berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 25 * H
    start = berlin(2026, 3, 28, 12, 0)
    assert add_business_time(around, start, 30 * H) == start.astimezone(UTC) + 30 * H


def test_spans_around_the_skipped_and_repeated_hour() -> None:
    night = BusinessCalendar.from_dict({"timezone": "Europe/Berlin", "hours": {"sunday": ["01:00-04:00"]}})
    # 29 March: 02:00-03:00 does not exist, so the shift lasts two hours; 25 October: 02:00-03:00 happens twice.
    assert business_time_between(night, berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == 2 * H
    assert business_time_between(night, berlin(2026, 10, 25, 0, 0), berlin(2026, 10, 26, 0, 0)) == 4 * H
    inside_gap = BusinessCalendar.from_dict({"timezone": "Europe/Berlin", "hours": {"sunday": ["02:15-02:45"]}})
    assert business_time_between(inside_gap, berlin(2026, 3, 29, 0, 0), berlin(2026, 3, 30, 0, 0)) == timedelta(0)
    assert business_time_between(inside_gap, berlin(2026, 4, 5, 0, 0), berlin(2026, 4, 6, 0, 0)) == 30 * MIN
    # The second 02:30 (CET) of 25 October is open: it is still the wall time 02:30.
    assert is_open(night, berlin(2026, 10, 25, 2, 30, fold=1))


# --- properties ---------------------------------------------------------------------------------------------------

def _minutes_open_by_wall_clock(calendar: BusinessCalendar, start: datetime, minutes: int) -> int:
    """The oracle: walk minute by minute and read each minute's local wall time."""
    count = 0
    for step in range(minutes):
        moment = (start + step * MIN).astimezone(calendar.zone)
        wall = moment.hour * 60 + moment.minute
        count += any(span.start <= wall < span.end for span in calendar.hours_on(moment.date()))
    return count


ODD = BusinessCalendar.from_dict({
    "timezone": "Europe/Berlin",
    "hours": {"monday": ["00:00-02:30", "07:45-12:00", "12:30-19:10"], "wednesday": ["22:00-24:00"],
              "thursday": ["00:00-06:00"], "saturday": ["01:30-03:30"], "sunday": ["02:00-02:55"]},
    "holidays": ["2026-03-30", "2026-10-28"],
    "extra_working_days": {"2026-10-24": "monday"},
})
CALENDARS = [SHOP, VIETNAM, ODD, BusinessCalendar.always_open("Asia/Ho_Chi_Minh")]
STARTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 10, 1), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), start=STARTS,
       duration=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)))
def test_business_time_between_inverts_add_business_time(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    deadline = add_business_time(calendar, start, duration)
    assert deadline.tzinfo is UTC and deadline >= start
    assert business_time_between(calendar, start, deadline) == duration
    if duration:
        assert is_open(calendar, deadline - timedelta(microseconds=1))
    # The deadline is the earliest such moment: nothing less would do.
    later = min(deadline, start + timedelta(days=400))
    assert add_business_time(calendar, start, business_time_between(calendar, start, later)) <= later


@settings(max_examples=200, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), start=STARTS,
       first=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
       second=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_business_time_adds_up(calendar: BusinessCalendar, start: datetime, first: timedelta,
                               second: timedelta) -> None:
    middle, end = start + first, start + first + second
    assert business_time_between(calendar, start, end) == (
        business_time_between(calendar, start, middle) + business_time_between(calendar, middle, end))


@settings(max_examples=120, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), start=STARTS.map(lambda moment: moment.replace(second=0, microsecond=0)),
       minutes=st.integers(min_value=0, max_value=3 * 24 * 60))
def test_business_time_matches_the_wall_clock_minute_by_minute(
    calendar: BusinessCalendar, start: datetime, minutes: int
) -> None:
    expected = _minutes_open_by_wall_clock(calendar, start, minutes) * MIN
    assert business_time_between(calendar, start, start + minutes * MIN) == expected


def test_odd_calendar_across_both_clock_changes_minute_by_minute() -> None:
    for start in (berlin(2026, 3, 27, 0, 0), berlin(2026, 10, 23, 0, 0)):
        utc_start = start.astimezone(UTC)
        for days in (1, 2, 3, 4, 5, 6, 7):
            expected = _minutes_open_by_wall_clock(ODD, utc_start, days * 24 * 60) * MIN
            assert business_time_between(ODD, utc_start, utc_start + timedelta(days=days)) == expected


def _clock_changes(zone: ZoneInfo, year: int) -> list[datetime]:
    """UTC noons of the days on which the zone's clocks change."""
    noons = [datetime(year, 1, 1, 12, tzinfo=UTC) + timedelta(days=offset) for offset in range(366)]
    return [noon for noon, following in pairwise(noons)
            if noon.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset()]


# Zones whose clocks change at 02:00 (Berlin), around midnight (Santiago, Havana, Beirut) or by half an hour
# (Lord Howe Island).
CHANGING_ZONES = ["Europe/Berlin", "America/Santiago", "America/Havana", "Asia/Beirut", "Australia/Lord_Howe"]
NEAR_CHANGES = [
    (zone, change)
    for zone in CHANGING_ZONES
    for year in (2024, 2026)
    for change in _clock_changes(ZoneInfo(zone), year)
]


@settings(max_examples=150, deadline=None)
@given(near=st.sampled_from(NEAR_CHANGES), shift=st.integers(min_value=-3 * 24 * 60, max_value=24 * 60),
       minutes=st.integers(min_value=0, max_value=3 * 24 * 60), hours=st.sampled_from([ODD.to_dict()["hours"],
                                                                                        {"sunday": ["00:00-24:00"]}]))
def test_clock_changes_match_the_wall_clock(
    near: tuple[str, datetime], shift: int, minutes: int, hours: dict[str, list[str]]
) -> None:
    zone, change = near
    calendar = BusinessCalendar.from_dict({"timezone": zone, "hours": hours})
    start = change + shift * MIN
    expected = _minutes_open_by_wall_clock(calendar, start, minutes) * MIN
    assert business_time_between(calendar, start, start + minutes * MIN) == expected
    deadline = add_business_time(calendar, start, expected)
    assert business_time_between(calendar, start, deadline) == expected
    assert is_open(calendar, start) == (_minutes_open_by_wall_clock(calendar, start, 1) == 1)


def test_the_zones_tested_do_change_their_clocks() -> None:
    assert all(len([zone for zone, _ in NEAR_CHANGES if zone == name]) >= 4 for name in CHANGING_ZONES)


@settings(max_examples=100, deadline=None)
@given(start=STARTS, duration=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)))
def test_always_open_is_plain_addition(start: datetime, duration: timedelta) -> None:
    for zone in ("UTC", "Asia/Ho_Chi_Minh", "Europe/Berlin"):
        around = BusinessCalendar.always_open(zone)
        assert add_business_time(around, start, duration) == start + duration
        assert business_time_between(around, start, start + duration) == duration


# --- speed and calendars that never open ---------------------------------------------------------------------

def test_long_durations_are_fast() -> None:
    began = time.perf_counter()
    for _ in range(20):
        deadline = add_business_time(VIETNAM, vn(2025, 1, 2, 9, 0), 2000 * H)  # about a year of office hours
    elapsed = time.perf_counter() - began
    assert business_time_between(VIETNAM, vn(2025, 1, 2, 9, 0), deadline) == 2000 * H
    assert elapsed < 1.0, f"20 deadlines a year away took {elapsed:.2f} s"


def test_a_calendar_without_opening_hours_is_refused() -> None:
    with pytest.raises(CalendarError, match="no weekday has opening hours"):
        BusinessCalendar.from_dict({"timezone": "Asia/Ho_Chi_Minh", "hours": {}})


def test_a_calendar_that_never_opens_again_gives_an_error_not_a_loop() -> None:
    once = BusinessCalendar.from_dict({"timezone": "UTC", "extra_working_days": {"2024-05-04": ["08:00-17:00"]}})
    assert local(add_business_time(once, datetime(2024, 5, 1, tzinfo=UTC), H), ZoneInfo("UTC")).hour == 9
    began = time.perf_counter()
    with pytest.raises(NoOpeningHours, match="no opening hours in the 400 days after"):
        add_business_time(once, datetime(2026, 1, 1, tzinfo=UTC), H)
    with pytest.raises(NoOpeningHours):
        next_opening(once, datetime(2026, 1, 1, tzinfo=UTC))
    assert time.perf_counter() - began < 1.0
    assert business_time_between(once, datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)) == 9 * H


# --- the stored form ----------------------------------------------------------------------------------------------

def test_round_trip_through_json() -> None:
    stored = json.loads(json.dumps(SHOP.to_dict()))
    assert BusinessCalendar.from_dict(stored) == SHOP
    assert stored["hours"]["monday"] == ["08:00-12:00", "13:30-17:30"]
    assert stored["hours"]["sunday"] == []
    assert stored["extra_working_days"] == {"2026-03-08": ["08:00-12:00", "13:30-17:30"]}
    assert BusinessCalendar.from_dict(json.loads(json.dumps(VIETNAM.to_dict()))) == VIETNAM


def test_spans_as_pairs_and_short_weekday_names_are_read() -> None:
    calendar = BusinessCalendar.from_dict({"timezone": "UTC", "hours": {"Mon": [["08:00", "12:00"], "12:00-13:00"]}})
    assert calendar.week[0] == (Span(8 * 60, 13 * 60),)  # touching spans are joined


def problems(data: object) -> list[str]:
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.from_dict(data)
    assert caught.value.code == "invalid_business_calendar"
    assert str(caught.value).startswith("The business calendar is not valid: ")
    return caught.value.problems


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ({"monday": ["08:00-12:00", "11:00-13:00"]}, "monday: opening hours 08:00-12:00 and 11:00-13:00 overlap"),
        ({"monday": ["17:00-08:00"]}, "monday: 17:00-08:00 ends before it starts; a span cannot cross midnight"),
        ({"monday": ["22:00-06:00"]}, "split a night shift into one span before and one after midnight"),
        ({"monday": ["09:00-09:00"]}, "09:00-09:00 ends before it starts"),
        ({"funday": ["08:00-12:00"]}, "hours: unknown weekday 'funday'; use monday, tuesday, … sunday"),
        ({"monday": ["8h-12h"]}, "monday: '8h' is not a time of day; write HH:MM from 00:00 to 23:59"),
        ({"monday": ["08:00-12:00-13:00"]}, "monday: '08:00-12:00-13:00' is not a span; write it as '08:00-12:00'"),
        ({"monday": [8, 12]}, "monday: 8 is not a span"),
        ({"monday": ["08:00-25:00"]}, "monday: '25:00' is not a time of day; write HH:MM from 00:00 to 24:00"),
        ({"monday": ["24:00-24:00"]}, "monday: '24:00' is not a time of day; write HH:MM from 00:00 to 23:59"),
        ({"monday": "08:00-12:00"}, "monday: give a list of spans"),
        ({"monday": ["08:00-12:00"], "Mon": ["13:00-14:00"]}, "hours: monday is given twice"),
        (["monday"], "hours must map weekdays to spans"),
    ],
)
def test_from_dict_rejects_bad_hours(hours: object, expected: str) -> None:
    found = problems({"timezone": "Asia/Ho_Chi_Minh", "hours": hours})
    assert any(expected in problem for problem in found), found


def test_from_dict_rejects_a_bad_time_zone() -> None:
    for zone in ("Asia/Hanoi_City", "Mars/Olympus_Mons", "../etc/passwd", "", 7):
        found = problems({"timezone": zone, "hours": {"monday": ["08:00-12:00"]}})
        assert any("use an IANA name such as 'Asia/Ho_Chi_Minh'" in problem
                   or "timezone must be a name" in problem for problem in found), found


def test_from_dict_rejects_bad_dates_and_conflicts() -> None:
    found = problems({
        "timezone": "Asia/Ho_Chi_Minh",
        "hours": {"monday": ["08:00-12:00"]},
        "holidays": ["2026-02-30", "17/02/2026", "2026-04-26"],
        "extra_working_days": {"2026-04-26": "monday", "2026-01-10": "sunday", "2026-01-17": "someday",
                               "2026-01-24": []},
        "holiday": ["2026-01-01"],
    })
    expected = [
        "unknown field(s) 'holiday'; the fields are timezone, hours, holidays, extra_working_days",
        "holidays: '2026-02-30' is not a date; write it as YYYY-MM-DD",
        "holidays: '17/02/2026' is not a date",
        "extra_working_days 2026-01-10 works like a sunday, but sunday has no opening hours",
        "extra_working_days 2026-01-17: unknown weekday 'someday'",
        "extra_working_days 2026-01-24 has no opening hours",
    ]
    for text in expected:
        assert any(text in problem for problem in found), (text, found)
    # The conflict is found once the rest is valid.
    conflict = problems({"timezone": "UTC", "hours": {"monday": ["08:00-12:00"]}, "holidays": ["2026-04-27"],
                         "extra_working_days": {"2026-04-27": "monday"}})
    assert conflict == ["2026-04-27 is both a holiday and an extra working day; keep only one"]


def test_from_dict_needs_an_object() -> None:
    assert problems("monday 8-12") == ["a business calendar must be an object, got str"]


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(CalendarError, match="overlap"):
        BusinessCalendar(timezone="UTC", week=((Span(480, 720), Span(600, 780)),) + ((),) * 6)
    with pytest.raises(CalendarError, match="one entry per weekday"):
        BusinessCalendar(timezone="UTC", week=((Span(480, 720),),))
    with pytest.raises(CalendarError, match="cannot cross midnight"):
        Span(22 * 60, 6 * 60)
    with pytest.raises(CalendarError, match="outside the day"):
        Span(-30, 6 * 60)
    extra_as_mapping = BusinessCalendar(timezone="UTC", week=((Span(480, 720),),) + ((),) * 6,
                                        extra_working_days={date(2026, 1, 10): (Span(480, 720),)})
    assert extra_as_mapping.hours_on(date(2026, 1, 10)) == (Span(480, 720),)
    assert hash(extra_as_mapping) == hash(BusinessCalendar.from_dict(extra_as_mapping.to_dict()))
