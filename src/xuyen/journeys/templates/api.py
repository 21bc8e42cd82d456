"""The message templates API: managers create, edit and archive templates; staff read and preview them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.journeys.templates import service
from xuyen.journeys.templates.schemas import (
    PreviewIn,
    PreviewOut,
    TemplateChange,
    TemplateIn,
    TemplateOut,
    VersionOut,
)
from xuyen.routing import Router

router = Router(prefix="/message-templates", tags=["message templates"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such template (template_not_found)"}}


@router.get("", summary="List message templates")
def list_templates(session: Db, _caller: Agent,
                   archived: Annotated[bool, Query(description="Include archived templates.")] = False
                   ) -> list[TemplateOut]:
    """The templates by name."""
    return [TemplateOut.of(t) for t in service.list_templates(session, include_archived=archived)]


@router.post("", status_code=201, summary="Create a message template", responses={
    409: {"description": "A template has this name (duplicate_template)"},
    422: {"description": "Bad name, purpose or variant (the code and details.part say which)"}})
def create_template(body: TemplateIn, session: Db, caller: Manager) -> TemplateOut:
    """Save a template after checking that every variant compiles."""
    return TemplateOut.of(service.create_template(
        session, name=body.name, purpose=body.purpose, description=body.description, variants=body.variants,
        actor=actor_name(caller)))


@router.get("/{template_id}", summary="One message template", responses=_NOT_FOUND)
def read_template(template_id: TemplateId, session: Db, _caller: Agent) -> TemplateOut:
    """A template as it is now."""
    return TemplateOut.of(service.get_template(session, template_id=template_id))


@router.patch("/{template_id}", summary="Change a message template", responses={
    **_NOT_FOUND, 409: {"description": "Saved by someone else since `version` (version_conflict)"}})
def change_template(template_id: TemplateId, body: TemplateChange, session: Db, caller: Manager) -> TemplateOut:
    """Save a new version (name, purpose, description, variants) or archive/restore with ``archived``."""
    return TemplateOut.of(service.update_template(
        session, template_id=template_id, expected_version=body.version, actor=actor_name(caller), name=body.name,
        purpose=body.purpose, description=body.description, variants=body.variants, archived=body.archived))


@router.get("/{template_id}/versions", summary="A message template's versions", responses=_NOT_FOUND)
def list_versions(template_id: TemplateId, session: Db, _caller: Agent) -> list[VersionOut]:
    """Every saved version, newest first."""
    return [VersionOut.of(v) for v in service.template_versions(session, template_id=template_id)]


@router.post("/{template_id}/preview", summary="Preview a message template for a customer", responses={
    404: {"description": "No such template or customer (template_not_found, customer_not_found)"}})
def preview_template(template_id: TemplateId, body: PreviewIn, session: Db, _caller: Agent) -> PreviewOut:
    """Render every variant for a real customer; template problems come back in each rendering's ``problems``."""
    return PreviewOut.of(service.preview(session, template_id=template_id, profile_id=body.profile_id,
                                         query=body.query, event=body.event, extra=body.extra))
