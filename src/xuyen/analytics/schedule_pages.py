"""The scheduled reports page (/analytics/schedules): list, create, edit, pause, resume and delete the reports
e-mailed on a schedule, with each one's latest runs. Owners and managers see it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.analytics import schedules, tables
from xuyen.analytics.pages import DASHBOARDS, dashboard
from xuyen.analytics.schedule_models import ReportSchedule
from xuyen.auth.models import Role, User
from xuyen.errors import XuyenError
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render, request_locale

router: Router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=2000)]
FormShort = Annotated[str, Form(max_length=40)]
FormIds = Annotated[list[str], Form(max_length=12)]
ScheduleId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]

dashboard("schedules", href="/analytics/schedules", title=N_("Scheduled reports"),
          description=N_("A dashboard's tables e-mailed to chosen people every day, week or month."))

PERIOD_LABELS = {"last_7_days": N_("The last 7 days"), "last_30_days": N_("The last 30 days"),
                 "previous_month": N_("The previous calendar month")}
FREQUENCY_LABELS = {"daily": N_("Every day"), "weekly": N_("Every week"), "monthly": N_("Every month")}
WEEKDAY_LABELS = [N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                  N_("Sunday")]
STATUS_LABELS = {"queued": N_("Queued"), "sent": N_("Sent"), "failed": N_("Failed"),
                 "no_mailbox": N_("No mailbox"), "sandbox": N_("Sandbox mailbox"), "skipped": N_("Skipped")}
FIELD_LABELS = {"name": N_("Name"), "dashboard": N_("Dashboard"), "period": N_("Period"),
                "frequency": N_("How often"), "hour": N_("Hour"), "weekday": N_("Day of the week"),
                "month_day": N_("Day of the month"), "user_ids": N_("Staff"), "emails": N_("E-mail addresses"),
                "recipients": N_("Recipients")}


def _choices(session: Session) -> dict[str, Any]:
    staff = list(session.scalars(select(User).where(User.is_active.is_(True), User.role.in_(schedules.STAFF_ROLES))
                                 .order_by(User.name, User.id)))
    return {"dashboards": [item for item in DASHBOARDS if tables.exportable_names(item.key)],
            "periods": PERIOD_LABELS, "frequencies": FREQUENCY_LABELS, "weekdays": WEEKDAY_LABELS, "staff": staff,
            "statuses": STATUS_LABELS, "field_labels": FIELD_LABELS}


def _form(row: ReportSchedule | None) -> dict[str, Any]:
    if row is None:
        return {"name": "", "dashboard": "", "period": "last_7_days", "frequency": "weekly", "hour": "8",
                "weekday": "0", "month_day": "1", "user_ids": [], "emails": ""}
    return {"name": row.name, "dashboard": row.dashboard, "period": row.period, "frequency": row.frequency,
            "hour": str(row.hour), "weekday": "" if row.weekday is None else str(row.weekday),
            "month_day": "" if row.month_day is None else str(row.month_day),
            "user_ids": [str(user_id) for user_id in row.user_ids], "emails": ", ".join(row.emails)}


def _list_page(request: Request, session: Session, *, form: dict[str, Any] | None = None,
               problems: dict[str, str] | None = None, status_code: int = 200) -> Response:
    rows = schedules.list_schedules(session)
    return render(request, "analytics/schedules.html", {
        "rows": rows, "runs": schedules.recent_runs(session, schedule_ids=[row.id for row in rows]),
        "form": form or _form(None), "problems": problems or {}, **_choices(session)}, status_code=status_code)


def _value(name: str, dashboard_key: str, period: str, frequency: str, hour: str, weekday: str, month_day: str,
           user_ids: list[str], emails: str) -> schedules.ScheduleIn:
    return schedules.ScheduleIn(name=name, dashboard=dashboard_key, period=period, frequency=frequency, hour=hour,
                                weekday=weekday, month_day=month_day, user_ids=user_ids, emails=emails)


def _problems(exc: XuyenError) -> dict[str, str]:
    if isinstance(exc, schedules.ScheduleInvalid):
        return exc.problems
    return {"form": exc.message}


@router.get("/analytics/schedules")
def schedules_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """Every scheduled report with its latest runs, and the form that adds one."""
    return _list_page(request, session)


@router.post("/analytics/schedules")
def create_schedule(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                    name: FormText = "", dashboard_key: Annotated[str, Form(alias="dashboard", max_length=40)] = "",
                    period: FormShort = "", frequency: FormShort = "", hour: FormShort = "", weekday: FormShort = "",
                    month_day: FormShort = "", user_ids: FormIds | None = None, emails: FormText = "") -> Response:
    """Save a new scheduled report; the form comes back with what is wrong (422), nothing saved."""
    check_csrf(viewer.auth_session, csrf_token)
    value = _value(name, dashboard_key, period, frequency, hour, weekday, month_day, user_ids or [], emails)
    try:
        schedules.create_schedule(session, value=value, timezone=viewer.principal.timezone,
                                  locale=request_locale(request, viewer), actor=actor_name(viewer.principal))
    except XuyenError as exc:
        session.rollback()
        form = {**value.__dict__, "dashboard": dashboard_key, "user_ids": list(user_ids or [])}
        return _list_page(request, session, form=form, problems=_problems(exc), status_code=exc.status)
    return RedirectResponse("/analytics/schedules", status_code=303)


def _edit_page(request: Request, session: Session, row: ReportSchedule, *, form: dict[str, Any] | None = None,
               problems: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "analytics/schedule_edit.html", {
        "row": row, "form": form or _form(row), "problems": problems or {},
        "runs": schedules.recent_runs(session, schedule_ids=[row.id], per_schedule=30).get(row.id, []),
        **_choices(session)}, status_code=status_code)


@router.get("/analytics/schedules/{schedule_id}")
def schedule_page(request: Request, session: DbSession, viewer: ManagerViewer, schedule_id: ScheduleId) -> Response:
    """One scheduled report: its form and its runs."""
    return _edit_page(request, session, schedules.get_schedule(session, schedule_id=schedule_id))


@router.post("/analytics/schedules/{schedule_id}")
def update_schedule(request: Request, session: DbSession, viewer: ManagerViewer, schedule_id: ScheduleId,
                    csrf_token: FormText = "", name: FormText = "",
                    dashboard_key: Annotated[str, Form(alias="dashboard", max_length=40)] = "",
                    period: FormShort = "", frequency: FormShort = "", hour: FormShort = "", weekday: FormShort = "",
                    month_day: FormShort = "", user_ids: FormIds | None = None, emails: FormText = "") -> Response:
    """Change a scheduled report; the form comes back with what is wrong (422), nothing changed."""
    check_csrf(viewer.auth_session, csrf_token)
    value = _value(name, dashboard_key, period, frequency, hour, weekday, month_day, user_ids or [], emails)
    try:
        schedules.update_schedule(session, schedule_id=schedule_id, value=value)
    except XuyenError as exc:
        session.rollback()
        row = schedules.get_schedule(session, schedule_id=schedule_id)
        form = {**value.__dict__, "dashboard": dashboard_key, "user_ids": list(user_ids or [])}
        return _edit_page(request, session, row, form=form, problems=_problems(exc), status_code=exc.status)
    return RedirectResponse("/analytics/schedules", status_code=303)


@router.post("/analytics/schedules/{schedule_id}/pause")
def pause_schedule(session: DbSession, viewer: ManagerViewer, schedule_id: ScheduleId,
                   csrf_token: FormText = "") -> Response:
    """Stop sending a report until it is resumed."""
    check_csrf(viewer.auth_session, csrf_token)
    schedules.set_active(session, schedule_id=schedule_id, active=False)
    return RedirectResponse("/analytics/schedules", status_code=303)


@router.post("/analytics/schedules/{schedule_id}/resume")
def resume_schedule(session: DbSession, viewer: ManagerViewer, schedule_id: ScheduleId,
                    csrf_token: FormText = "") -> Response:
    """Send a paused report again from its next due time."""
    check_csrf(viewer.auth_session, csrf_token)
    schedules.set_active(session, schedule_id=schedule_id, active=True)
    return RedirectResponse("/analytics/schedules", status_code=303)


@router.post("/analytics/schedules/{schedule_id}/delete")
def delete_schedule(session: DbSession, viewer: ManagerViewer, schedule_id: ScheduleId,
                    csrf_token: FormText = "") -> Response:
    """Delete a scheduled report and its runs."""
    check_csrf(viewer.auth_session, csrf_token)
    schedules.delete_schedule(session, schedule_id=schedule_id)
    return RedirectResponse("/analytics/schedules", status_code=303)
