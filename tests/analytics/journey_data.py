"""Customers' events for the funnel, attribution and readiness tests, recorded through the event log's own
service (the identity graph resolves them to profiles), at days of March 2026 in Hà Nội."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics.filters import Filters
from xuyen.events.models import ChannelType, EventType
from xuyen.events.service import add_source, channel_call, record_channel_calls

_numbers = itertools.count(1)
MARCH = Filters(first=date(2026, 3, 1), last=date(2026, 3, 31), timezone="Asia/Ho_Chi_Minh")


def at(day: int, hour: int = 3, month: int = 3) -> datetime:
    """A moment of 2026 in UTC (03:00 UTC is 10:00 in Hà Nội, the same local day)."""
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def before(moment: datetime, days: float) -> datetime:
    """``days`` before ``moment``."""
    return moment - timedelta(days=days)


class Shop:
    """One event source per channel, made on first use."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sources: dict[str, int] = {}

    def source(self, channel: str, store_id: int | None = None) -> int:
        """The source of ``channel`` (and store)."""
        key = f"{channel}:{store_id}"
        if key not in self.sources:
            self.sources[key] = add_source(self.session, name=f"Nguồn {key}", channel=ChannelType(channel),
                                           store_id=store_id)[0].id
        return self.sources[key]

    def record(self, channel: str, when: datetime, event: str | None = None, *, phone: str | None = None,
               email: str | None = None, ids: list[tuple[str, str, str | None]] | None = None,
               kind: EventType = EventType.track, store_id: int | None = None, **properties: Any) -> int:
        """One call for the person with these identifiers; returns their profile (committed)."""
        identifiers = list(ids or [])
        if phone:
            identifiers.append(("phone", phone, None))
        if email:
            identifiers.append(("email", email, None))
        call = channel_call(event=event or "", message_id=f"journey-test-{next(_numbers)}", identifiers=identifiers,
                            timestamp=when, properties=properties)
        if kind is not EventType.track:
            call = replace(call, type=kind, event=None, name=event or "Trang chủ")
        profile = record_channel_calls(self.session, calls=[(self.source(channel, store_id), call)])[0]
        self.session.commit()
        assert profile is not None
        return profile

    def page(self, channel: str, when: datetime, **who: Any) -> int:
        """A page view."""
        return self.record(channel, when, "Trang chủ", kind=EventType.page, **who)
