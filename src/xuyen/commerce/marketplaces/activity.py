"""The activity log: what the sync received, imported, pushed and found, for the people who run the shops."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.marketplaces.models import ActivityEntry, ActivityKind, ActivityLevel

MAX_PAGE = 200


def log(session: Session, *, connection_id: int | None, kind: ActivityKind, message: str,
        level: ActivityLevel = ActivityLevel.info, details: dict[str, Any] | None = None) -> ActivityEntry:
    """Add an entry to the log (helper: no commit)."""
    entry = ActivityEntry(connection_id=connection_id, kind=kind, level=level, message=message[:2000],
                          details=details or {}, created_at=utcnow())
    session.add(entry)
    return entry


def list_activity(session: Session, *, connection_id: int | None = None, kind: ActivityKind | None = None,
                  level: ActivityLevel | None = None, before_id: int | None = None,
                  limit: int = 50) -> list[ActivityEntry]:
    """The newest entries first, filtered by shop, kind and level; ``before_id`` pages back."""
    query = select(ActivityEntry).order_by(ActivityEntry.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if connection_id is not None:
        query = query.where(ActivityEntry.connection_id == connection_id)
    if kind is not None:
        query = query.where(ActivityEntry.kind == kind)
    if level is not None:
        query = query.where(ActivityEntry.level == level)
    if before_id is not None:
        query = query.where(ActivityEntry.id < before_id)
    return list(session.scalars(query))
