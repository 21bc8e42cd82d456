"""The segment pages: the list with member counts (``/segments``), a new segment, and one segment's page with its
rule as text, the JSON editor, a preview before saving, its members and their CSV."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.errors import XuyenError
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.segments import service
from xuyen.segments.text import describe
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
StaffViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
SegmentId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=20_000)]
EXAMPLE = {"all": [{"did": "Order Completed", "times": 2, "days": 90}, {"province": "Hà Nội"}]}


def _json(definition: Any) -> str:
    return json.dumps(definition, ensure_ascii=False, indent=2)


def _read(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise XuyenError(f"The rule is not valid JSON: {exc}", code="invalid_json") from None


@router.get("/segments")
def segments_page(request: Request, session: DbSession, viewer: StaffViewer) -> Response:
    """Every segment with its rule read out and its member count."""
    rows = [{"segment": segment, "rule": service.rule_of(segment)} for segment in service.list_segments(session)]
    return render(request, "segments/list.html", {"rows": rows, "describe": describe})


def _editor(request: Request, *, segment: Any = None, name: str = "", description: str = "", definition: str = "",
            preview: service.Preview | None = None, error: str = "", status_code: int = 200,
            members: list[Any] | None = None) -> Response:
    return render(request, "segments/detail.html", {
        "segment": segment, "name": name, "description": description, "definition": definition,
        "preview": preview, "error": error, "members": members or [], "describe": describe,
        "rule": service.rule_of(segment) if segment is not None else None}, status_code=status_code)


@router.get("/segments/new")
def new_segment_page(request: Request, viewer: ManagerViewer) -> Response:
    """An empty segment with an example rule to start from."""
    return _editor(request, definition=_json(EXAMPLE))


@router.get("/segments/{segment_id}")
def segment_page(request: Request, session: DbSession, viewer: StaffViewer, segment_id: SegmentId) -> Response:
    """One segment: its rule, its first members, the editor for managers."""
    segment = service.get_segment(session, segment_id=segment_id)
    return _editor(request, segment=segment, name=segment.name, description=segment.description,
                   definition=_json(segment.definition),
                   members=service.members(session, segment_id=segment.id, limit=50))


@router.post("/segments/save")
def save_segment(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                 segment_id: FormText = "", name: FormText = "", description: FormText = "",
                 definition: FormText = "", action: FormText = "save") -> Response:
    """Preview the rule (nothing saved), or save a new or changed segment."""
    check_csrf(viewer.auth_session, csrf_token)
    existing = service.get_segment(session, segment_id=int(segment_id)) if segment_id.isdigit() else None
    try:
        rule = _read(definition)
        if action == "preview":
            return _editor(request, segment=existing, name=name, description=description, definition=definition,
                           preview=service.preview(session, definition=rule))
        actor = actor_name(viewer.principal)
        if existing is None:
            saved = service.create_segment(session, name=name, description=description, definition=rule, actor=actor)
        else:
            saved = service.update_segment(session, segment_id=existing.id, name=name, description=description,
                                           definition=rule, actor=actor)
    except XuyenError as exc:
        session.rollback()
        return _editor(request, segment=existing, name=name, description=description, definition=definition,
                       error=exc.message, status_code=422)
    return RedirectResponse(f"/segments/{saved.id}", status_code=303)


@router.post("/segments/{segment_id}/delete")
def delete_segment(session: DbSession, viewer: ManagerViewer, segment_id: SegmentId,
                   csrf_token: FormText = "") -> Response:
    """Remove the segment."""
    check_csrf(viewer.auth_session, csrf_token)
    service.delete_segment(session, segment_id=segment_id, actor=actor_name(viewer.principal))
    return RedirectResponse("/segments", status_code=303)


@router.get("/segments/{segment_id}/members.csv")
def export_members(session: DbSession, viewer: ManagerViewer, segment_id: SegmentId) -> Response:
    """The members as CSV."""
    text = service.export_csv(session, segment_id=segment_id, actor=actor_name(viewer.principal))
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'})
