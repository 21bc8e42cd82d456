"""Message templates on the pages: the list, the editor with a section per channel, and the preview pane that
renders every channel for a real customer (with the SMS counter). Managers edit; agents read and preview.

The editor's ZNS parameters are one a line: ``name = expression | max length`` (the length is optional).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name
from xuyen.journeys.templates import service
from xuyen.journeys.templates.models import MessageTemplate
from xuyen.journeys.templates.service import Preview
from xuyen.journeys.templates.variants import ZNS_DEFAULT_PARAM_LENGTH
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=500)]
BodyText = Annotated[str, Form(max_length=50_000)]
TemplateId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
LIST_PATH = "/templates"
MAX_EVENT_JSON = 20_000

PURPOSE_LABELS: dict[str, str] = {"marketing": N_("Marketing"), "transactional": N_("Transactional"),
                                  "care": N_("Customer care")}
CHANNEL_LABELS: dict[str, str] = {"email": N_("Email"), "sms": N_("SMS"), "zns": N_("Zalo ZNS"),
                                  "messenger": N_("Facebook Messenger"), "zalo_oa": N_("Zalo OA")}
ERRORS: dict[str, str] = {
    "name_required": N_("Give the template a name."),
    "name_too_long": N_("A template name is at most 200 characters."),
    "duplicate_template": N_("There is a template with this name already."),
    "unknown_purpose": N_("Choose what the template is for."),
    "variants_required": N_("Write the message for at least one channel."),
    "version_conflict": N_("Someone saved this template while you were editing it: your changes were not saved. "
                           "Reload it and edit again."),
    "zns_template_id_required": N_("Give the id Zalo gave the approved ZNS template."),
    "zns_params_required": N_("List the ZNS template's parameters, one a line: name = value | max length."),
    "invalid_zns_param": N_("A ZNS parameter line is name = value | max length (a-z, 0-9, _; length 1 to 400)."),
    "empty_variant": N_("A channel's message is empty: write it or clear the whole channel."),
    "bad_event": N_("The sample event is not a JSON object."),
    "customer_not_found": N_("No customer matches the search."),
}


def _zns_lines(params: list[Mapping[str, Any]]) -> str:
    lines = []
    for param in params:
        limit = int(param.get("max_length", ZNS_DEFAULT_PARAM_LENGTH))
        lines.append(f"{param['name']} = {param['value']}"
                     + (f" | {limit}" if limit != ZNS_DEFAULT_PARAM_LENGTH else ""))
    return "\n".join(lines)


def _parse_zns_lines(text: str) -> list[dict[str, Any]]:
    params = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _eq, rest = line.partition("=")
        value, bar, limit = rest.rpartition("|") if "|" in rest and rest.rpartition("|")[2].strip().isdigit() \
            else (rest, "", "")
        param: dict[str, Any] = {"name": name.strip(), "value": value.strip()}
        if bar:
            param["max_length"] = int(limit.strip())
        params.append(param)
    return params


def form_of(template: MessageTemplate | None) -> dict[str, str]:
    """The editor's inputs filled from ``template`` (empty for a new one)."""
    if template is None:
        return {"purpose": "marketing"}
    variants = template.variants
    email, sms, zns = variants.get("email", {}), variants.get("sms", {}), variants.get("zns", {})
    return {"name": template.name, "purpose": template.purpose, "description": template.description,
            "email_subject": email.get("subject", ""), "email_html": email.get("html", ""),
            "email_text": email.get("text", ""), "sms_text": sms.get("text", ""),
            "sms_strip": "1" if sms.get("strip_accents") else "", "zns_template_id": zns.get("template_id", ""),
            "zns_params": _zns_lines(zns.get("params", [])), "messenger_text": variants.get("messenger", {}).get(
                "text", ""), "zalo_oa_text": variants.get("zalo_oa", {}).get("text", "")}


def variants_of(typed: Mapping[str, str]) -> dict[str, Any]:
    """The variants the editor's inputs describe: a channel whose inputs are all empty is left out."""
    variants: dict[str, Any] = {}
    if any(typed.get(key, "").strip() for key in ("email_subject", "email_html", "email_text")):
        variants["email"] = {"subject": typed.get("email_subject", ""), "html": typed.get("email_html", ""),
                             "text": typed.get("email_text", "")}
    if typed.get("sms_text", "").strip():
        variants["sms"] = {"text": typed["sms_text"], "strip_accents": bool(typed.get("sms_strip"))}
    if typed.get("zns_template_id", "").strip() or typed.get("zns_params", "").strip():
        variants["zns"] = {"template_id": typed.get("zns_template_id", ""),
                           "params": _parse_zns_lines(typed.get("zns_params", ""))}
    for channel in ("messenger", "zalo_oa"):
        if typed.get(f"{channel}_text", "").strip():
            variants[channel] = {"text": typed[f"{channel}_text"]}
    return variants


def _error_text(exc: ValidationFailed | Conflict | NotFound) -> str:
    """A translated message for a known code; the service's own message (naming the part and line) otherwise."""
    known = ERRORS.get(exc.code or "")
    return known if known else exc.message


def _event(text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        value = json.loads(text[:MAX_EVENT_JSON])
    except ValueError:
        raise ValidationFailed("The sample event is not JSON.", code="bad_event") from None
    if not isinstance(value, dict):
        raise ValidationFailed("The sample event is not a JSON object.", code="bad_event")
    return value


@router.get(LIST_PATH)
def templates_page(request: Request, session: DbSession, viewer: AgentViewer,
                   archived: Annotated[bool, Query()] = False) -> Response:
    """The message templates by name, with the channels each one has."""
    return render(request, "message_templates/list.html", {
        "templates": service.list_templates(session, include_archived=archived), "archived": archived,
        "purposes": PURPOSE_LABELS, "channels": CHANNEL_LABELS, "can_edit": viewer.can(Role.manager)})


def _editor(request: Request, session: Session, viewer: Viewer, *, template: MessageTemplate | None,
            typed: Mapping[str, str] | None = None, error: str = "", preview: Preview | None = None,
            preview_error: str = "", customer: str = "", event_text: str = "", status_code: int = 200) -> Response:
    return render(request, "message_templates/edit.html", {
        "template": template, "typed": dict(typed if typed is not None else form_of(template)), "error": error,
        "purposes": PURPOSE_LABELS, "channels": CHANNEL_LABELS, "can_edit": viewer.can(Role.manager),
        "preview": preview, "preview_error": preview_error, "customer": customer, "event_text": event_text,
    }, status_code=status_code)


@router.get(LIST_PATH + "/new")
def new_template_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """An empty editor."""
    return _editor(request, session, viewer, template=None)


def _typed(name: str, purpose: str, description: str, email_subject: str, email_html: str, email_text: str,
           sms_text: str, sms_strip: str, zns_template_id: str, zns_params: str, messenger_text: str,
           zalo_oa_text: str) -> dict[str, str]:
    return {"name": name, "purpose": purpose, "description": description, "email_subject": email_subject,
            "email_html": email_html, "email_text": email_text, "sms_text": sms_text, "sms_strip": sms_strip,
            "zns_template_id": zns_template_id, "zns_params": zns_params, "messenger_text": messenger_text,
            "zalo_oa_text": zalo_oa_text}


@router.post(LIST_PATH)
def create_template(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                    name: FormText = "", purpose: FormText = "", description: BodyText = "",
                    email_subject: BodyText = "", email_html: BodyText = "", email_text: BodyText = "",
                    sms_text: BodyText = "", sms_strip: FormText = "", zns_template_id: FormText = "",
                    zns_params: BodyText = "", messenger_text: BodyText = "", zalo_oa_text: BodyText = "") -> Response:
    """Save a new template; a refused one comes back with what was typed and the problem."""
    check_csrf(viewer.auth_session, csrf_token)
    typed = _typed(name, purpose, description, email_subject, email_html, email_text, sms_text, sms_strip,
                   zns_template_id, zns_params, messenger_text, zalo_oa_text)
    try:
        template = service.create_template(session, name=name, purpose=purpose, description=description,
                                           variants=variants_of(typed), actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        return _editor(request, session, viewer, template=None, typed=typed, error=_error_text(exc),
                       status_code=409 if isinstance(exc, Conflict) else 422)
    return RedirectResponse(f"{LIST_PATH}/{template.id}", status_code=303)


@router.get(LIST_PATH + "/{template_id}")
def template_page(request: Request, session: DbSession, viewer: AgentViewer, template_id: TemplateId,
                  customer: Annotated[str, Query(max_length=200)] = "",
                  event: Annotated[str, Query(max_length=MAX_EVENT_JSON)] = "") -> Response:
    """The editor (read-only for agents) and, when a customer is searched for, every channel rendered for them."""
    template = service.get_template(session, template_id=template_id)
    shown, problem = None, ""
    if customer.strip():
        try:
            query = customer.strip()
            by_id = int(query) if query.isdigit() and len(query) < 10 else None
            shown = service.preview(session, template_id=template_id, profile_id=by_id,
                                    query="" if by_id else query, event=_event(event))
        except (ValidationFailed, NotFound) as exc:
            problem = _error_text(exc)
    return _editor(request, session, viewer, template=template, preview=shown, preview_error=problem,
                   customer=customer, event_text=event)


@router.post(LIST_PATH + "/{template_id}")
def save_template(request: Request, session: DbSession, viewer: ManagerViewer, template_id: TemplateId,
                  csrf_token: FormText = "", version: Annotated[int, Form(ge=1, le=2**31 - 1)] = 1,
                  name: FormText = "", purpose: FormText = "", description: BodyText = "",
                  email_subject: BodyText = "", email_html: BodyText = "", email_text: BodyText = "",
                  sms_text: BodyText = "", sms_strip: FormText = "", zns_template_id: FormText = "",
                  zns_params: BodyText = "", messenger_text: BodyText = "", zalo_oa_text: BodyText = "") -> Response:
    """Save a new version; refused when it does not compile or someone saved another version meanwhile."""
    check_csrf(viewer.auth_session, csrf_token)
    typed = _typed(name, purpose, description, email_subject, email_html, email_text, sms_text, sms_strip,
                   zns_template_id, zns_params, messenger_text, zalo_oa_text)
    try:
        service.update_template(session, template_id=template_id, expected_version=version, name=name,
                                purpose=purpose, description=description, variants=variants_of(typed),
                                actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        template = service.get_template(session, template_id=template_id)
        return _editor(request, session, viewer, template=template, typed=typed, error=_error_text(exc),
                       status_code=409 if isinstance(exc, Conflict) else 422)
    return RedirectResponse(f"{LIST_PATH}/{template_id}", status_code=303)


@router.post(LIST_PATH + "/{template_id}/archive")
def archive_template(session: DbSession, viewer: ManagerViewer, template_id: TemplateId, csrf_token: FormText = "",
                     archived: FormText = "yes") -> Response:
    """Archive a template, or restore it."""
    check_csrf(viewer.auth_session, csrf_token)
    service.archive_template(session, template_id=template_id, actor=actor_name(viewer.principal),
                             archived=archived != "no")
    return RedirectResponse(LIST_PATH, status_code=303)
