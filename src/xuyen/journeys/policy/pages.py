"""The messaging policy page for managers (``/settings/messaging-policy``): sending hours, frequency caps, the
channel order, which purposes are capped or may go at night, and the suppression list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen import i18n
from xuyen.auth.models import Role
from xuyen.errors import NotFound, ValidationFailed, XuyenError
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.journeys.policy import settings, suppressions
from xuyen.journeys.policy.schemas import clock_text
from xuyen.journeys.policy.settings import CHANNELS, PURPOSES, Cap, PolicyConfig
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
RowId = Annotated[int, PathParam(ge=1, le=2**62)]
FormText = Annotated[str, Form(max_length=500)]
FormList = Annotated[list[str], Form(max_length=10)]
PAGE = "/settings/messaging-policy"

CHANNEL_LABELS = {"zalo": i18n.N_("Zalo"), "messenger": i18n.N_("Messenger"), "whatsapp": i18n.N_("WhatsApp"),
                  "sms": i18n.N_("SMS"), "email": i18n.N_("E-mail")}
PURPOSE_LABELS = {"marketing": i18n.N_("Marketing"), "transactional": i18n.N_("Transactional"),
                  "care": i18n.N_("Customer care")}
KIND_LABELS = {"profile": i18n.N_("Customer (id)"), "phone": i18n.N_("Phone"), "email": i18n.N_("E-mail")}
SOURCE_LABELS = {"manual": i18n.N_("Added by staff"), "bounce": i18n.N_("Hard bounce"),
                 "unsubscribe": i18n.N_("Unsubscribed"), "complaint": i18n.N_("Complaint")}
ERRORS = {
    "invalid_timezone": i18n.N_("The time zone is an IANA name such as Asia/Ho_Chi_Minh."),
    "invalid_hours": i18n.N_("Sending hours start and end at different times of day (HH:MM)."),
    "invalid_cap": i18n.N_("A cap is 0 to 1000 messages within 1 to 744 hours."),
    "invalid_channel_order": i18n.N_("The channel order lists each channel once."),
    "invalid_channel": i18n.N_("Choose channels among Zalo, Messenger, WhatsApp, SMS and e-mail."),
    "invalid_purpose": i18n.N_("Choose purposes among marketing, transactional and customer care."),
    "invalid_value": i18n.N_("That is not a customer id, phone number or e-mail address that can be suppressed."),
    "invalid_reason": i18n.N_("Say why, in 1 to 500 characters."),
    "invalid_kind": i18n.N_("Choose a customer, a phone or an e-mail."),
    "already_suppressed": i18n.N_("That is already on the suppression list."),
    "customer_not_found": i18n.N_("There is no such customer."),
}


def _number(text: str, *, low: int, high: int) -> int:
    cleaned = text.strip()
    if not cleaned.isdigit() or len(cleaned) > 4 or not low <= int(cleaned) <= high:
        raise ValidationFailed("A cap is a whole number of messages and hours.", code="invalid_cap")
    return int(cleaned)


def _minute(text: str) -> int:
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(part.isdigit() and len(part) == 2 for part in parts):
        raise ValidationFailed("Sending hours are times of day (HH:MM).", code="invalid_hours")
    hours, minutes = int(parts[0]), int(parts[1])
    if hours > 23 or minutes > 59:
        raise ValidationFailed("Sending hours are times of day (HH:MM).", code="invalid_hours")
    return hours * 60 + minutes


def _config_of(form: dict[str, str], *, order: str, capped: list[str], night: list[str]) -> PolicyConfig:
    caps = {}
    for channel in CHANNELS:
        limit, hours = form.get(f"cap_{channel}_limit", "").strip(), form.get(f"cap_{channel}_hours", "").strip()
        if limit or hours:
            caps[channel] = Cap(_number(limit, low=0, high=1000), _number(hours, low=1, high=744))
    return PolicyConfig(
        timezone=form.get("timezone", "").strip(), allowed_from=_minute(form.get("sending_from", "")),
        allowed_until=_minute(form.get("sending_until", "")),
        total=Cap(_number(form.get("total_limit", ""), low=0, high=1000),
                  _number(form.get("total_hours", ""), low=1, high=744)),
        channel_caps=caps, channel_order=tuple(name.strip().lower() for name in order.split(",") if name.strip()),
        capped_purposes=tuple(capped), quiet_exempt=tuple(night))


def _error_text(exc: XuyenError) -> str:
    return i18n.gettext(ERRORS[exc.code]) if exc.code in ERRORS else exc.message


def _page(request: Request, session: Session, *, error: str = "", status_code: int = 200) -> Response:
    config = settings.current(session)
    return render(request, "settings/messaging_policy.html", {
        "config": config, "sending_from": clock_text(config.allowed_from),
        "sending_until": clock_text(config.allowed_until), "channels": CHANNELS, "purposes": PURPOSES,
        "channel_labels": CHANNEL_LABELS, "purpose_labels": PURPOSE_LABELS, "kind_labels": KIND_LABELS,
        "source_labels": SOURCE_LABELS, "suppressions": suppressions.list_suppressions(session, limit=200),
        "suppression_count": suppressions.count_suppressions(session), "error": error}, status_code=status_code)


@router.get(PAGE)
def policy_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The policy's settings and the suppression list."""
    return _page(request, session)


@router.post(PAGE)
async def change_settings(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                          channel_order: FormText = "", capped_purposes: FormList = [],  # noqa: B006
                          quiet_exempt: FormList = []) -> Response:  # noqa: B006
    """Change the settings."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    try:
        config = _config_of({key: value[:100] for key, value in form.items()}, order=channel_order,
                            capped=capped_purposes, night=quiet_exempt)
        settings.change(session, config=config, actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        return _page(request, session, error=_error_text(exc), status_code=422)
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/suppressions")
def add_suppression(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                    kind: FormText = "", value: FormText = "", reason: FormText = "") -> Response:
    """Add a customer, phone or e-mail to the suppression list."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        suppressions.add_suppression(session, kind=kind, value=value, reason=reason,
                                     actor=actor_name(viewer.principal))
    except (ValidationFailed, NotFound) as exc:
        session.rollback()
        return _page(request, session, error=_error_text(exc), status_code=422)
    except XuyenError as exc:
        session.rollback()
        return _page(request, session, error=_error_text(exc), status_code=409)
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/suppressions/{suppression_id}/delete")
def remove_suppression(session: DbSession, viewer: ManagerViewer, suppression_id: RowId,
                       csrf_token: FormText = "") -> Response:
    """Take an entry off the suppression list."""
    check_csrf(viewer.auth_session, csrf_token)
    suppressions.remove_suppression(session, suppression_id=suppression_id, actor=actor_name(viewer.principal))
    return RedirectResponse(PAGE, status_code=303)
