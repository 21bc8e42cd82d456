"""The policy's time rules on their own: sending hours across midnight and across a daylight-saving change, and
exactly when a rolling-window cap opens again."""

from __future__ import annotations

from datetime import datetime

from tests.journeys.policy.conftest import utc
from xuyen.journeys.policy.timing import cap_frees_at, next_allowed, within_hours


def in_berlin(at: datetime) -> datetime:
    """The next moment between 07:00 and 22:00 in Berlin."""
    return next_allowed(at, timezone="Europe/Berlin", allowed_from=7 * 60, allowed_until=22 * 60)


def test_sending_hours_may_run_across_midnight() -> None:
    assert within_hours(23 * 60, allowed_from=20 * 60, allowed_until=2 * 60)
    assert within_hours(60, allowed_from=20 * 60, allowed_until=2 * 60)
    assert not within_hours(2 * 60, allowed_from=20 * 60, allowed_until=2 * 60)
    assert not within_hours(22 * 60, allowed_from=7 * 60, allowed_until=22 * 60)


def test_the_next_morning_is_found_across_a_daylight_saving_change() -> None:
    assert in_berlin(utc("2027-03-28 04:00")) == utc("2027-03-28 05:00")  # 06:00 CEST → 07:00 CEST
    assert in_berlin(utc("2027-03-27 22:00")) == utc("2027-03-28 05:00")  # 23:00 CET → 07:00 CEST
    assert in_berlin(utc("2027-10-30 21:30")) == utc("2027-10-31 06:00")  # 23:30 CEST → 07:00 CET


def test_a_cap_opens_when_the_oldest_counted_message_leaves_the_window() -> None:
    sent = [utc("2026-12-07 01:00"), utc("2026-12-07 02:00"), utc("2026-12-07 03:00")]
    assert cap_frees_at(sent[:2], at=utc("2026-12-07 04:00"), limit=3, hours=24) is None
    assert cap_frees_at(sent, at=utc("2026-12-07 04:00"), limit=3, hours=24) == utc("2026-12-08 01:00")
    assert cap_frees_at(sent, at=utc("2026-12-07 04:00"), limit=2, hours=24) == utc("2026-12-08 02:00")
    assert cap_frees_at(sent, at=utc("2026-12-08 01:00"), limit=3, hours=24) is None
    assert cap_frees_at([], at=utc("2026-12-08 01:00"), limit=0, hours=24) is not None
