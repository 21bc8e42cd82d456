"""What every dashboard is filtered by: a range of local days, a sales channel and a store.

Days are the shop's business days in its time zone (``settings.default_timezone``, Asia/Ho_Chi_Minh unless set):
an order placed at 23:30 in Hà Nội on 1 March belongs to 1 March, whatever UTC says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.config import get_settings
from xuyen.errors import ValidationFailed

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
STANDARD = frozenset({"from", "to", "channel", "store"})
MAX_OPTIONS, MAX_OPTION_CHARS = 8, 40


@dataclass(frozen=True)
class Filters:
    """A dashboard's filters: the local days ``first``..``last`` (both included), and optionally one sales channel
    and one store."""

    first: date
    last: date
    channel: SalesChannel | None = None
    store_id: int | None = None
    timezone: str = "Asia/Ho_Chi_Minh"
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def days(self) -> int:
        """How many days the range holds."""
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """The range's first moment, in UTC."""
        return local_midnight(self.first, self.timezone)

    @property
    def end(self) -> datetime:
        """The moment after the range's last day ends, in UTC (exclusive)."""
        return local_midnight(self.last + timedelta(days=1), self.timezone)

    def previous(self) -> Filters:
        """The same number of days just before this range (for "compared with the period before")."""
        return replace(self, first=self.first - timedelta(days=self.days), last=self.first - timedelta(days=1))

    def with_options(self, **options: str) -> Filters:
        """These filters with a page's own choices added (empty values left out)."""
        return replace(self, options={**self.options, **{name: value for name, value in options.items() if value}})

    def as_query(self) -> dict[str, str]:
        """The filters as the query parameters that give them back (for links and exports)."""
        query = {**self.options, "from": self.first.isoformat(), "to": self.last.isoformat()}
        if self.channel is not None:
            query["channel"] = self.channel.value
        if self.store_id is not None:
            query["store"] = str(self.store_id)
        return query


def business_timezone() -> str:
    """The shop's time zone, in which days are counted."""
    return get_settings().default_timezone


def local_midnight(day: date, timezone: str) -> datetime:
    """The UTC moment ``day`` starts in ``timezone``."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_day(moment: datetime, timezone: str) -> date:
    """The local day ``moment`` falls on in ``timezone``."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def today(timezone: str | None = None) -> date:
    """Today in the shop's time zone (or ``timezone``)."""
    return local_day(utcnow(), timezone or business_timezone())


def parse(*, first: str | None = None, last: str | None = None, channel: str | None = None,
          store: str | None = None, timezone: str | None = None) -> Filters:
    """Filters from query-string values; empty values take the defaults (the last 30 days up to today, every
    channel, every store). Raises ``ValidationFailed`` (code ``invalid_filters``) saying which value is wrong."""
    zone = timezone or business_timezone()
    last_day = _day(last, "to") if last else today(zone)
    first_day = _day(first, "from") if first else last_day - timedelta(days=DEFAULT_DAYS - 1)
    if first_day > last_day:
        raise ValidationFailed("The first day comes after the last day: swap them.", code="invalid_filters",
                               details={"from": first_day.isoformat(), "to": last_day.isoformat()})
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise ValidationFailed(f"A range holds at most {MAX_DAYS} days: choose a shorter one.",
                               code="invalid_filters", details={"days": (last_day - first_day).days + 1})
    return Filters(first=first_day, last=last_day, channel=_channel(channel), store_id=_store(store), timezone=zone)


def page_options(query: Mapping[str, str]) -> dict[str, str]:
    """A page's own query parameters (every one but the shared filters), for its downloads; ``ValidationFailed``
    when there are too many or one is too long."""
    options = {name: value for name, value in query.items() if name not in STANDARD}
    if len(options) > MAX_OPTIONS or any(len(name) > MAX_OPTION_CHARS or len(value) > MAX_OPTION_CHARS
                                         for name, value in options.items()):
        raise ValidationFailed(f"At most {MAX_OPTIONS} page options of up to {MAX_OPTION_CHARS} characters each.",
                               code="invalid_filters", details={"options": sorted(options)[:MAX_OPTIONS + 1]})
    return options


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"'{name}' is not a date: write it as YYYY-MM-DD.", code="invalid_filters",
                               details={name: value[:40]}) from None


def _channel(value: str | None) -> SalesChannel | None:
    if not value:
        return None
    try:
        return SalesChannel(value)
    except ValueError:
        known = ", ".join(channel.value for channel in SalesChannel)
        raise ValidationFailed(f"Unknown sales channel: choose one of {known}.", code="invalid_filters",
                               details={"channel": value[:40]}) from None


def _store(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 2**31 - 1:
        raise ValidationFailed("'store' is a store's number.", code="invalid_filters", details={"store": value[:40]})
    return int(value)
