"""Tasks on the pages: my tasks (overdue first, then today's, then the coming ones; managers see their scope and
filter by owner) with a quick "done" and the call's outcome, the new-task form, the tasks panel of the customer 360
page, my reminders, and the reminders' count in the page header. Times are shown in the viewer's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.auth.models import Role, User
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.graph import resolve_profile_ids
from xuyen.routing import Router
from xuyen.sales.tasks import reminders, service
from xuyen.sales.tasks.models import CallOutcome, Task, TaskKind, TaskStatus
from xuyen.sales.tasks.service import MAX_NOTES, MAX_TITLE, TaskFilter
from xuyen.ui.deps import Viewer, check_csrf, page_user
from xuyen.ui.panels import customer_panel
from xuyen.ui.rendering import header_link, render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
PageViewer = Annotated[Viewer, Depends(page_user)]
FormText = Annotated[str, Form(max_length=MAX_NOTES)]
TaskId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
PAGE_LIMIT = 500
PANEL_DONE = 5

KIND_LABELS: dict[str, str] = {TaskKind.call: N_("Call"), TaskKind.meeting: N_("Meeting"),
                               TaskKind.follow_up: N_("Follow-up"), TaskKind.other: N_("Other task")}
OUTCOME_LABELS: dict[str, str] = {
    CallOutcome.reached: N_("Reached"), CallOutcome.no_answer: N_("No answer"), CallOutcome.busy: N_("Busy"),
    CallOutcome.wrong_number: N_("Wrong number"), CallOutcome.call_back_later: N_("Call back later")}
STATUS_LABELS: dict[str, str] = {TaskStatus.open: N_("Open"), TaskStatus.done: N_("Done"),
                                 TaskStatus.cancelled: N_("Cancelled")}
ERRORS: dict[str, str] = {
    "invalid_title": N_("Give the task a title of at most 200 characters."),
    "invalid_notes": N_("The notes are too long."),
    "invalid_note": N_("The note is too long."),
    "invalid_due": N_("Choose when the task is due."),
    "remind_after_due": N_("The reminder must come before the task is due."),
    "invalid_owner": N_("Choose an active member of staff to own the task."),
    "customer_not_found": N_("That customer does not exist (any more)."),
    "outcome_required": N_("Say how the call went."),
    "outcome_for_calls_only": N_("Only calls have an outcome."),
    "task_not_open": N_("This task was done or cancelled already."),
    "task_open": N_("This task is open already."),
    "outside_scope": N_("You may not give a task to someone outside your branch or team."),
    "task_not_found": N_("That task does not exist or is not yours to see."),
}


@dataclass(frozen=True)
class TaskRow:
    """A task as a list shows it: with its customer's and owner's names."""

    task: Task
    customer: str
    owner: str
    customer_id: int


# Helpers -----------------------------------------------------------------------------------------------


def _customer_names(session: Session, profile_ids: set[int]) -> dict[int, tuple[int, str]]:
    """Each profile's surviving profile and its display name."""
    survivors = resolve_profile_ids(session, profile_ids=profile_ids) if profile_ids else {}
    names = dict(session.execute(select(CustomerProfile.profile_id, CustomerProfile.display_name)
                                 .where(CustomerProfile.profile_id.in_(sorted(set(survivors.values()))))).all())
    return {profile: (survivor, names.get(survivor) or "") for profile, survivor in survivors.items()}


def _user_names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(sorted(user_ids)))).all())


def _rows(session: Session, tasks: list[Task]) -> list[TaskRow]:
    customers = _customer_names(session, {task.profile_id for task in tasks})
    owners = _user_names(session, {task.owner_id for task in tasks if task.owner_id is not None})
    return [TaskRow(task=task, customer=customers[task.profile_id][1], customer_id=customers[task.profile_id][0],
                    owner=owners.get(task.owner_id, "") if task.owner_id is not None else "") for task in tasks]


def _staff_choices(session: Session, viewer: Viewer) -> list[User]:
    """The active staff the viewer may filter by or give a task to (their branch's, or everyone's)."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.name, User.id)
    if viewer.principal.store_id is not None:
        query = query.where(User.store_id == viewer.principal.store_id)
    return list(session.scalars(query))


def _local_input(moment: datetime | None, timezone: str) -> str:
    """A time as a datetime-local field's value in the viewer's time zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _parse_local(value: str, timezone: str) -> datetime | None:
    """A datetime-local field's value, read in the viewer's time zone; None when empty or unreadable."""
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC) \
            if value.strip() else None
    except ValueError:
        return None


def _safe_back(back: str, fallback: str = "/tasks") -> str:
    return back if back.startswith(("/tasks", "/customers/")) and "//" not in back and "\\" not in back \
        else fallback


def _labels() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "outcome_labels": OUTCOME_LABELS, "status_labels": STATUS_LABELS,
            "errors": ERRORS, "kinds": list(TaskKind), "outcomes": list(CallOutcome)}


# My tasks ----------------------------------------------------------------------------------------------


@router.get("/tasks")
def tasks_page(request: Request, session: DbSession, viewer: PageViewer,
               owner: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
               error: Annotated[str, Query(max_length=40)] = "") -> Response:
    """My open tasks: overdue first, then today's, then the coming ones; a manager sees their scope."""
    principal = viewer.principal
    manages = viewer.can(Role.manager)
    where = TaskFilter(mine=not manages and owner is None, owner_id=owner, timezone=principal.timezone)
    now = utcnow()
    rows = _rows(session, service.list_tasks(session, principal=principal, where=where, limit=PAGE_LIMIT, now=now))
    end_of_today = datetime.now(ZoneInfo(principal.timezone)).replace(hour=0, minute=0, second=0,
                                                                      microsecond=0) + timedelta(days=1)
    groups = {"overdue": [row for row in rows if row.task.due_at < now],
              "today": [row for row in rows if now <= row.task.due_at < end_of_today],
              "upcoming": [row for row in rows if row.task.due_at >= end_of_today]}
    return render(request, "tasks/list.html", {
        "groups": groups, "owner": owner, "manages": manages, "staff": _staff_choices(session, viewer),
        "error": error if error in ERRORS else "", "now": now} | _labels())


@router.post("/tasks/{task_id}/complete")
def complete_task(session: DbSession, viewer: PageViewer, task_id: TaskId, csrf_token: FormText = "",
                  outcome: Annotated[str, Form(max_length=40)] = "", note: FormText = "",
                  back: Annotated[str, Form(max_length=300)] = "/tasks") -> Response:
    """Mark a task done from a list or the customer page (a call with its outcome)."""
    check_csrf(viewer.auth_session, csrf_token)
    target = _safe_back(back)
    try:
        chosen = CallOutcome(outcome) if outcome else None
        service.complete(session, principal=viewer.principal, task_id=task_id, outcome=chosen, note=note)
    except ValueError:
        return _with_error(target, "outcome_required")
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _with_error(target, exc.code)
    return RedirectResponse(target, status_code=303)


@router.post("/tasks/{task_id}/reopen")
def reopen_task(session: DbSession, viewer: PageViewer, task_id: TaskId, csrf_token: FormText = "",
                back: Annotated[str, Form(max_length=300)] = "/tasks") -> Response:
    """Open a done or cancelled task again."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        service.reopen(session, principal=viewer.principal, task_id=task_id)
    except (Conflict, NotFound) as exc:
        return _with_error(_safe_back(back), exc.code)
    return RedirectResponse(_safe_back(back), status_code=303)


@router.post("/tasks/{task_id}/cancel")
def cancel_task(session: DbSession, viewer: PageViewer, task_id: TaskId, csrf_token: FormText = "",
                back: Annotated[str, Form(max_length=300)] = "/tasks") -> Response:
    """Cancel an open task."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        service.cancel(session, principal=viewer.principal, task_id=task_id)
    except (Conflict, NotFound) as exc:
        return _with_error(_safe_back(back), exc.code)
    return RedirectResponse(_safe_back(back), status_code=303)


def _with_error(target: str, code: str) -> RedirectResponse:
    path, _, anchor = target.partition("#")
    joiner = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{joiner}error={code}" + (f"#{anchor}" if anchor else ""), status_code=303)


# The new-task form -------------------------------------------------------------------------------------


@router.post("/tasks/new")
def create_task(request: Request, session: DbSession, viewer: PageViewer, csrf_token: FormText = "",
                customer_id: Annotated[int, Form(ge=1, le=2**63 - 1)] = 0,
                kind: Annotated[str, Form(max_length=20)] = "call",
                title: Annotated[str, Form(max_length=MAX_TITLE * 2)] = "", notes: FormText = "",
                due: Annotated[str, Form(max_length=40)] = "",
                remind_minutes: Annotated[int, Form(ge=-1, le=60 * 24 * 7)] = 30,
                owner_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None) -> Response:
    """Add a task on a customer from their page; a refused form comes back with its reason and what was typed."""
    check_csrf(viewer.auth_session, csrf_token)
    timezone = viewer.principal.timezone
    due_at = _parse_local(due, timezone)
    values = {"customer_id": customer_id, "kind": kind, "title": title, "notes": notes, "due": due,
              "remind_minutes": remind_minutes, "owner_id": owner_id}
    if due_at is None:
        return _form_again(request, session, viewer, values, "invalid_due")
    try:
        service.create(session, principal=viewer.principal, profile_id=customer_id,
                       kind=TaskKind(kind) if kind in set(TaskKind) else TaskKind.other, title=title, notes=notes,
                       due_at=due_at, remind=remind_minutes >= 0,
                       remind_at=due_at - timedelta(minutes=remind_minutes) if remind_minutes >= 0 else None,
                       owner_id=owner_id)
    except (ValidationFailed, NotFound, PermissionDenied) as exc:
        session.rollback()
        return _form_again(request, session, viewer, values, exc.code)
    return RedirectResponse(f"/customers/{customer_id}#tasks", status_code=303)


def _form_again(request: Request, session: Session, viewer: Viewer, values: dict[str, Any], code: str) -> Response:
    return render(request, "tasks/form.html", {
        "task_form": values, "error": code, "staff": _staff_choices(session, viewer)} | _labels(), status_code=422)


# The customer 360 panel --------------------------------------------------------------------------------


@customer_panel("tasks", label=N_("Tasks"), template="tasks/_customer_panel.html", order=40)
def tasks_panel(session: Session, profile_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """The customer's open tasks, the latest done ones, and the new-task form."""
    principal = viewer.principal
    open_tasks = service.list_tasks(session, principal=principal, where=TaskFilter(profile_id=profile_id))
    done = service.list_query(session, principal=principal, where=TaskFilter(profile_id=profile_id,
                                                                             status=TaskStatus.done))
    recent = list(session.scalars(done.order_by(None).order_by(Task.done_at.desc(), Task.id.desc())
                                  .limit(PANEL_DONE)))
    owners = _user_names(session, {task.owner_id for task in [*open_tasks, *recent] if task.owner_id is not None})
    default_due = utcnow().replace(second=0, microsecond=0) + timedelta(hours=1)
    return {"open": open_tasks, "done": recent, "owners": owners, "now": utcnow(), "profile_id": profile_id,
            "staff": _staff_choices(session, viewer),
            "task_form": {"customer_id": profile_id, "kind": "call", "title": "", "notes": "",
                       "due": _local_input(default_due, principal.timezone), "remind_minutes": 30,
                       "owner_id": principal.user_id}} | _labels()


# Reminders ---------------------------------------------------------------------------------------------


@header_link("/tasks/reminders", label=N_("Reminders"))
def unread_reminders(request: Request, viewer: Viewer) -> int:
    """How many of the viewer's task reminders are unread (the count beside the header link)."""
    if viewer.principal.user_id is None:
        return 0
    # a read of its own that waits for no writer: the page's session may hold SQLite's write lock meanwhile
    with Session(request.app.state.engine.execution_options(sqlite_begin="DEFERRED")) as session:
        return reminders.unread_count(session, user_id=viewer.principal.user_id)


@router.get("/tasks/reminders")
def reminders_page(request: Request, session: DbSession, viewer: PageViewer) -> Response:
    """My task reminders, newest first."""
    found = reminders.list_reminders(session, user_id=viewer.principal.id, limit=100)
    customers = _customer_names(session, {task.profile_id for _, task in found})
    return render(request, "tasks/reminders.html", {"reminders": found, "customers": customers} | _labels())


@router.post("/tasks/reminders/read")
def read_reminders(session: DbSession, viewer: PageViewer, csrf_token: FormText = "") -> Response:
    """Mark all my reminders read."""
    check_csrf(viewer.auth_session, csrf_token)
    reminders.mark_all_read(session, user_id=viewer.principal.id)
    return RedirectResponse("/tasks/reminders", status_code=303)
