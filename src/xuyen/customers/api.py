"""The customers API: search, the customer 360 and its timeline, consents, and privacy (export, erase, audit).

Agents and above read and record consent; managers export a person's data; only owners erase a person
or read the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.customers import privacy, service
from xuyen.customers.schemas import (
    ConsentIn,
    ConsentOut,
    CustomerChange,
    CustomerOut,
    CustomerSummaryOut,
    ErasureIn,
    ErasureOut,
    TimelineOut,
    consents_out,
)
from xuyen.errors import ValidationFailed
from xuyen.fields import customers as custom_fields
from xuyen.http import get_session
from xuyen.identity.schemas import MAX_ID
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(tags=["customers"])

MAX_LIMIT = 200
MAX_EXPORT = 10_000

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Owner = Annotated[Principal, Depends(require_role(Role.owner))]
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID, description="The customer's profile id (an absorbed id works too).")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such customer, or erased"}}
_BAD_FILTER: dict[int | str, dict[str, Any]] = {422: {
    "description": "A custom-field condition that does not fit its field (invalid_condition, unknown_field)"}}
Search = Annotated[str, Query(max_length=200, description="A name (with or without diacritics), a phone in any "
                                                          "format, an e-mail or any identifier. Empty: the most "
                                                          "recently seen customers.")]
FieldConditions = Annotated[list[str], Query(
    alias="field", description="Custom-field conditions, all of which must hold, written key:operator:value with "
                               "operators equals, contains, between (low..high, either may be left out), any_of "
                               "(comma-separated), is_set (yes/no); numbers and dates as in the API (1500000.5, "
                               "2026-12-25). E.g. `tier:any_of:vang,bac`, `spend:between:1000000..`.")]


@router.get("/customers", summary="Search customers", responses=_BAD_FILTER)
def search_customers(
    session: Db,
    _caller: Agent,
    q: Search = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    conditions: FieldConditions = [],  # noqa: B006 (FastAPI copies the default)
    with_fields: Annotated[bool, Query(alias="custom_fields", description="Add each customer's custom field "
                                                                          "values.")] = False,
) -> list[CustomerSummaryOut]:
    """Customers matching ``q`` and the custom-field conditions: identifier matches first, then names containing
    every word."""
    where = custom_fields.condition_clauses(session, conditions=conditions)
    rows = service.search_customers(session, query=q, limit=limit, where=where)
    values = custom_fields.customers_values(session, profile_ids=[row.profile_id for row in rows]) \
        if with_fields else {}
    return [CustomerSummaryOut.of(row, values.get(row.profile_id)) for row in rows]


@router.get("/customers/export.csv", summary="Export customers as CSV", response_class=Response,
            responses={**_BAD_FILTER, 200: {"content": {"text/csv": {}}}})
def export_customers_csv(
    session: Db,
    caller: Manager,
    q: Search = "",
    conditions: FieldConditions = [],  # noqa: B006 (FastAPI copies the default)
    limit: Annotated[int, Query(ge=1, le=MAX_EXPORT)] = MAX_EXPORT,
) -> Response:
    """The customers matching ``q`` and the conditions (as the search), with a column per custom field."""
    where = custom_fields.condition_clauses(session, conditions=conditions)
    rows = service.search_customers(session, query=q, limit=limit, where=where)
    audit.record(session, actor=actor_name(caller), action="customers.exported", subject_type="profile",
                 subject_id="*", detail={"rows": len(rows), "q": q, "conditions": conditions})
    session.commit()
    return Response(custom_fields.customers_csv(session, rows=rows, locale=caller.locale),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="customers.csv"'})


@router.get("/customers/{customer_id:int}", summary="The customer 360", responses=_NOT_FOUND)
def read_customer(customer_id: CustomerId, session: Db, caller: Agent) -> CustomerOut:
    """The customer with identifiers, merges, traits (with source and time), computed traits and consents.
    Every read is written to the audit log."""
    answer = CustomerOut.of(service.get_customer(session, profile_id=customer_id, actor=actor_name(caller)))
    answer.custom_fields = custom_fields.customer_values(session, profile_id=answer.id)
    return answer


@router.patch("/customers/{customer_id:int}", summary="Change a customer's custom fields", responses={
    **_NOT_FOUND, 422: {"description": "A value that does not fit its field: nothing is saved "
                                       "(invalid_custom_fields; details.fields names each field)"}})
def change_customer(customer_id: CustomerId, body: CustomerChange, session: Db, caller: Agent) -> dict[str, Any]:
    """Set some of the customer's custom field values (by key), all or nothing; answers with every value."""
    return {"id": service.require_customer(session, profile_id=customer_id),
            "custom_fields": custom_fields.set_customer_values(session, profile_id=customer_id,
                                                               values=body.custom_fields, form=False,
                                                               actor=actor_name(caller))}


@router.get("/customers/{customer_id:int}/timeline", summary="The customer's timeline", responses={
    **_NOT_FOUND, 400: {"description": "The cursor is not one this API gave (code invalid_cursor)"}})
def read_timeline(
    customer_id: CustomerId,
    session: Db,
    caller: Agent,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> TimelineOut:
    """Everything that happened with the customer on every channel, newest first, a page at a time."""
    return TimelineOut.of(service.customer_timeline(session, profile_id=customer_id, cursor=cursor, limit=limit,
                                                      viewer=caller))


@router.get("/customers/{customer_id:int}/consents", summary="The customer's consents", responses=_NOT_FOUND)
def read_consents(customer_id: CustomerId, session: Db, caller: Agent) -> list[ConsentOut]:
    """The current consent per channel and purpose, with its proof."""
    return consents_out(service.get_customer(session, profile_id=customer_id, actor=actor_name(caller)).state)


@router.post("/customers/{customer_id:int}/consents", status_code=201, summary="Record a consent", responses={
    **_NOT_FOUND, 422: {"description": "Unknown channel or purpose (invalid_consent), or no proof"}})
def record_consent(customer_id: CustomerId, body: ConsentIn, session: Db, caller: Agent) -> list[ConsentOut]:
    """Record that the customer gave or withdrew consent, and how; answers with the current consents."""
    state = service.record_consent(session, profile_id=customer_id, channel=body.channel, purpose=body.purpose,
                                   granted=body.granted, proof=body.proof, actor=actor_name(caller))
    return consents_out(state)


@router.get("/customers/{customer_id:int}/export", summary="Export a person's data", responses=_NOT_FOUND)
def export_customer(customer_id: CustomerId, session: Db, caller: Manager) -> dict[str, Any]:
    """Everything held about the person, as JSON (identifiers, traits, consents, merges, events); audited."""
    return privacy.export_person(session, profile_id=customer_id, actor=actor_name(caller))


@router.post("/customers/{customer_id:int}/erase", status_code=201, summary="Erase a person", responses={
    **_NOT_FOUND, 409: {"description": "Already erased"}, 422: {"description": "Not confirmed, or no reason"}})
def erase_customer(customer_id: CustomerId, body: ErasureIn, session: Db, caller: Owner) -> ErasureOut:
    """Erase the person for good: identifiers, traits, consents and their events' personal fields."""
    if not body.confirm:
        raise ValidationFailed("Erasure cannot be undone: send `confirm: true` to go ahead.", code="not_confirmed")
    return ErasureOut.of(privacy.erase_person(session, profile_id=customer_id, actor=actor_name(caller),
                                              reason=body.reason))


@router.get("/audit", summary="Read the audit log")
def read_audit_log(
    session: Db,
    _caller: Owner,
    subject_type: Annotated[str | None, Query(max_length=64)] = None,
    subject_id: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Who viewed, exported, merged or erased whose data, newest first."""
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
             "subject_type": e.subject_type, "subject_id": e.subject_id, "detail": e.detail}
            for e in audit.list_entries(session, subject_type=subject_type, subject_id=subject_id, action=action,
                                        limit=limit)]
