"""The event log's items on the customer timeline: every identify, track, page and screen call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.events.profiles import timeline_page


def _title(event_type: str, event: str | None, name: str | None) -> str:
    if event_type == "track":
        return event or ""
    return name or ""


@timeline_provider("event")
def event_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                limit: int) -> list[TimelineItem]:
    """The profiles' events as timeline items, newest first."""
    return [TimelineItem(at=event.timestamp, kind="event", seq=event.id, channel=event.channel,
                         title=_title(event.type, event.event, event.name), source=event.source_name,
                         data={"type": event.type, "event": event.event, "name": event.name,
                               "source_id": event.source_id, "properties": event.properties,
                               "traits": event.traits})
            for event in timeline_page(session, profile_ids=profile_ids, before=before, limit=limit)]
