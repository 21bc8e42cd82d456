"""The leads API: capture (API keys and staff), list, read and update leads under the sales scope rule, import a
list, and the managers' lead forms and assignment rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, File, Form, Header, Path, Query, Response, UploadFile
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.errors import PayloadTooLarge
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.sales import custom_fields
from xuyen.sales.leads import configuration, exporting, importing, service
from xuyen.sales.leads.models import Lead, LeadStatus, SourceKind
from xuyen.sales.leads.schemas import (
    CapturedOut,
    FormIn,
    FormOut,
    ImportOut,
    ImportRowOut,
    LeadIn,
    LeadOut,
    LeadPatch,
    RuleIn,
    RuleOut,
)

router = Router(tags=["leads"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
LeadId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_IMPORT_BYTES = 20 * 1024 * 1024
FieldConditions = Annotated[list[str], Query(
    alias="field", max_length=10, description="Custom-field conditions written key:operator:value, as on "
                                              "/customers: e.g. `ngan_sach:between:10000000..`, "
                                              "`san_pham:any_of:ao,giay`.")]
_BAD_FILTER: dict[int | str, dict[str, Any]] = {
    422: {"description": "A custom-field condition that does not fit its field (invalid_condition, unknown_field)"}}
_BAD_VALUES: dict[int | str, dict[str, Any]] = {
    422: {"description": "A custom field value that does not fit: nothing is saved (invalid_custom_fields; "
                         "details.fields names each field)"}}


@router.post("/leads", status_code=201, responses=_BAD_VALUES,
             summary="Capture a lead (another system, a store, a landing page's backend)")
def capture_lead(body: LeadIn, session: Db, caller: Agent,
                 idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=150)] = None,
                 ) -> CapturedOut:
    """Capture one lead; sending the same ``Idempotency-Key`` again answers the first capture."""
    done = service.capture(
        session, source=body.source, phone=body.phone, email=body.email, name=body.name, province=body.province,
        product_interest=body.product_interest, source_detail=body.source_detail, campaign=body.campaign,
        utm=body.utm.model_dump(), labels=body.labels, fields=body.fields, owner_id=body.owner_id,
        store_id=body.store_id if body.store_id is not None else caller.store_id, team_id=body.team_id,
        dedupe_key=f"api:{caller.kind}:{caller.id}:{idempotency_key}" if idempotency_key else None,
        custom_values=body.custom_fields, actor=actor_name(caller))
    values = service.lead_values(session, lead_ids=[done.lead.id])
    return CapturedOut(lead=LeadOut.of(done.lead, custom_fields=values[done.lead.id]), capture_id=done.capture.id,
                       new_lead=done.new_lead, repeated=done.repeated)


def _conditions(session: Session, conditions: list[str]) -> list[Any]:
    return custom_fields.condition_clauses(session, entity=custom_fields.LEAD, conditions=conditions,
                                           id_column=Lead.id)


@router.get("/leads", summary="Leads the caller may see, newest first", responses=_BAD_FILTER)
def list_leads(session: Db, caller: Agent, status: LeadStatus | None = None, source: SourceKind | None = None,
               owner_id: Annotated[int | None, Query(ge=1)] = None,
               q: Annotated[str, Query(max_length=100)] = "",
               min_score: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
               sort: Annotated[Literal["newest", "score"], Query()] = "newest",
               conditions: FieldConditions = [],  # noqa: B006 (FastAPI copies the default)
               limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[LeadOut]:
    """Filter by status, source, owner, a piece of name/phone/e-mail, a lowest score and custom fields; newest or
    best first; each lead carries its custom field values."""
    leads = service.list_leads(session, principal=caller, status=status, source=source, owner_id=owner_id, q=q,
                               min_score=min_score, sort=sort, limit=limit, offset=offset,
                               where=_conditions(session, conditions))
    values = service.lead_values(session, lead_ids=[lead.id for lead in leads])
    return [LeadOut.of(lead, custom_fields=values[lead.id]) for lead in leads]


@router.get("/leads/export.csv", summary="Export leads as CSV", response_class=Response,
            responses={**_BAD_FILTER, 200: {"content": {"text/csv": {}}}})
def export_leads(session: Db, caller: Manager, status: LeadStatus | None = None, source: SourceKind | None = None,
                 owner_id: Annotated[int | None, Query(ge=1)] = None,
                 q: Annotated[str, Query(max_length=100)] = "",
                 conditions: FieldConditions = []) -> Response:  # noqa: B006
    """The leads the caller may see matching the filters (at most 10,000), with a column per custom field."""
    leads = service.list_leads(session, principal=caller, status=status, source=source, owner_id=owner_id, q=q,
                               limit=custom_fields.MAX_EXPORT, where=_conditions(session, conditions),
                               max_page=custom_fields.MAX_EXPORT)
    audit.record(session, actor=actor_name(caller), action="leads.exported", subject_type="lead", subject_id="*",
                 detail={"rows": len(leads), "q": q, "conditions": conditions})
    session.commit()
    return exporting.csv_response(exporting.leads_csv(session, leads=leads, locale=caller.locale), "leads.csv")


@router.get("/leads/{lead_id}", summary="A lead with its captures and custom fields")
def read_lead(lead_id: LeadId, session: Db, caller: Agent) -> LeadOut:
    lead = service.get_lead(session, principal=caller, lead_id=lead_id)
    return LeadOut.of(lead, service.captures_of(session, lead_id=lead.id),
                      custom_fields=service.lead_values(session, lead_ids=[lead.id])[lead.id])


@router.patch("/leads/{lead_id}", summary="Change a lead's status, owner or custom fields", responses=_BAD_VALUES)
def update_lead(lead_id: LeadId, body: LeadPatch, session: Db, caller: Agent) -> LeadOut:
    lead = service.update_lead(session, principal=caller, lead_id=lead_id, status=body.status,
                               owner_id=body.owner_id, clear_owner="owner_id" in body.model_fields_set
                               and body.owner_id is None, custom_values=body.custom_fields,
                               actor=actor_name(caller))
    return LeadOut.of(lead, custom_fields=service.lead_values(session, lead_ids=[lead.id])[lead.id])


@router.post("/leads/import", summary="Import a list of leads (CSV, .xlsx, .xls)")
async def import_leads(session: Db, _caller: Manager,
                       file: Annotated[UploadFile, File(description="The CSV, .xlsx or .xls file.")],
                       sheet: Annotated[str | None, Form(max_length=200)] = None,
                       campaign: Annotated[str, Form(max_length=200)] = "") -> ImportOut:
    """Every row becomes a lead from the "import" source; importing the same list again adds nothing."""
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge("A list of leads is at most 20 MB; split it.", code="import_too_large")
    report = importing.import_leads(session, data=data, file_name=file.filename or "", sheet=sheet,
                                    campaign=campaign)
    return ImportOut(rows=report.rows, new_leads=report.new_leads, existing_leads=report.existing_leads,
                     repeated=report.repeated,
                     errors=[ImportRowOut(row=row, message=message) for row, message in report.errors],
                     warnings=[ImportRowOut(row=row, message=message) for row, message in report.warnings])


@router.get("/lead-forms", summary="The website lead forms")
def list_forms(session: Db, _caller: Manager) -> list[FormOut]:
    return [FormOut.of(form) for form in configuration.list_forms(session)]


@router.post("/lead-forms", status_code=201, summary="Add a website lead form")
def create_form(body: FormIn, session: Db, _caller: Manager) -> FormOut:
    return FormOut.of(configuration.create_form(session, **body.model_dump()))


@router.patch("/lead-forms/{form_id}", summary="Change a website lead form")
def update_form(form_id: RowId, body: FormIn, session: Db, _caller: Manager) -> FormOut:
    return FormOut.of(configuration.update_form(session, form_id=form_id, **body.model_dump(exclude_unset=True)))


@router.get("/lead-rules", summary="The lead assignment rules, in the order they are tried")
def list_rules(session: Db, _caller: Manager) -> list[RuleOut]:
    return [RuleOut.of(rule) for rule in configuration.list_rules(session)]


@router.post("/lead-rules", status_code=201, summary="Add a lead assignment rule")
def create_rule(body: RuleIn, session: Db, _caller: Manager) -> RuleOut:
    return RuleOut.of(configuration.create_rule(session, **body.model_dump()))


@router.patch("/lead-rules/{rule_id}", summary="Change a lead assignment rule")
def update_rule(rule_id: RowId, body: RuleIn, session: Db, _caller: Manager) -> RuleOut:
    return RuleOut.of(configuration.update_rule(session, rule_id=rule_id, **body.model_dump(exclude_unset=True)))


@router.delete("/lead-rules/{rule_id}", status_code=204, summary="Remove a lead assignment rule")
def delete_rule(rule_id: RowId, session: Db, _caller: Manager) -> None:
    configuration.delete_rule(session, rule_id=rule_id)
