"""The deals settings pages (managers): pipelines and their stages (add, rename, reorder, set the probability and
the won and lost stages, archive a stage once its deals are moved), the default pipeline, and the list of lost
reasons (add, rename, reorder, archive and bring back)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.errors import ValidationFailed, XuyenError
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.sales.deals import pipelines
from xuyen.sales.deals.models import Pipeline, StageKind
from xuyen.sales.deals.pipelines import DEFAULT_STAGES, MAX_STAGES, StageIn
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=200)]
FormList = Annotated[list[str] | None, Form()]
MAX_ID = 2**31 - 1
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
SETTINGS = "/deals/settings"

STAGE_KIND_LABELS = {"open": N_("Open stage"), "won": N_("Won stage"), "lost": N_("Lost stage")}
ERRORS: dict[str, str] = {
    "invalid_name": N_("Give it a name of at most 120 characters."),
    "pipeline_exists": N_("There is already a pipeline with that name."),
    "invalid_stages": N_("A pipeline has 3 to 20 stages, each with a name of its own (at most 80 characters): open "
                         "stages, one won stage and one lost stage."),
    "invalid_probability": N_("A stage's probability is a whole percent from 0 to 100."),
    "reason_exists": N_("That lost reason is on the list already."),
    "stage_has_deals": N_("“%(stage)s” still holds %(num)s deal(s): move them to another stage on the board "
                          "first, then archive it."),
    "kind_has_deals": N_("“%(stage)s” holds %(num)s deal(s): its kind cannot change while it does."),
}


def _actor(viewer: Viewer) -> str:
    return actor_name(viewer.principal)


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


def _problem(exc: XuyenError, *, action: str = "") -> dict[str, Any]:
    """What the page says about a refusal: the message id and its values, and the stage to look at."""
    code = exc.code
    if code == "stage_has_deals" and not action.startswith("archive:"):
        code = "kind_has_deals"
    return {"message": ERRORS.get(code, exc.message), "stage": exc.details.get("stage", ""),
            "num": exc.details.get("deals", 0), "stage_id": exc.details.get("stage_id")}


# The overview: pipelines and lost reasons ----------------------------------------------------------------


def _settings_page(request: Request, session: Session, *, problem: dict[str, Any] | None = None,
                   status_code: int = 200) -> Response:
    listed = pipelines.list_pipelines(session)
    return render(request, "deals/settings.html", {
        "pipelines": listed, "stages": {p.id: pipelines.stages_of(session, pipeline_id=p.id) for p in listed},
        "reasons": pipelines.lost_reasons(session, active_only=False), "problem": problem,
        "stage_kind_labels": STAGE_KIND_LABELS}, status_code=status_code)


@router.get(SETTINGS)
def settings_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The pipelines with their stages, and the lost reasons."""
    return _settings_page(request, session)


@router.post(f"{SETTINGS}/pipelines")
def add_pipeline(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                 name: FormText = "") -> Response:
    """A new pipeline with the usual stages, to be edited on its own page."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        pipeline = pipelines.create_pipeline(session, actor=_actor(viewer), name=name, stages=[
            StageIn(name=stage, probability=probability, kind=kind) for stage, probability, kind in DEFAULT_STAGES])
    except XuyenError as exc:
        session.rollback()
        return _settings_page(request, session, problem=_problem(exc), status_code=exc.status)
    return RedirectResponse(f"{SETTINGS}/pipelines/{pipeline.id}", status_code=303)


@router.post(f"{SETTINGS}/lost-reasons")
def add_reason(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
               name: FormText = "") -> Response:
    """Add a lost reason at the end of the list."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        pipelines.add_lost_reason(session, actor=_actor(viewer), name=name)
    except XuyenError as exc:
        session.rollback()
        return _settings_page(request, session, problem=_problem(exc), status_code=exc.status)
    return RedirectResponse(f"{SETTINGS}#lost-reasons", status_code=303)


@router.post(f"{SETTINGS}/lost-reasons/{{reason_id}}")
def change_reason(request: Request, session: DbSession, viewer: ManagerViewer, reason_id: ItemId,
                  csrf_token: FormText = "", name: FormText = "", action: FormText = "save") -> Response:
    """Rename a lost reason, move it up or down, archive it or bring it back."""
    check_csrf(viewer.auth_session, csrf_token)
    reason = pipelines.get_lost_reason(session, reason_id=reason_id)
    order = [other.id for other in pipelines.lost_reasons(session, active_only=False)]
    here = order.index(reason.id)
    choices: dict[str, dict[str, Any]] = {
        "save": {"name": name}, "up": {"position": max(here - 1, 0)}, "down": {"position": here + 1},
        "archive": {"is_active": False}, "restore": {"is_active": True}}
    changes = choices.get(action, choices["save"])
    try:
        pipelines.update_lost_reason(session, reason_id=reason.id, actor=_actor(viewer), **changes)
    except XuyenError as exc:
        session.rollback()
        return _settings_page(request, session, problem=_problem(exc), status_code=exc.status)
    return RedirectResponse(f"{SETTINGS}#lost-reasons", status_code=303)


# One pipeline and its stages -------------------------------------------------------------------------------


def _pipeline_page(request: Request, session: Session, pipeline: Pipeline, *,
                   problem: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    return render(request, "deals/pipeline_settings.html", {
        "pipeline": pipeline, "stages": pipelines.stages_of(session, pipeline_id=pipeline.id),
        "counts": pipelines.deal_counts(session, pipeline_id=pipeline.id), "problem": problem,
        "stage_kind_labels": STAGE_KIND_LABELS, "kinds": [kind.value for kind in StageKind], "max_stages": MAX_STAGES},
        status_code=status_code)


@router.get(f"{SETTINGS}/pipelines/{{pipeline_id}}")
def pipeline_page(request: Request, session: DbSession, viewer: ManagerViewer, pipeline_id: ItemId) -> Response:
    """A pipeline's name, whether it is the default, and its stages in board order."""
    return _pipeline_page(request, session, pipelines.get_pipeline(session, pipeline_id=pipeline_id))


@router.post(f"{SETTINGS}/pipelines/{{pipeline_id}}")
def rename_pipeline(request: Request, session: DbSession, viewer: ManagerViewer, pipeline_id: ItemId,
                    csrf_token: FormText = "", name: FormText = "", is_default: FormText = "") -> Response:
    """Rename the pipeline, and make it the default for new deals when asked."""
    check_csrf(viewer.auth_session, csrf_token)
    pipeline = pipelines.get_pipeline(session, pipeline_id=pipeline_id)
    try:
        pipelines.update_pipeline(session, pipeline_id=pipeline.id, actor=_actor(viewer), name=name,
                                  is_default=True if is_default else None)
    except XuyenError as exc:
        session.rollback()
        return _pipeline_page(request, session, pipeline, problem=_problem(exc), status_code=exc.status)
    return RedirectResponse(f"{SETTINGS}/pipelines/{pipeline.id}", status_code=303)


def _given_stages(stage_id: list[str], name: list[str], probability: list[str], kind: list[str]) -> list[StageIn]:
    """The stages as the form sent them, in order; ValidationFailed for a malformed row."""
    if not len(stage_id) == len(name) == len(probability) == len(kind) or len(stage_id) > MAX_STAGES:
        raise ValidationFailed("The stages form was not sent whole.", code="invalid_stages")
    rows = []
    for raw_id, raw_name, raw_probability, raw_kind in zip(stage_id, name, probability, kind, strict=True):
        percent = raw_probability.strip()
        if not percent.isdigit() or len(percent) > 3:
            raise ValidationFailed("A probability is a whole percent.", code="invalid_probability")
        if raw_kind not in StageKind.__members__ or (raw_id and _id(raw_id) is None):
            raise ValidationFailed("The stages form was not sent whole.", code="invalid_stages")
        rows.append(StageIn(name=raw_name[:200], probability=int(percent), kind=StageKind(raw_kind),
                            id=_id(raw_id)))
    return rows


def _apply(rows: list[StageIn], action: str) -> list[StageIn]:
    """The stages after the button pressed: ``up:<id>``, ``down:<id>``, ``archive:<id>``, or ``save``."""
    verb, _sep, target = action.partition(":")
    index = next((i for i, row in enumerate(rows) if row.id is not None and str(row.id) == target), None)
    if index is None:
        return rows
    if verb == "archive":
        return rows[:index] + rows[index + 1:]
    other = index - 1 if verb == "up" else index + 1 if verb == "down" else index
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
    return rows


@router.post(f"{SETTINGS}/pipelines/{{pipeline_id}}/stages")
def save_stages(request: Request, session: DbSession, viewer: ManagerViewer, pipeline_id: ItemId,
                csrf_token: FormText = "", stage_id: FormList = None, name: FormList = None,
                probability: FormList = None, kind: FormList = None, action: FormText = "save") -> Response:
    """Save the stages' names, probabilities and kinds, and move one up or down or archive it."""
    check_csrf(viewer.auth_session, csrf_token)
    pipeline = pipelines.get_pipeline(session, pipeline_id=pipeline_id)
    try:
        rows = _apply(_given_stages(stage_id or [], name or [], probability or [], kind or []), action)
        pipelines.update_pipeline(session, pipeline_id=pipeline.id, actor=_actor(viewer), stages=rows)
    except XuyenError as exc:
        session.rollback()
        return _pipeline_page(request, session, pipeline, problem=_problem(exc, action=action),
                              status_code=exc.status)
    return RedirectResponse(f"{SETTINGS}/pipelines/{pipeline.id}", status_code=303)


@router.post(f"{SETTINGS}/pipelines/{{pipeline_id}}/stages/new")
def add_stage(request: Request, session: DbSession, viewer: ManagerViewer, pipeline_id: ItemId,
              csrf_token: FormText = "", name: FormText = "", probability: FormText = "") -> Response:
    """Add an open stage after the last open one (before the won and lost stages)."""
    check_csrf(viewer.auth_session, csrf_token)
    pipeline = pipelines.get_pipeline(session, pipeline_id=pipeline_id)
    current = [StageIn(name=s.name, probability=s.probability, kind=s.kind, id=s.id)
               for s in pipelines.stages_of(session, pipeline_id=pipeline.id)]
    try:
        percent = probability.strip()
        if not percent.isdigit() or len(percent) > 3:
            raise ValidationFailed("A probability is a whole percent.", code="invalid_probability")
        after = max((i for i, s in enumerate(current) if s.kind is StageKind.open), default=-1) + 1
        current.insert(after, StageIn(name=name, probability=int(percent)))
        pipelines.update_pipeline(session, pipeline_id=pipeline.id, actor=_actor(viewer), stages=current)
    except XuyenError as exc:
        session.rollback()
        return _pipeline_page(request, session, pipeline, problem=_problem(exc), status_code=exc.status)
    return RedirectResponse(f"{SETTINGS}/pipelines/{pipeline.id}", status_code=303)
