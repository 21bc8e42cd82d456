"""SLA on the inbox pages: the badge of each conversation (its most urgent clock), and the settings page where
managers see and add SLA policies and change the CSAT survey."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.channels.registry import adapters
from xuyen.errors import Conflict, ValidationFailed
from xuyen.http import get_session
from xuyen.i18n import N_, gettext
from xuyen.identity.service import actor_name
from xuyen.inbox.csat import service as csat
from xuyen.inbox.models import Conversation
from xuyen.inbox.sla import policies, service
from xuyen.inbox.sla.models import ClockKind, Policy
from xuyen.inbox.sla.service import ClockView
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

KIND_NAMES: dict[str, str] = {"first_response": N_("First response"), "next_response": N_("Next response"),
                              "resolution": N_("Resolution")}
WEEKDAY_NAMES: dict[str, str] = {"monday": N_("Mon"), "tuesday": N_("Tue"), "wednesday": N_("Wed"),
                                 "thursday": N_("Thu"), "friday": N_("Fri"), "saturday": N_("Sat"),
                                 "sunday": N_("Sun")}


# The badge --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    """What a conversation's SLA badge shows: its most urgent clock, and every clock not stopped (for the
    title)."""

    kind: str
    state: str  # running, paused, breached
    warning: bool
    remaining: timedelta
    due_at: datetime
    clocks: tuple[ClockView, ...]


def business_duration(value: timedelta) -> str:
    """A span of business time as hours and minutes, in the page's language."""
    minutes = int(abs(value).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)d min") % {"minutes": minutes}


def sla_context(session: Session, conversations: Iterable[Conversation]) -> dict[str, Any]:
    """What ``inbox/_sla.html`` needs: a badge per conversation with a clock not stopped yet."""
    found = service.current_clocks(session, conversation_ids=[conversation.id for conversation in conversations])
    badges = {conversation_id: Badge(kind=views[0].clock.kind.value, state=views[0].state, warning=views[0].warning,
                                     remaining=views[0].remaining or timedelta(0), due_at=views[0].clock.due_at,
                                     clocks=tuple(views))
              for conversation_id, views in found.items() if views}
    return {"sla_badges": badges, "sla_kind_name": lambda kind: KIND_NAMES.get(str(kind), str(kind)),
            "business_duration": business_duration}


# The settings page ------------------------------------------------------------------------------------


def _target(policy: Policy, kind: ClockKind) -> str:
    seconds = policy.target_seconds(kind)
    return "—" if seconds is None else business_duration(timedelta(seconds=seconds))


def _page(request: Request, session: Session, *, error: str = "", form: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    rows = policies.list_policies(session)
    context = {"policies": rows, "target": _target, "kinds": list(ClockKind), "kind_names": KIND_NAMES,
               "weekday_names": WEEKDAY_NAMES,
               "channel_kinds": {kind: adapter.label for kind, adapter in adapters().items()},
               "survey": csat.get_survey_settings(session), "error": error, "form": form or {}}
    return render(request, "inbox/sla.html", context, status_code=status_code)


@router.get("/inbox/sla")
def sla_page(request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """The SLA policies in the order they are tried, a form to add one, and the survey settings."""
    return _page(request, session)


def _number(value: str, *, empty: int | None = None) -> int | None:
    """A whole number typed in a form; -1 (refused by the services, with their message) when it is not one."""
    value = value.strip()
    if not value:
        return empty
    return int(value) if value.isdigit() and len(value) < 6 else -1


def _minutes(value: str) -> timedelta | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 7:
        raise ValidationFailed("Give targets as whole minutes.", code="invalid_sla_policy")
    return timedelta(minutes=int(value))


@router.post("/inbox/sla")
def add_policy(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
               name: FormText = "", first_response: FormText = "", next_response: FormText = "",
               resolution: FormText = "", warning_percent: FormText = "", channel_kinds: FormList = []) -> Response:  # noqa: B006
    """Add a policy from the form (targets in minutes of business time, the default calendar)."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"name": name, "first_response": first_response, "next_response": next_response,
            "resolution": resolution, "warning_percent": warning_percent, "channel_kinds": channel_kinds}
    try:
        policies.create_policy(session, changes={
            "name": name, "first_response": _minutes(first_response), "next_response": _minutes(next_response),
            "resolution": _minutes(resolution), "channel_kinds": channel_kinds,
            "warning_percent": _number(warning_percent)}, actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _page(request, session, error=exc.message, form=form, status_code=exc.status)
    return RedirectResponse("/inbox/sla", status_code=303)


@router.post("/inbox/sla/survey")
def update_survey(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                  survey_text: FormText = "", expiry_days: FormText = "", reply_hours: FormText = "",
                  enabled: FormText = "") -> Response:
    """Change the CSAT survey's text, link expiry, digit-reply window and whether it goes out."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        csat.update_survey_settings(session, changes={
            "survey_text": survey_text, "enabled": enabled == "on", "expiry_days": _number(expiry_days, empty=-1),
            "reply_hours": _number(reply_hours, empty=-1)}, actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        return _page(request, session, error=exc.message, status_code=exc.status)
    return RedirectResponse("/inbox/sla", status_code=303)
