"""The lead scoring page for managers (``/leads/scoring``): the behaviour and fit rules, adding, switching off and
removing them, the suggested set, and the half-life of behaviour points."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen import i18n
from xuyen.auth.models import Role
from xuyen.errors import ValidationFailed
from xuyen.fields.filters import OPERATORS
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.sales.scoring import rules
from xuyen.sales.scoring.models import CapPeriod, RuleKind
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=2000)]
PAGE = "/leads/scoring"

PERIOD_LABELS = {"day": i18n.N_("per day"), "week": i18n.N_("per week"), "month": i18n.N_("per month"),
                 "ever": i18n.N_("in all")}
OPERATOR_LABELS = {"equals": i18n.N_("is"), "contains": i18n.N_("contains"), "any_of": i18n.N_("is one of"),
                   "between": i18n.N_("is between"), "is_set": i18n.N_("is filled in")}
ATTRIBUTE_LABELS = {"province": i18n.N_("Province"), "product_interest": i18n.N_("Interested in"),
                    "campaign": i18n.N_("Campaign"), "source": i18n.N_("Source"), "label": i18n.N_("Label"),
                    "phone": i18n.N_("Phone"), "email": i18n.N_("E-mail")}


def _points(text: str) -> int:
    cleaned = text.strip().replace("+", "")
    if not cleaned.lstrip("-").isdigit() or len(cleaned) > 6:
        raise ValidationFailed("Points are a whole number, such as 10 or -5.", code="points_out_of_range")
    return int(cleaned)


def _cap(points: str, period: str) -> tuple[int | None, CapPeriod | None]:
    if not points.strip():
        return None, None
    if not points.strip().isdigit() or len(points.strip()) > 6 or period not in PERIOD_LABELS:
        raise ValidationFailed("A cap is a whole number of points and a period.", code="cap_incomplete")
    return int(points.strip()), CapPeriod(period)


def _page(request: Request, session: Session, *, error: str = "", status_code: int = 200) -> Response:
    found = rules.list_rules(session)
    return render(request, "leads/scoring.html", {
        "behaviour": [rule for rule in found if rule.kind is RuleKind.behaviour],
        "fit": [rule for rule in found if rule.kind is RuleKind.fit], "events": rules.KNOWN_EVENTS,
        "period_labels": PERIOD_LABELS, "operator_labels": OPERATOR_LABELS, "operators": OPERATORS,
        "attribute_labels": ATTRIBUTE_LABELS, "half_life_days": rules.half_life_days(session), "error": error},
        status_code=status_code)


@router.get("/leads/scoring")
def scoring_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The scoring rules and the decay setting."""
    return _page(request, session)


@router.post("/leads/scoring/rules")
def add_rule(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
             kind: FormText = "", name: FormText = "", points: FormText = "", event: FormText = "",
             property_key: FormText = "", property_value: FormText = "", cap_points: FormText = "",
             cap_period: FormText = "", attribute: FormText = "", op: FormText = "", value: FormText = "") -> Response:
    """Add a behaviour or fit rule."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        if kind not in (RuleKind.behaviour.value, RuleKind.fit.value):
            raise ValidationFailed("Choose a behaviour or a fit rule.", code="invalid_kind")
        cap = _cap(cap_points, cap_period) if kind == RuleKind.behaviour.value else (None, None)
        rules.create_rule(session, spec=rules.RuleSpec(
            kind=RuleKind(kind), name=name, points=_points(points), event=event, property_key=property_key,
            property_value=property_value, cap_points=cap[0], cap_period=cap[1], attribute=attribute, op=op,
            value=value), actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        return _page(request, session, error=exc.message, status_code=422)
    return RedirectResponse(PAGE, status_code=303)


@router.post("/leads/scoring/rules/{rule_id}/active")
def toggle_rule(session: DbSession, viewer: ManagerViewer, rule_id: RowId, csrf_token: FormText = "",
                active: FormText = "") -> Response:
    """Switch a rule on or off."""
    check_csrf(viewer.auth_session, csrf_token)
    rules.update_rule(session, rule_id=rule_id, changes={"active": active == "1"}, actor=actor_name(viewer.principal))
    return RedirectResponse(PAGE, status_code=303)


@router.post("/leads/scoring/rules/{rule_id}/delete")
def remove_rule(session: DbSession, viewer: ManagerViewer, rule_id: RowId, csrf_token: FormText = "") -> Response:
    """Remove a rule."""
    check_csrf(viewer.auth_session, csrf_token)
    rules.delete_rule(session, rule_id=rule_id, actor=actor_name(viewer.principal))
    return RedirectResponse(PAGE, status_code=303)


@router.post("/leads/scoring/suggested")
def add_suggested(session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "") -> Response:
    """Add the suggested rules."""
    check_csrf(viewer.auth_session, csrf_token)
    rules.add_suggested_rules(session, actor=actor_name(viewer.principal))
    return RedirectResponse(PAGE, status_code=303)


@router.post("/leads/scoring/settings")
def change_settings(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                    half_life_days: FormText = "") -> Response:
    """Change the half-life of behaviour points."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        days = half_life_days.strip()
        rules.set_half_life(session, days=int(days) if days.isdigit() and len(days) < 6 else 0,
                            actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        return _page(request, session, error=exc.message, status_code=422)
    return RedirectResponse(PAGE, status_code=303)
