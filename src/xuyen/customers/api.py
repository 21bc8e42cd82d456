"""The customers API: search, the customer 360 and its timeline, consents, and privacy (export, erase, audit).

Agents and above read and record consent; managers export a person's data; only owners erase a person
or read the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.customers import privacy, service
from xuyen.customers.schemas import (
    ConsentIn,
    ConsentOut,
    CustomerOut,
    CustomerSummaryOut,
    ErasureIn,
    ErasureOut,
    TimelineOut,
    consents_out,
)
from xuyen.errors import ValidationFailed
from xuyen.http import get_session
from xuyen.identity.schemas import MAX_ID
from xuyen.identity.service import actor_name

router = APIRouter(tags=["customers"])

MAX_LIMIT = 200

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Owner = Annotated[Principal, Depends(require_role(Role.owner))]
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID, description="The customer's profile id (an absorbed id works too).")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such customer, or erased"}}


@router.get("/customers", summary="Search customers")
def search_customers(
    session: Db,
    _caller: Agent,
    q: Annotated[str, Query(max_length=200, description="A name (with or without diacritics), a phone in any "
                                                        "format, an e-mail or any identifier. Empty: the most "
                                                        "recently seen customers.")] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
) -> list[CustomerSummaryOut]:
    """Customers matching ``q``: identifier matches first, then names containing every word."""
    return [CustomerSummaryOut.of(row) for row in service.search_customers(session, query=q, limit=limit)]


@router.get("/customers/{customer_id:int}", summary="The customer 360", responses=_NOT_FOUND)
def read_customer(customer_id: CustomerId, session: Db, caller: Agent) -> CustomerOut:
    """The customer with identifiers, merges, traits (with source and time), computed traits and consents.
    Every read is written to the audit log."""
    return CustomerOut.of(service.get_customer(session, profile_id=customer_id, actor=actor_name(caller)))


@router.get("/customers/{customer_id:int}/timeline", summary="The customer's timeline", responses={
    **_NOT_FOUND, 400: {"description": "The cursor is not one this API gave (code invalid_cursor)"}})
def read_timeline(
    customer_id: CustomerId,
    session: Db,
    _caller: Agent,
    cursor: Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> TimelineOut:
    """Everything that happened with the customer on every channel, newest first, a page at a time."""
    return TimelineOut.of(service.customer_timeline(session, profile_id=customer_id, cursor=cursor, limit=limit))


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
