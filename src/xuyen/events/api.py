"""The events API for staff and machine clients: sources, quarantined calls and the event log (read only).

The tracking API itself (``/v1/track``, ``/v1/batch``, …) is in ``tracking.py``; this router is mounted
under ``/api/v1`` and needs the manager role or above.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.events import service
from xuyen.events.schemas import EventOut, QuarantinedOut, SourceOut
from xuyen.http import get_session
from xuyen.routing import Router

router = Router(tags=["events"])

MAX_ID = 2**31 - 1
MAX_LIMIT = 500
ID_LENGTH = 200

Db = Annotated[Session, Depends(get_session)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
SourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="The source's id.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"How many to return, newest first (at most "
                                                             f"{MAX_LIMIT}).")]
SourceFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this source's.")]


@router.get("/sources", summary="List sources")
def list_sources(session: Db, _caller: Manager) -> list[SourceOut]:
    """Every source by channel and name, with its write key prefix (never the key)."""
    return [SourceOut.of(source) for source in service.list_sources(session)]


@router.get("/sources/{source_id}/quarantine", summary="List a source's quarantined calls")
def list_source_quarantine(source_id: SourceId, session: Db, _caller: Manager,
                           limit: Limit = 100) -> list[QuarantinedOut]:
    """The source's newest quarantined calls with their position, reason and payload; 404 for no such source."""
    rows = service.list_quarantined_of_source(session, source_id=source_id, limit=limit)
    return [QuarantinedOut.model_validate(row) for row in rows]


@router.get("/quarantine", summary="List quarantined calls")
def list_quarantine(session: Db, _caller: Manager, source_id: SourceFilter = None,
                    limit: Limit = 100) -> list[QuarantinedOut]:
    """The newest quarantined calls of every source, or of ``source_id``."""
    rows = service.list_quarantined(session, source_id=source_id, limit=limit)
    return [QuarantinedOut.model_validate(row) for row in rows]


@router.get("/events", summary="List events")
def list_events(
    session: Db,
    _caller: Manager,
    source_id: SourceFilter = None,
    user_id: Annotated[str | None, Query(min_length=1, max_length=ID_LENGTH, description="Only this user id's.")]
    = None,
    anonymous_id: Annotated[str | None, Query(min_length=1, max_length=ID_LENGTH,
                                              description="Only this anonymous id's.")] = None,
    event: Annotated[str | None, Query(min_length=1, max_length=ID_LENGTH,
                                       description="Only track calls with this event name, e.g. Order Completed.")]
    = None,
    limit: Limit = 100,
) -> list[EventOut]:
    """The newest events (by when they happened), filtered by source, user id, anonymous id or event name."""
    rows = service.list_events(session, source_id=source_id, user_id=user_id, anonymous_id=anonymous_id,
                               event=event, limit=limit)
    return [EventOut.model_validate(row) for row in rows]
