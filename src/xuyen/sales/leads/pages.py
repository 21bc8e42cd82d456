"""The leads pages: the list (filters by status, source and owner, under the sales scope rule), a lead's page
(captures, quality, status and owner), the lead forms with their embed snippet, the assignment rules, the "Mark as
lead" action of a conversation, and the leads panel of the customer 360 page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen import audit, i18n
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.errors import ValidationFailed, XuyenError
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.inbox.routing import service as routing
from xuyen.routing import Router
from xuyen.sales.custom_fields import LEAD, MAX_EXPORT
from xuyen.sales.leads import configuration, exporting, service
from xuyen.sales.leads.models import Lead, LeadStatus, SourceKind
from xuyen.sales.scope import scope_of, sees
from xuyen.ui import custom_fields as custom_field_pages
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.panels import customer_panel
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=2000)]
PAGE_SIZE = 50

STATUS_LABELS = {"new": i18n.N_("New"), "contacted": i18n.N_("Contacted"), "qualified": i18n.N_("Qualified"),
                 "unqualified": i18n.N_("Unqualified"), "converted": i18n.N_("Converted")}
SOURCE_LABELS = {"form": i18n.N_("Website form"), "facebook_lead_ads": "Facebook Lead Ads",
                 "zalo_form": i18n.N_("Zalo form"), "chat": i18n.N_("Chat"), "import": i18n.N_("Imported list"),
                 "api": "API", "store_visit": i18n.N_("Store visit")}
FLAG_LABELS = {"phone_invalid": i18n.N_("Phone number not valid"),
               "phone_unverified": i18n.N_("Phone number may not exist"),
               "email_invalid": i18n.N_("E-mail address not valid"),
               "email_no_mail_server": i18n.N_("E-mail domain has no mail server"),
               "no_contact": i18n.N_("No way to reach the person")}
MX_LABELS = {"ok": i18n.N_("mail server found"), "no_mail_server": i18n.N_("no mail server"),
             "unknown": i18n.N_("not checked (DNS unavailable)")}
LABELS = {"status_labels": STATUS_LABELS, "source_labels": SOURCE_LABELS, "flag_labels": FLAG_LABELS,
          "mx_labels": MX_LABELS}


def _int(value: str) -> int | None:
    return int(value) if value.strip().isdigit() and len(value.strip()) < 10 else None


def _users(session: Session) -> dict[int, str]:
    return {user.id: user.name for user in auth_service.list_users(session) if user.is_active}


def _list_filters(request: Request, session: Session, viewer: Viewer, *, status: str, source: str, owner: str,
                  q: str, min_score: str = "", sort: str = "") -> tuple[dict[str, str], custom_field_pages.ListFilters]:
    """The list's own filters (unknown values dropped) and its custom-field filters."""
    filters = {"status": status if status in STATUS_LABELS else "", "source": source if source in SOURCE_LABELS
               else "", "owner": owner if _int(owner) else "", "q": q.strip(),
               "min_score": min_score.strip() if _int(min_score) is not None else "",
               "sort": "score" if sort == "score" else ""}
    custom = custom_field_pages.list_filters(session, entity=LEAD, params=request.query_params,
                                             locale=viewer.principal.locale, id_column=Lead.id)
    return filters, custom


def _find_leads(session: Session, viewer: Viewer, filters: dict[str, str], custom: custom_field_pages.ListFilters,
                *, limit: int, offset: int = 0) -> list[Lead]:
    return service.list_leads(session, principal=viewer.principal,
                              status=LeadStatus(filters["status"]) if filters["status"] else None,
                              source=SourceKind(filters["source"]) if filters["source"] else None,
                              owner_id=_int(filters["owner"]), q=filters["q"], min_score=_int(filters["min_score"]),
                              sort=filters["sort"] or "newest", limit=limit, offset=offset, where=custom.clauses,
                              max_page=max(limit, service.MAX_PAGE))


@router.get("/leads")
def leads_page(request: Request, session: DbSession, viewer: AgentViewer,
               status: Annotated[str, Query(max_length=20)] = "", source: Annotated[str, Query(max_length=30)] = "",
               owner: Annotated[str, Query(max_length=10)] = "", q: Annotated[str, Query(max_length=100)] = "",
               min_score: Annotated[str, Query(max_length=10)] = "", sort: Annotated[str, Query(max_length=10)] = "",
               page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """The leads the viewer may see, newest or best first, filtered by status, source, owner, score and custom
    fields."""
    filters, custom = _list_filters(request, session, viewer, status=status, source=source, owner=owner, q=q,
                                    min_score=min_score, sort=sort)
    leads = _find_leads(session, viewer, filters, custom, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    query = {key: value for key, value in request.query_params.multi_items() if value and key != "page"}
    query_list = [(key, value) for key, value in request.query_params.multi_items() if value and key != "page"]
    return render(request, "leads/list.html", {
        **LABELS, "leads": leads[:PAGE_SIZE], "filters": filters, "can_manage": viewer.principal.can(Role.manager),
        "users": _users(session), "page": page, "custom_filters": custom.inputs, "filter_error": custom.error,
        "export_query": urlencode(query_list),
        "next_page": urlencode([*query_list, ("page", page + 1)]) if len(leads) > PAGE_SIZE else "",
        "previous_page": urlencode([*query_list, ("page", page - 1)]) if page > 1 else "", "query": query})


@router.get("/leads/export.csv")
def export_leads(request: Request, session: DbSession, viewer: ManagerViewer,
                 status: Annotated[str, Query(max_length=20)] = "", source: Annotated[str, Query(max_length=30)] = "",
                 owner: Annotated[str, Query(max_length=10)] = "", q: Annotated[str, Query(max_length=100)] = "",
                 min_score: Annotated[str, Query(max_length=10)] = "",
                 sort: Annotated[str, Query(max_length=10)] = "") -> Response:
    """The leads the list's filters find (within the viewer's scope), as CSV with a column per custom field."""
    filters, custom = _list_filters(request, session, viewer, status=status, source=source, owner=owner, q=q,
                                    min_score=min_score, sort=sort)
    if custom.error:
        raise ValidationFailed(custom.error, code="invalid_condition")
    leads = _find_leads(session, viewer, filters, custom, limit=MAX_EXPORT)
    audit.record(session, actor=actor_name(viewer.principal), action="leads.exported", subject_type="lead",
                 subject_id="*", detail={"rows": len(leads), **{key: value for key, value in filters.items() if value}})
    session.commit()
    return exporting.csv_response(exporting.leads_csv(session, leads=leads, locale=viewer.principal.locale),
                                  "leads.csv")


# Settings: forms and rules (before /leads/{lead_id}) ------------------------------------------------------


def _forms_page(request: Request, session: Session, *, error: str = "", status_code: int = 200) -> Response:
    base = str(request.base_url).rstrip("/")
    return render(request, "leads/forms.html", {
        "forms": configuration.list_forms(session), "users": _users(session), "base_url": base,
        "teams": {view.team.id: view.team.name for view in routing.list_teams(session)}, "error": error},
        status_code=status_code)


@router.get("/leads/forms")
def forms_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The website lead forms and the snippet that embeds each."""
    return _forms_page(request, session)


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


@router.post("/leads/forms")
def add_form(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
             name: FormText = "", allowed_origins: FormText = "", campaign: FormText = "", labels: FormText = "",
             owner_id: FormText = "", team_id: FormText = "") -> Response:
    """Add a website lead form."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        if not name.strip():
            raise ValidationFailed("Give the form a name.", code="form_name_missing")
        configuration.create_form(session, name=name.strip()[:200], allowed_origins=_lines(allowed_origins),
                                  campaign=campaign.strip()[:200], labels=_lines(labels),
                                  owner_id=_int(owner_id), team_id=_int(team_id))
    except ValidationFailed as exc:
        session.rollback()
        return _forms_page(request, session, error=exc.message, status_code=422)
    return RedirectResponse("/leads/forms", status_code=303)


@router.post("/leads/forms/{form_id}/active")
def toggle_form(session: DbSession, viewer: ManagerViewer, form_id: RowId, csrf_token: FormText = "",
                active: FormText = "") -> Response:
    """Switch a form on or off."""
    check_csrf(viewer.auth_session, csrf_token)
    configuration.update_form(session, form_id=form_id, active=active == "1")
    return RedirectResponse("/leads/forms", status_code=303)


def _rules_page(request: Request, session: Session, *, error: str = "", status_code: int = 200) -> Response:
    return render(request, "leads/rules.html", {
        **LABELS, "rules": configuration.list_rules(session), "users": _users(session),
        "teams": {view.team.id: view.team.name for view in routing.list_teams(session)}, "error": error},
        status_code=status_code)


@router.get("/leads/rules")
def rules_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The assignment rules, in the order they are tried."""
    return _rules_page(request, session)


@router.post("/leads/rules")
def add_rule(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
             name: FormText = "", position: FormText = "", source: FormText = "", province: FormText = "",
             product_interest: FormText = "", team_id: FormText = "", assign_user_id: FormText = "",
             assign_team_id: FormText = "") -> Response:
    """Add an assignment rule."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        configuration.create_rule(session, name=name.strip()[:200], position=_int(position) or 0,
                                  source=SourceKind(source) if source in SOURCE_LABELS else None,
                                  province=province.strip()[:100], product_interest=product_interest.strip()[:200],
                                  team_id=_int(team_id), assign_user_id=_int(assign_user_id),
                                  assign_team_id=_int(assign_team_id))
    except ValidationFailed as exc:
        session.rollback()
        return _rules_page(request, session, error=exc.message, status_code=422)
    return RedirectResponse("/leads/rules", status_code=303)


@router.post("/leads/rules/{rule_id}/delete")
def remove_rule(session: DbSession, viewer: ManagerViewer, rule_id: RowId, csrf_token: FormText = "") -> Response:
    """Remove an assignment rule."""
    check_csrf(viewer.auth_session, csrf_token)
    configuration.delete_rule(session, rule_id=rule_id)
    return RedirectResponse("/leads/rules", status_code=303)


# Marking a conversation's customer as a lead ---------------------------------------------------------------


@router.post("/leads/chat")
def mark_as_lead(session: DbSession, viewer: AgentViewer, csrf_token: FormText = "",
                 conversation_id: FormText = "") -> Response:
    """The "Mark as lead" action of a conversation: its customer becomes a lead, owned by the agent."""
    check_csrf(viewer.auth_session, csrf_token)
    found = _int(conversation_id)
    if found is None:
        raise ValidationFailed("Which conversation?", code="conversation_missing")
    done = service.mark_conversation(session, principal=viewer.principal, conversation_id=found)
    return RedirectResponse(f"/leads/{done.lead.id}", status_code=303)


# One lead --------------------------------------------------------------------------------------------------


def _score_recent(lead: Lead) -> list[dict[str, Any]]:
    """The latest events that gave the lead points, their times read back."""
    return [{**item, "at": datetime.fromisoformat(item["at"])} for item in (lead.score_parts or {}).get("recent", [])
            if isinstance(item, dict) and isinstance(item.get("at"), str)]


def _lead_page(request: Request, session: Session, viewer: Viewer, lead_id: int, *, error: str = "",
               status_code: int = 200) -> Response:
    lead = service.get_lead(session, principal=viewer.principal, lead_id=lead_id)
    return render(request, "leads/detail.html", {
        **LABELS, "lead": lead, "score_recent": _score_recent(lead),
        "can_manage": viewer.principal.can(Role.manager), "captures": service.captures_of(session, lead_id=lead.id),
        "users": _users(session),
        "custom_rows": custom_field_pages.record_values(session, entity=LEAD, entity_id=lead.id),
        "custom_edit_url": f"/leads/{lead.id}/custom-fields",
        "teams": {view.team.id: view.team.name for view in routing.list_teams(session)}, "error": error},
        status_code=status_code)


@router.get("/leads/{lead_id}")
def lead_page(request: Request, session: DbSession, viewer: AgentViewer, lead_id: RowId) -> Response:
    """A lead: contact as normalised, quality, captures with their source and tags, status and owner."""
    return _lead_page(request, session, viewer, lead_id)


@router.post("/leads/{lead_id}")
def change_lead(request: Request, session: DbSession, viewer: AgentViewer, lead_id: RowId,
                csrf_token: FormText = "", status: FormText = "", owner_id: FormText = "") -> Response:
    """Change a lead's status and owner."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        service.update_lead(session, principal=viewer.principal, lead_id=lead_id,
                            status=LeadStatus(status) if status in STATUS_LABELS else None,
                            owner_id=_int(owner_id), clear_owner=owner_id == "none")
    except ValidationFailed as exc:
        session.rollback()
        return _lead_page(request, session, viewer, lead_id, error=exc.message, status_code=422)
    lead = service.lead_of_id(session, lead_id=lead_id)
    still_seen = lead is not None and sees(scope_of(session, principal=viewer.principal), owner_id=lead.owner_id,
                                           store_id=lead.store_id, team_id=lead.team_id)
    return RedirectResponse(f"/leads/{lead_id}" if still_seen else "/leads", status_code=303)


def _lead_title(lead: Lead) -> str:
    return lead.name or lead.phone or lead.email or f"#{lead.id}"


@router.get("/leads/{lead_id}/custom-fields")
def edit_lead_fields(request: Request, session: DbSession, viewer: AgentViewer, lead_id: RowId) -> Response:
    """The form for the lead's custom fields."""
    lead = service.get_lead(session, principal=viewer.principal, lead_id=lead_id)
    return custom_field_pages.record_form(request, session, entity=LEAD, entity_id=lead.id, viewer=viewer,
                                          title=_lead_title(lead), back=f"/leads/{lead.id}")


@router.post("/leads/{lead_id}/custom-fields")
async def save_lead_fields(request: Request, session: DbSession, viewer: AgentViewer, lead_id: RowId) -> Response:
    """Save the lead's custom fields, all or nothing; a refused save shows each field's problem."""
    lead = service.get_lead(session, principal=viewer.principal, lead_id=lead_id)
    typed = await custom_field_pages.submitted_values(request, viewer, entity=LEAD, session=session)
    try:
        service.update_lead(session, principal=viewer.principal, lead_id=lead.id, custom_values=typed, form=True,
                            actor=actor_name(viewer.principal))
    except ValidationFailed as exc:
        session.rollback()
        lead = service.get_lead(session, principal=viewer.principal, lead_id=lead_id)
        return custom_field_pages.record_form(request, session, entity=LEAD, entity_id=lead.id, viewer=viewer,
                                              title=_lead_title(lead), back=f"/leads/{lead.id}", typed=typed,
                                              errors=custom_field_pages.refused_problems(exc), status_code=422)
    return RedirectResponse(f"/leads/{lead_id}#custom-fields", status_code=303)


# The customer 360 panel ----------------------------------------------------------------------------------


@customer_panel("lead", label=i18n.N_("Lead"), template="leads/_customer_panel.html", order=45)
def lead_panel(session: Session, profile_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """The customer's lead (when they are one and the viewer may see it) and its latest captures."""
    lead = service.lead_of_profile(session, profile_id=profile_id)
    if lead is None:
        return None
    try:
        service.get_lead(session, principal=viewer.principal, lead_id=lead.id)
    except XuyenError:
        return None
    return {**LABELS, "lead": lead, "captures": service.captures_of(session, lead_id=lead.id)[:5],
            "users": _users(session)}
