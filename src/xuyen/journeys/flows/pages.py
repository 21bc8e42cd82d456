"""The journey pages: the list with each journey's figures (``/journeys``), a new journey, one journey's page (its
flow drawn with each step's figures, the results against the holdout, publish / pause / resume / archive) and the
editor that builds the flow as a diagram and saves it as the draft. Every staff member reads; managers change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.errors import NotFound, ValidationFailed, XuyenError
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name
from xuyen.journeys.flows import results, service
from xuyen.journeys.policy.settings import CHANNELS
from xuyen.routing import Router
from xuyen.ui import journey_editor
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render, request_locale

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
StaffViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
JourneyId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=2000)]
DefinitionText = Annotated[str, Form(max_length=journey_editor.MAX_FORM_CHARS)]

ACTIONS: dict[str, Callable[..., Any]] = {"publish": service.publish, "pause": service.pause, "resume": service.resume,
                                          "archive": service.archive, "broadcast": service.start_broadcast}
ERRORS: dict[str, str] = {
    "invalid_journey": N_("The journey was not saved: correct the steps marked below."),
    "invalid_json": N_("The journey is not valid JSON."),
    "definition_too_large": N_("The journey is too large to save."),
    "journey_too_large": N_("The journey is too large to save."),
    "journey_archived": N_("An archived journey cannot be changed."),
    "invalid_journey_name": N_("A journey's name has 1 to 200 characters."),
    "journey_name_taken": N_("Another journey has this name."),
    "journey_not_live": N_("Publish the journey before sending it."),
    "not_a_broadcast": N_("Only a broadcast journey is sent by hand; this one starts by its trigger."),
}


PUBLISH_REFUSED = N_("The draft cannot be published yet: open the editor and correct the steps marked there.")


def _error_text(exc: XuyenError) -> str:
    known = ERRORS.get(exc.code or "")
    return known if known else exc.message


@router.get("/journeys")
def journeys_page(request: Request, session: DbSession, viewer: StaffViewer) -> Response:
    """Every journey with its status, live version and how many customers entered it and are in it now."""
    rows = [{"journey": journey, "figures": results.journey_results(session, journey_id=journey.id)}
            for journey in service.list_journeys(session)]
    return render(request, "journeys/list.html", {"rows": rows, "statuses": journey_editor.STATUS_LABELS})


@router.get("/journeys/new")
def new_journey_page(request: Request, viewer: ManagerViewer) -> Response:
    """The form that names a new journey."""
    return render(request, "journeys/new.html", {"name": "", "description": "", "error": ""})


@router.post("/journeys/new")
def create_journey(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                   name: FormText = "", description: FormText = "") -> Response:
    """Create the journey with an empty draft and open its editor."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        journey = service.create_journey(session, name=name, description=description,
                                         actor=actor_name(viewer.principal))
    except XuyenError as exc:
        session.rollback()
        return render(request, "journeys/new.html", {"name": name, "description": description,
                                                     "error": _error_text(exc)}, status_code=exc.status)
    return RedirectResponse(f"/journeys/{journey.id}/edit", status_code=303)


def _diagram(request: Request, session: Session, viewer: Viewer, *, definition: Any, editable: bool,
             stats: dict[str, dict[str, str]] | None = None, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON the diagram's script reads: the flow, the pickers' choices, its words, figures and errors."""
    locale = request_locale(request, viewer)
    return {"definition": definition, "editable": editable, "stats": stats, "errors": errors or {},
            "channels": list(CHANNELS),
            "options": service.editor_options(session),
            "strings": journey_editor.editor_strings(locale)}


@router.get("/journeys/{journey_id}")
def journey_page(request: Request, session: DbSession, viewer: StaffViewer, journey_id: JourneyId) -> Response:
    """One journey: its flow with each step's figures, its results, and the buttons that change its status."""
    return _journey_page(request, session, viewer, journey_id)


def _journey_page(request: Request, session: Session, viewer: Viewer, journey_id: int, *, error: str = "",
                  status_code: int = 200) -> Response:
    journey = service.get_journey(session, journey_id=journey_id)
    locale = request_locale(request, viewer)
    stats = journey_editor.formatted_stats(results.node_stats(session, journey_id=journey.id), locale)
    definition = service.get_version(session, journey_id=journey.id).definition if journey.live_version \
        else journey.draft
    return render(request, "journeys/detail.html", {
        "journey": journey, "results": results.journey_results(session, journey_id=journey.id),
        "statuses": journey_editor.STATUS_LABELS, "error": error, "can_manage": viewer.can(Role.manager),
        "steps": journey_editor.step_rows(definition or {}, stats),
        "broadcast": journey.live_version is not None and (definition or {}).get("trigger", {}).get("type")
        == "broadcast",
        "diagram": _diagram(request, session, viewer, definition=definition, editable=False, stats=stats)},
        status_code=status_code)


def _editor(request: Request, session: Session, viewer: Viewer, journey: Any, *, definition: Any,
            errors: dict[str, str] | None = None, error: str = "", saved: bool = False, source: str | None = None,
            status_code: int = 200) -> Response:
    editable = viewer.can(Role.manager) and journey.status != "archived"
    return render(request, "journeys/edit.html", {
        "journey": journey, "statuses": journey_editor.STATUS_LABELS, "error": error, "errors": errors or {},
        "saved": saved, "editable": editable,
        "source": source if source is not None else json.dumps(definition, ensure_ascii=False, indent=2),
        "diagram": _diagram(request, session, viewer, definition=definition, editable=editable, errors=errors)},
        status_code=status_code)


@router.get("/journeys/{journey_id}/edit")
def edit_page(request: Request, session: DbSession, viewer: StaffViewer, journey_id: JourneyId,
              saved: bool = False) -> Response:
    """The editor on the journey's draft (read-only for agents)."""
    journey = service.get_journey(session, journey_id=journey_id)
    return _editor(request, session, viewer, journey, definition=journey.draft, saved=saved)


@router.post("/journeys/{journey_id}/draft")
def save_draft(request: Request, session: DbSession, viewer: ManagerViewer, journey_id: JourneyId,
               csrf_token: FormText = "", definition: DefinitionText = "") -> Response:
    """Save the edited flow as the draft; a refused one comes back with each problem on its step."""
    check_csrf(viewer.auth_session, csrf_token)
    journey = service.get_journey(session, journey_id=journey_id)
    submitted: Any = None
    try:
        submitted = journey_editor.read_definition(definition)
        service.save_draft(session, journey_id=journey.id, definition=submitted, actor=actor_name(viewer.principal))
    except XuyenError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        journey = service.get_journey(session, journey_id=journey_id)
        errors = journey_editor.refused_paths(exc) if isinstance(exc, ValidationFailed) and \
            exc.code == "invalid_journey" else {}
        return _editor(request, session, viewer, journey, definition=submitted or journey.draft, errors=errors,
                       error=_error_text(exc), source=definition if exc.code == "invalid_json" else None,
                       status_code=exc.status)
    return RedirectResponse(f"/journeys/{journey_id}/edit?saved=true", status_code=303)


@router.post("/journeys/{journey_id}/{action}")
def change_status(request: Request, session: DbSession, viewer: ManagerViewer, journey_id: JourneyId, action: str,
                  csrf_token: FormText = "") -> Response:
    """Publish the draft, pause, resume or archive the journey, or send a broadcast journey now."""
    check_csrf(viewer.auth_session, csrf_token)
    act = ACTIONS.get(action)
    if act is None:
        raise NotFound("There is no such page.", code="not_found")
    try:
        act(session, journey_id=journey_id, actor=actor_name(viewer.principal))
    except XuyenError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        text = PUBLISH_REFUSED if exc.code == "invalid_journey" else _error_text(exc)
        return _journey_page(request, session, viewer, journey_id, error=text, status_code=exc.status)
    return RedirectResponse(f"/journeys/{journey_id}", status_code=303)
