"""Loyalty on the pages: the customer's loyalty panel on the customer 360 page (balances, tier, progress to the
next tier, recent ledger entries) and the programme's settings page (point value, earning rate, expiry, tiers and
earning rules) for managers and owners."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name
from xuyen.loyalty import programme, service
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.panels import customer_panel
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=500)]
ItemId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
PANEL_ENTRIES = 10
SETTINGS_PATH = "/loyalty/settings"

POSTING_KINDS: dict[str, str] = {
    "earn": N_("Earned"), "redeem": N_("Spent"), "refund": N_("Refunded"), "top_up": N_("Topped up"),
    "expire": N_("Expired"), "take_back": N_("Taken back (return)"), "merge": N_("Moved in (merge)"),
    "unmerge": N_("Moved back (merge undone)")}
ACCOUNTS: dict[str, str] = {"points": N_("Points"), "stored_value": N_("Stored value")}
EXPIRY_MODES: dict[str, str] = {"end_of_next_year": N_("At the end of the year after they were earned"),
                                "months": N_("A number of months after they were earned")}
ERRORS: dict[str, str] = {
    "invalid_setting": N_("Check the numbers: each setting has to be a whole number within its limits."),
    "invalid_expiry_mode": N_("Choose when points expire."),
    "invalid_tier_code": N_("A tier code is lower-case letters, digits or _, starting with a letter."),
    "invalid_tier_name": N_("Give the tier a name."),
    "invalid_threshold": N_("The threshold is a whole number of đồng, 0 or more."),
    "tier_exists": N_("A tier with that code exists already."),
    "tier_threshold_taken": N_("Another tier has that threshold already."),
    "tier_in_use": N_("An earning rule names this tier: change or remove the rule first."),
    "invalid_rule_name": N_("Give the rule a name."),
    "invalid_multiplier": N_("The multiplier is a whole percentage from 0 to 10000."),
    "invalid_channel": N_("Choose a sales channel."),
    "invalid_category": N_("The category is a positive number."),
    "invalid_tier": N_("Choose an existing tier."),
}


# The customer 360 panel --------------------------------------------------------------------------------


@customer_panel("loyalty", label=N_("Loyalty"), template="loyalty/_customer_panel.html", order=50)
def loyalty_panel(session: Session, profile_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """The customer's balances, tier and progress, and their latest ledger entries."""
    found = service.balances(session, profile_id=profile_id)
    entries = service.history(session, profile_id=profile_id, limit=PANEL_ENTRIES)
    progress = None
    if found.next_tier is not None and found.to_next_tier is not None:
        target = found.window_spend + found.to_next_tier
        progress = min(100, found.window_spend * 100 // target) if target else 100
    return {"balances": found, "entries": entries, "progress": progress, "posting_kinds": POSTING_KINDS,
            "accounts": ACCOUNTS}


# The settings page -------------------------------------------------------------------------------------


def _settings_page(request: Request, session: Session, *, error: str = "", status_code: int = 200) -> Response:
    tiers = programme.list_tiers(session)
    return render(request, "loyalty/settings.html", {
        "settings": programme.get_settings(session), "tiers": tiers, "tier_names": {t.code: t.name for t in tiers},
        "rules": programme.list_rules(session), "channels": [channel.value for channel in SalesChannel],
        "expiry_modes": EXPIRY_MODES, "error": ERRORS.get(error, error),
    }, status_code=status_code)


def _refused(request: Request, session: Session, exc: ValidationFailed | Conflict) -> Response:
    session.rollback()
    return _settings_page(request, session, error=exc.code, status_code=422 if isinstance(exc, ValidationFailed)
                          else 409)


def _back() -> RedirectResponse:
    return RedirectResponse(SETTINGS_PATH, status_code=303)


def _whole(value: str) -> int | None:
    cleaned = value.replace(".", "").replace(",", "").replace(" ", "").strip()
    return int(cleaned) if cleaned.isdigit() and len(cleaned) <= 15 else None


def _optional(value: str) -> str | None:
    return value.strip() or None


@router.get(SETTINGS_PATH)
def settings_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The programme: point value, earning rate, expiry, tiers and earning rules."""
    return _settings_page(request, session)


@router.post(SETTINGS_PATH)
def save_settings(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                  spend_per_point: FormText = "", point_value: FormText = "", expiry_mode: FormText = "",
                  expiry_months: FormText = "", tier_window_months: FormText = "") -> Response:
    """Change the programme's settings."""
    check_csrf(viewer.auth_session, csrf_token)
    numbers = {"spend_per_point": spend_per_point, "point_value": point_value, "expiry_months": expiry_months,
               "tier_window_months": tier_window_months}
    changes: dict[str, Any] = {name: _whole(value) for name, value in numbers.items()}
    changes["expiry_mode"] = expiry_mode
    try:
        programme.update_settings(session, changes={name: -1 if value is None else value
                                                    for name, value in changes.items()},
                                  actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        return _refused(request, session, exc)
    return _back()


@router.post(f"{SETTINGS_PATH}/tiers")
def add_tier(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
             code: FormText = "", name: FormText = "", min_spend: FormText = "") -> Response:
    """Add a tier."""
    check_csrf(viewer.auth_session, csrf_token)
    threshold = _whole(min_spend)
    try:
        programme.create_tier(session, code=code, name=name, min_spend=-1 if threshold is None else threshold,
                              actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, session, exc)
    return _back()


@router.post(SETTINGS_PATH + "/tiers/{tier_id}/delete")
def remove_tier(request: Request, session: DbSession, viewer: ManagerViewer, tier_id: ItemId,
                csrf_token: FormText = "") -> Response:
    """Remove a tier."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        programme.delete_tier(session, tier_id=tier_id, actor=actor_name(viewer.principal))
    except Conflict as exc:
        return _refused(request, session, exc)
    except NotFound:
        session.rollback()
    return _back()


@router.post(f"{SETTINGS_PATH}/rules")
def add_rule(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
             name: FormText = "", multiplier_percent: FormText = "", channel: FormText = "",
             category_id: FormText = "", tier_code: FormText = "") -> Response:
    """Add an earning rule."""
    check_csrf(viewer.auth_session, csrf_token)
    percent, category = _whole(multiplier_percent), _optional(category_id)
    try:
        if category is not None and _whole(category) is None:
            raise ValidationFailed("The category is a number.", code="invalid_category")
        spec = programme.RuleSpec(name=name, multiplier_percent=-1 if percent is None else percent,
                                  channel=_optional(channel), tier_code=_optional(tier_code),
                                  category_id=None if category is None else _whole(category))
        programme.create_rule(session, spec=spec, actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        return _refused(request, session, exc)
    return _back()


@router.post(SETTINGS_PATH + "/rules/{rule_id}/delete")
def remove_rule(request: Request, session: DbSession, viewer: ManagerViewer, rule_id: ItemId,
                csrf_token: FormText = "") -> Response:
    """Remove an earning rule."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        programme.delete_rule(session, rule_id=rule_id, actor=actor_name(viewer.principal))
    except NotFound:
        session.rollback()
    return _back()
