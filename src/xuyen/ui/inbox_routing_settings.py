"""The managers' routing settings page (``/inbox/routing``): assignment rules in the order they are tried, labels
and the rules that put them on conversations, and the shop's shared saved replies. Agents get 403.

Each form posts here and comes back to the page; a refused form shows the page again with the reason, in the
page's language, and the status the API would answer (422, 409 or 404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.channels.registry import adapters
from xuyen.errors import ValidationFailed, XuyenError
from xuyen.http import get_session
from xuyen.i18n import N_, gettext
from xuyen.identity.service import actor_name
from xuyen.inbox.routing import canned, labels, service
from xuyen.inbox.routing.models import AssignmentRule, LabelRule, LabelRuleKind
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
SmallId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

PAGE = "/inbox/routing"
MAX_ID = 2**31 - 1

# What a refused form says, by the error's code (anything else shows the service's own message).
ERROR_MESSAGES: dict[str, str] = {
    "team_not_found": N_("Choose one of the teams; that team does not exist (any more)."),
    "assignment_rule_name_required": N_("Give the assignment rule a name."),
    "assignment_rule_not_found": N_("That assignment rule does not exist (any more)."),
    "label_not_found": N_("That label does not exist (any more)."),
    "label_exists": N_("There is a label with this name already (names are compared without case and accents)."),
    "label_name_invalid": N_("Give the label a name with at least one letter or digit."),
    "label_colour_invalid": N_("A colour is written #rrggbb, e.g. #dc2626."),
    "label_rule_invalid": N_("A keyword rule needs at least one keyword; a source rule needs a channel or a "
                             "referral to look for."),
    "label_rule_not_found": N_("That label rule does not exist (any more)."),
    "canned_shortcut_invalid": N_("A shortcut is 1 to 40 letters (a–z), digits, - or _, without spaces."),
    "canned_shortcut_taken": N_("This shortcut is taken already; choose another one."),
    "canned_text_invalid": N_("Write the saved reply's text (at most 5,000 characters)."),
    "canned_response_not_found": N_("That saved reply does not exist (any more)."),
}
REFERRAL_NAMES: dict[str, str] = {"ad": N_("came from an ad"), "any": N_("came from any link")}


def _channel_kinds() -> dict[str, str]:
    return {kind: adapter.label for kind, adapter in sorted(adapters().items())}


def _rule_summary(conditions: dict[str, Any], kinds: dict[str, str], label_names: dict[int, str]) -> list[str]:
    """An assignment rule's conditions as short phrases."""
    parts = []
    if conditions.get("channel_kinds"):
        parts.append(gettext("channel: %(kinds)s") % {
            "kinds": ", ".join(kinds.get(kind, kind) for kind in conditions["channel_kinds"])})
    if conditions.get("channel_ids"):
        parts.append(gettext("channels no. %(ids)s") % {"ids": ", ".join(map(str, conditions["channel_ids"]))})
    if conditions.get("labels"):
        parts.append(gettext("label: %(labels)s") % {
            "labels": ", ".join(label_names.get(item, f"#{item}") for item in conditions["labels"])})
    if conditions.get("customer_labels"):
        parts.append(gettext("customer's label: %(labels)s") % {
            "labels": ", ".join(label_names.get(item, f"#{item}") for item in conditions["customer_labels"])})
    return parts or [gettext("every conversation")]


def _label_rule_summary(rule: LabelRule, kinds: dict[str, str]) -> str:
    if rule.kind == LabelRuleKind.keyword:
        return gettext("words: %(words)s") % {"words": ", ".join(rule.conditions.get("keywords", []))}
    parts = []
    if rule.conditions.get("channel_kinds"):
        parts.append(", ".join(kinds.get(kind, kind) for kind in rule.conditions["channel_kinds"]))
    if rule.conditions.get("channel_ids"):
        parts.append(gettext("channels no. %(ids)s") % {"ids": ", ".join(map(str, rule.conditions["channel_ids"]))})
    if rule.conditions.get("referral") in REFERRAL_NAMES:
        parts.append(gettext(REFERRAL_NAMES[rule.conditions["referral"]]))
    return gettext("source: %(source)s") % {"source": "; ".join(parts)}


def _page(request: Request, session: Session, *, error: str = "", status_code: int = 200) -> Response:
    all_labels = labels.list_labels(session)
    kinds = _channel_kinds()
    names = {label.id: label.name for label in all_labels}
    rules: list[AssignmentRule] = service.list_rules(session)
    context = {  # the descriptions are made while rendering, in the page's language
        "rules": rules, "teams": {view.team.id: view.team for view in service.list_teams(session)},
        "describe_rule": lambda rule: _rule_summary(rule.conditions, kinds, names),
        "labels": all_labels, "label_names": names, "label_rules": labels.list_rules(session),
        "describe_label_rule": lambda rule: _label_rule_summary(rule, kinds),
        "replies": canned.list_responses(session, user_id=None), "channel_kinds": kinds, "error": error,
        "translate": gettext,
    }
    return render(request, "inbox/routing_settings.html", context, status_code=status_code)


def _refused(request: Request, session: Session, exc: XuyenError) -> Response:
    session.rollback()
    return _page(request, session, error=ERROR_MESSAGES.get(exc.code, exc.message), status_code=exc.status)


def _done_or_refused(request: Request, session: Session, action: Callable[[], object]) -> Response:
    """Back to the page once ``action`` is done; the page again with the reason when the service refuses."""
    try:
        action()
    except XuyenError as exc:
        return _refused(request, session, exc)
    return _back()


def _back() -> RedirectResponse:
    return RedirectResponse(PAGE, status_code=303)


def _id(value: str, *, code: str, message: str) -> int:
    """A chosen id from a form; ValidationFailed with ``code`` when it is not one."""
    value = value.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise ValidationFailed(message, code=code)
    return int(value)


def _ids(values: list[str], *, code: str, message: str) -> list[int]:
    return [_id(value, code=code, message=message) for value in values if value.strip()]


def _rule_conditions(channel_kinds: list[str], label_ids: list[str]) -> dict[str, Any]:
    known = _channel_kinds()
    if any(kind not in known for kind in channel_kinds):
        raise ValidationFailed("Choose channel kinds from the list.", code="channel_kind_invalid")
    return {"channel_kinds": list(dict.fromkeys(channel_kinds)),
            "labels": _ids(label_ids, code="label_not_found", message="Choose labels from the list.")}


@router.get(PAGE)
def routing_settings_page(request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """Assignment rules, labels and their rules, and shared saved replies, for managers to change."""
    return _page(request, session)


# Assignment rules ---------------------------------------------------------------------------------------


@router.post(f"{PAGE}/rules")
def add_rule(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
             name: FormText = "", team_id: FormText = "", channel_kinds: FormList = [],  # noqa: B006
             label_ids: FormList = [], assign_agent: FormText = "") -> Response:  # noqa: B006
    """Add an assignment rule, tried after the others."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: service.create_rule(
        session, name=name, team_id=_id(team_id, code="team_not_found", message="Choose a team."),
        conditions=_rule_conditions(channel_kinds, label_ids), assign_agent=assign_agent == "on",
        actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/rules/{{rule_id}}")
def change_rule(request: Request, session: DbSession, viewer: ManagerViewer, rule_id: SmallId,
                csrf_token: FormText = "", name: FormText = "", team_id: FormText = "",
                channel_kinds: FormList = [], label_ids: FormList = [],  # noqa: B006
                assign_agent: FormText = "") -> Response:
    """Change an assignment rule's name, team, channels, labels and whether it picks an agent (conditions the form
    does not show, such as channel ids set through the API, are kept)."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        rule = service.get_rule(session, rule_id=rule_id)
        conditions = rule.conditions | _rule_conditions(channel_kinds, label_ids)
        service.update_rule(session, rule_id=rule_id, changes={
            "name": name, "team_id": _id(team_id, code="team_not_found", message="Choose a team."),
            "conditions": conditions, "assign_agent": assign_agent == "on"}, actor=actor_name(viewer.principal))
    except XuyenError as exc:
        return _refused(request, session, exc)
    return _back()


@router.post(f"{PAGE}/rules/{{rule_id}}/enabled")
def switch_rule(request: Request, session: DbSession, viewer: ManagerViewer, rule_id: SmallId,
                csrf_token: FormText = "", enabled: FormText = "") -> Response:
    """Switch an assignment rule on or off."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: service.update_rule(
        session, rule_id=rule_id, changes={"enabled": enabled == "on"}, actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/rules/{{rule_id}}/move")
def move_rule(request: Request, session: DbSession, viewer: ManagerViewer, rule_id: SmallId,
              csrf_token: FormText = "", direction: FormText = "") -> Response:
    """Try an assignment rule one place earlier (up) or later (down)."""
    check_csrf(viewer.auth_session, csrf_token)
    if direction not in ("up", "down"):
        raise ValidationFailed("Move a rule up or down.", code="direction_invalid")
    return _done_or_refused(request, session, lambda: service.move_rule(
        session, rule_id=rule_id, offset=-1 if direction == "up" else 1, actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/rules/{{rule_id}}/delete")
def delete_rule(request: Request, session: DbSession, viewer: ManagerViewer, rule_id: SmallId,
                csrf_token: FormText = "") -> Response:
    """Remove an assignment rule."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: service.delete_rule(
        session, rule_id=rule_id, actor=actor_name(viewer.principal)))


# Labels and label rules ---------------------------------------------------------------------------------


@router.post(f"{PAGE}/labels")
def add_label(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
              name: FormText = "", colour: FormText = "#64748b") -> Response:
    """Define a label."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: labels.create_label(
        session, name=name, colour=colour.strip(), actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/labels/{{label_id}}")
def change_label(request: Request, session: DbSession, viewer: ManagerViewer, label_id: SmallId,
                 csrf_token: FormText = "", name: FormText = "", colour: FormText = "") -> Response:
    """Rename a label or change its colour."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: labels.update_label(
        session, label_id=label_id, name=name, colour=colour.strip() or None, actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/labels/{{label_id}}/delete")
def delete_label(request: Request, session: DbSession, viewer: ManagerViewer, label_id: SmallId,
                 csrf_token: FormText = "") -> Response:
    """Remove a label from every conversation, with its rules."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: labels.delete_label(
        session, label_id=label_id, actor=actor_name(viewer.principal)))


def _label_rule_conditions(kind: str, channel_kinds: list[str], referral: str, keywords: str) -> dict[str, Any]:
    if kind == LabelRuleKind.keyword.value:
        return {"keywords": [word.strip() for word in keywords.replace("\n", ",").split(",") if word.strip()]}
    if kind != LabelRuleKind.source.value:
        raise ValidationFailed("A label rule looks at the source or at keywords.", code="label_rule_invalid")
    if any(item not in _channel_kinds() for item in channel_kinds) or referral not in ("", *REFERRAL_NAMES):
        raise ValidationFailed("Choose channel kinds and a referral from the lists.", code="label_rule_invalid")
    return {"channel_kinds": list(dict.fromkeys(channel_kinds)), "referral": referral or None}


@router.post(f"{PAGE}/label-rules")
def add_label_rule(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                   label_id: FormText = "", kind: FormText = "", channel_kinds: FormList = [],  # noqa: B006
                   referral: FormText = "", keywords: FormText = "") -> Response:
    """Add a rule that puts a label on conversations by their source or by keywords."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        conditions = _label_rule_conditions(kind, channel_kinds, referral, keywords)
        labels.create_rule(session, label_id=_id(label_id, code="label_not_found", message="Choose a label."),
                           kind=LabelRuleKind(kind), conditions=conditions, actor=actor_name(viewer.principal))
    except XuyenError as exc:
        return _refused(request, session, exc)
    return _back()


@router.post(f"{PAGE}/label-rules/{{rule_id}}/enabled")
def switch_label_rule(request: Request, session: DbSession, viewer: ManagerViewer, rule_id: SmallId,
                      csrf_token: FormText = "", enabled: FormText = "") -> Response:
    """Switch a label rule on or off (the labels it put on stay)."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: labels.set_rule_enabled(
        session, rule_id=rule_id, enabled=enabled == "on", actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/label-rules/{{rule_id}}/delete")
def delete_label_rule(request: Request, session: DbSession, viewer: ManagerViewer, rule_id: SmallId,
                      csrf_token: FormText = "") -> Response:
    """Remove a label rule (the labels it put on stay)."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: labels.delete_rule(
        session, rule_id=rule_id, actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/label-rules/defaults")
def add_default_labels(session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "") -> Response:
    """Add the suggested Vietnamese labels and their rules that are missing."""
    check_csrf(viewer.auth_session, csrf_token)
    labels.install_defaults(session, actor=actor_name(viewer.principal))
    return _back()


# Shared saved replies -----------------------------------------------------------------------------------


@router.post(f"{PAGE}/replies")
def add_reply(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
              shortcut: FormText = "", text: FormText = "") -> Response:
    """Save a reply every agent can insert by its shortcut."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: canned.create_response(
        session, shortcut=shortcut, text=text, shared=True, principal=viewer.principal,
        actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/replies/{{response_id}}")
def change_reply(request: Request, session: DbSession, viewer: ManagerViewer, response_id: SmallId,
                 csrf_token: FormText = "", shortcut: FormText = "", text: FormText = "") -> Response:
    """Change a shared saved reply's shortcut or text."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: canned.update_response(
        session, response_id=response_id, shortcut=shortcut, text=text, principal=viewer.principal,
        actor=actor_name(viewer.principal)))


@router.post(f"{PAGE}/replies/{{response_id}}/delete")
def delete_reply(request: Request, session: DbSession, viewer: ManagerViewer, response_id: SmallId,
                 csrf_token: FormText = "") -> Response:
    """Remove a shared saved reply."""
    check_csrf(viewer.auth_session, csrf_token)
    return _done_or_refused(request, session, lambda: canned.delete_response(
        session, response_id=response_id, principal=viewer.principal, actor=actor_name(viewer.principal)))
