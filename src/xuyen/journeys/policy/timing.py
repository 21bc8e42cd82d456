"""Pure time rules of the policy: sending hours in a time zone, and rolling-window frequency caps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

NEVER = datetime.max.replace(tzinfo=UTC)  # when a cap of 0 opens


def _minute_of_day(moment: datetime) -> int:
    return moment.hour * 60 + moment.minute


def within_hours(minute: int, *, allowed_from: int, allowed_until: int) -> bool:
    """Whether a minute of the day lies in the sending hours [from, until), which may run across midnight."""
    if allowed_from < allowed_until:
        return allowed_from <= minute < allowed_until
    return minute >= allowed_from or minute < allowed_until


def next_allowed(at: datetime, *, timezone: str, allowed_from: int, allowed_until: int) -> datetime:
    """``at`` itself when it lies in the sending hours of ``timezone``, else the next moment that does (UTC)."""
    local = at.astimezone(ZoneInfo(timezone))
    if within_hours(_minute_of_day(local), allowed_from=allowed_from, allowed_until=allowed_until):
        return at
    start = local.replace(hour=allowed_from // 60, minute=allowed_from % 60, second=0, microsecond=0)
    if start <= local:
        start = (start.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=local.tzinfo)
    return start.astimezone(UTC)


def cap_frees_at(sent: Sequence[datetime], *, at: datetime, limit: int, hours: int) -> datetime | None:
    """None when one more message fits the cap at ``at``; else when the next slot opens (the moment enough of the
    ``sent`` times, oldest first, have left the rolling window). A limit of 0 never opens: ``NEVER``."""
    window = timedelta(hours=hours)
    inside = sorted(moment for moment in sent if at - window < moment <= at)
    if len(inside) < limit:
        return None
    if limit == 0:
        return NEVER
    return inside[len(inside) - limit] + window
