"""Date triggers: every year on the day of a customer's date (a birthday), shifted by some days, at a local time
of day in the customer's own time zone. Entered once a year (the year is part of the entry key)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import extract, or_, select
from sqlalchemy.orm import Session

from xuyen.customers.models import CustomerProfile
from xuyen.journeys.flows import engine
from xuyen.journeys.flows.definition import DateTrigger
from xuyen.journeys.flows.models import Journey, JourneyStatus
from xuyen.journeys.policy.service import customer_timezone
from xuyen.journeys.policy.settings import DEFAULT_TIMEZONE

BIRTH_DATE_TRAITS = ("birthday", "birth_date", "birthdate")


def _day_of(value: Any) -> tuple[int, int] | None:
    """Month and day of a date or an ISO date text (``1990-12-06``), if it is one."""
    if isinstance(value, date):
        return value.month, value.day
    if isinstance(value, str) and len(value) >= 10:
        try:
            parsed = date.fromisoformat(value[:10])
        except ValueError:
            return None
        return parsed.month, parsed.day
    return None


def _anniversary(month: int, day: int, year: int) -> date:
    """That month and day in ``year`` (29 February falls on the 28th in other years)."""
    if (month, day) == (2, 29):
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 2, 28)
    return date(year, month, day)


def is_due(*, month_day: tuple[int, int], trigger: DateTrigger, now: datetime, timezone: str) -> str | None:
    """The year to enter for when the customer's day (shifted) is today in their zone and the hour has come."""
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = (int(part) for part in trigger.at.split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return None
    for year in (local.year - 1, local.year, local.year + 1):
        if _anniversary(*month_day, year) + timedelta(days=trigger.offset_days) == local.date():
            return str(year)
    return None


def _candidates(session: Session, trigger: DateTrigger, now: datetime) -> list[tuple[int, Any, dict[str, Any]]]:
    """Customers whose day, shifted, may be today somewhere (UTC date ± 1 covers every zone)."""
    days = {(now.date() + timedelta(days=shift - trigger.offset_days)) for shift in (-1, 0, 1)}
    if trigger.trait in BIRTH_DATE_TRAITS:
        column = CustomerProfile.birth_date
        wanted = or_(*[(extract("month", column) == day.month) & (extract("day", column) == day.day)
                       for day in days])
        rows: Any = session.execute(select(CustomerProfile.profile_id, column, CustomerProfile.traits).where(wanted))
        return [(profile_id, value, traits) for profile_id, value, traits in rows]
    text = CustomerProfile.traits[(trigger.trait, "value")].as_string()
    wanted = or_(*[text.like(f"%-{day.month:02d}-{day.day:02d}%") for day in days])
    found: Any = session.execute(select(CustomerProfile.profile_id, text, CustomerProfile.traits).where(wanted))
    return [(profile_id, value, traits) for profile_id, value, traits in found]


def enter_due(session: Session, *, now: datetime) -> int:
    """Enter everyone whose date has come into the live date journeys; how many entered (helper: no commit)."""
    entered = 0
    for journey in session.scalars(select(Journey).where(Journey.status == JourneyStatus.live,
                                                         Journey.trigger_kind == "date")):
        version = engine.live_version(session, journey)
        if version is None:
            continue
        trigger = engine.definition_of(session, version_id=version.id).trigger
        by_year: dict[str, list[int]] = {}
        for profile_id, value, traits in _candidates(session, trigger, now):
            month_day = _day_of(value)
            timezone = customer_timezone(dict(traits or {}), DEFAULT_TIMEZONE)
            year = is_due(month_day=month_day, trigger=trigger, now=now, timezone=timezone) if month_day else None
            if year is not None:
                by_year.setdefault(year, []).append(profile_id)
        for year, profile_ids in by_year.items():
            entered += len(engine.enrol(session, journey=journey, profile_ids=profile_ids, at=now, period=year,
                                        context={"date": {"trait": trigger.trait, "year": int(year)}}))
    return entered
