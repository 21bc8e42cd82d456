"""The custom fields API: managers define, change, reorder and archive fields; everyone signed in reads them.
Values are read and written through each entity's own API (``custom_fields`` on customers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.fields import service
from xuyen.fields.schemas import FieldChange, FieldIn, FieldOut, ReorderIn
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(prefix="/fields", tags=["custom fields"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
FieldId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such field (field_not_found)"}}


@router.get("", summary="List custom fields")
def list_fields(session: Db, _caller: Agent,
                entity: Annotated[str, Query(max_length=16, description="customer, lead or deal")] = "customer",
                archived: Annotated[bool, Query(description="Include archived fields.")] = False) -> list[FieldOut]:
    """The entity's fields in form order."""
    return [FieldOut.of(f) for f in service.list_fields(session, entity=entity, include_archived=archived)]


@router.post("", status_code=201, summary="Define a custom field", responses={
    409: {"description": "The entity has a field with this key (duplicate_field)"},
    422: {"description": "Unknown entity or kind, bad key, labels or options"}})
def create_field(body: FieldIn, session: Db, caller: Manager) -> FieldOut:
    """Add a field to customers, leads or deals."""
    return FieldOut.of(service.define_field(
        session, entity=body.entity, key=body.key, label_vi=body.label_vi, label_en=body.label_en, kind=body.kind,
        required=body.required, options=[option.spec() for option in body.options], actor=actor_name(caller)))


@router.get("/{field_id}", summary="One custom field", responses=_NOT_FOUND)
def read_field(field_id: FieldId, session: Db, _caller: Agent) -> FieldOut:
    """A field definition with its options (retired ones included)."""
    return FieldOut.of(service.get_field(session, field_id=field_id))


@router.patch("/{field_id}", summary="Change a custom field", responses=_NOT_FOUND)
def change_field(field_id: FieldId, body: FieldChange, session: Db, caller: Manager) -> FieldOut:
    """Change labels, the required flag or options; ``archived`` archives or restores the field."""
    actor = actor_name(caller)
    changes = body.model_dump(include={"label_vi", "label_en", "required"}, exclude_none=True)
    options = [option.spec() for option in body.options] if body.options is not None else None
    return FieldOut.of(service.change_field(session, field_id=field_id, actor=actor, options=options,
                                            archived=body.archived, **changes))


@router.post("/{field_id}/archive", summary="Archive a custom field", responses=_NOT_FOUND)
def archive_field(field_id: FieldId, session: Db, caller: Manager) -> FieldOut:
    """Hide the field from forms and new values; its stored values are kept (PATCH archived=false restores)."""
    return FieldOut.of(service.archive_field(session, field_id=field_id, actor=actor_name(caller)))


@router.post("/order", summary="Reorder custom fields")
def reorder_fields(body: ReorderIn, session: Db, caller: Manager) -> list[FieldOut]:
    """Put the entity's fields in the given order of keys."""
    return [FieldOut.of(f) for f in service.reorder_fields(session, entity=body.entity, keys=body.keys,
                                                           actor=actor_name(caller))]


@router.delete("/{field_id}", status_code=204, summary="Delete an archived custom field", responses={
    **_NOT_FOUND, 409: {"description": "The field is not archived (field_not_archived)"}})
def delete_field(field_id: FieldId, session: Db, caller: Manager) -> None:
    """Delete the field for good with every value it holds; only an archived field can be deleted."""
    service.delete_field(session, field_id=field_id, actor=actor_name(caller))
