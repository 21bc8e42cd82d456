"""The segments API: managers define segments, staff read them, their members and their CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.segments import service
from xuyen.segments.schemas import MemberOut, PreviewIn, PreviewOut, SegmentIn, SegmentOut, SegmentPatch

router = Router(tags=["segments"])

Db = Annotated[Session, Depends(get_session)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Staff = Annotated[Principal, Depends(require_role(Role.agent))]
SegmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/segments", summary="Every segment")
def list_segments(session: Db, _caller: Staff) -> list[SegmentOut]:
    return [SegmentOut.of(segment) for segment in service.list_segments(session)]


@router.post("/segments", status_code=201, summary="Define a segment (its members are computed at once)")
def create_segment(body: SegmentIn, session: Db, caller: Manager) -> SegmentOut:
    return SegmentOut.of(service.create_segment(session, name=body.name, definition=body.definition,
                                                description=body.description, actor=actor_name(caller)))


@router.post("/segments/preview", summary="What a rule would hold now, without saving it")
def preview(body: PreviewIn, session: Db, _caller: Manager) -> PreviewOut:
    found = service.preview(session, definition=body.definition)
    return PreviewOut(count=found.count, sample=[MemberOut.of(row) for row in found.sample], text_vi=found.text_vi,
                      text_en=found.text_en)


@router.get("/segments/{segment_id}", summary="One segment")
def get_segment(segment_id: SegmentId, session: Db, _caller: Staff) -> SegmentOut:
    return SegmentOut.of(service.get_segment(session, segment_id=segment_id))


@router.patch("/segments/{segment_id}", summary="Change a segment")
def update_segment(segment_id: SegmentId, body: SegmentPatch, session: Db, caller: Manager) -> SegmentOut:
    return SegmentOut.of(service.update_segment(session, segment_id=segment_id, actor=actor_name(caller),
                                                name=body.name, description=body.description,
                                                definition=body.definition))


@router.delete("/segments/{segment_id}", status_code=204, summary="Remove a segment")
def delete_segment(segment_id: SegmentId, session: Db, caller: Manager) -> None:
    service.delete_segment(session, segment_id=segment_id, actor=actor_name(caller))


@router.post("/segments/{segment_id}/refresh", summary="Compute a segment's members now")
def refresh_segment(segment_id: SegmentId, session: Db, _caller: Manager) -> dict[str, int]:
    change = service.refresh_segment(session, segment_id=segment_id)
    return {"entered": len(change.entered), "exited": len(change.exited)}


@router.get("/segments/{segment_id}/members", summary="A page of a segment's members")
def list_members(segment_id: SegmentId, session: Db, _caller: Staff,
                 after: Annotated[int, Query(ge=0)] = 0,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[MemberOut]:
    return [MemberOut.of(row) for row in service.members(session, segment_id=segment_id, after=after, limit=limit)]


@router.get("/segments/{segment_id}/members.csv", summary="A segment's members as CSV (managers)")
def export_members(segment_id: SegmentId, session: Db, caller: Manager) -> Response:
    text = service.export_csv(session, segment_id=segment_id, actor=actor_name(caller))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'})
