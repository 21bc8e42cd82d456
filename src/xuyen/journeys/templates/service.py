"""Message template services: managers create, edit (each save a new version) and archive templates; journeys,
campaigns and the preview render a template for one customer on one channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.customers.service import require_customer, search_customers
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.names import fold_name
from xuyen.journeys.templates.context import build_context, customer_timezone, profile_context
from xuyen.journeys.templates.models import PURPOSES, MessageTemplate, MessageTemplateVersion
from xuyen.journeys.templates.rendering import Rendered, render_variant
from xuyen.journeys.templates.sandbox import RenderProblem
from xuyen.journeys.templates.variants import CHANNELS, clean_variants

MAX_NAME = 200
MAX_DESCRIPTION = 2_000


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed("Give the template a name.", code="name_required")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"A template name is at most {MAX_NAME} characters.", code="name_too_long")
    return name


def _purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValidationFailed(f"The purpose is one of {', '.join(PURPOSES)}.", code="unknown_purpose")
    return purpose


def _description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION:
        raise ValidationFailed(f"A description is at most {MAX_DESCRIPTION} characters.", code="description_too_long")
    return text.strip()


def _check_name_free(session: Session, name: str, *, template_id: int | None) -> str:
    folded = fold_name(name)[:MAX_NAME] or name.lower()
    clash = session.scalar(select(MessageTemplate.id).where(MessageTemplate.name_folded == folded))
    if clash is not None and clash != template_id:
        raise Conflict("There is a template with this name already.", code="duplicate_template")
    return folded


def _snapshot(session: Session, template: MessageTemplate, actor: str) -> None:
    session.add(MessageTemplateVersion(template_id=template.id, version=template.version, name=template.name,
                                       purpose=template.purpose, variants=template.variants,
                                       created_at=template.updated_at, created_by=actor))


def _audit(session: Session, actor: str, what: str, template: MessageTemplate, detail: dict[str, Any]) -> None:
    audit.record(session, actor=actor, action=f"message_template.{what}", subject_type="message_template",
                 subject_id=template.id, detail=detail)


def list_templates(session: Session, *, include_archived: bool = False, purpose: str | None = None
                   ) -> list[MessageTemplate]:
    """The templates by name (archived ones only when asked)."""
    query = select(MessageTemplate).order_by(MessageTemplate.name_folded)
    if not include_archived:
        query = query.where(MessageTemplate.archived_at.is_(None))
    if purpose:
        query = query.where(MessageTemplate.purpose == purpose)
    return list(session.scalars(query))


def get_template(session: Session, *, template_id: int) -> MessageTemplate:
    """One template; NotFound when there is none."""
    template = session.get(MessageTemplate, template_id)
    if template is None:
        raise NotFound(f"There is no message template {template_id}.", code="template_not_found")
    return template


def template_versions(session: Session, *, template_id: int) -> list[MessageTemplateVersion]:
    """Every saved version of a template, newest first."""
    get_template(session, template_id=template_id)
    return list(session.scalars(select(MessageTemplateVersion).where(
        MessageTemplateVersion.template_id == template_id).order_by(MessageTemplateVersion.version.desc())))


def add_template(session: Session, *, name: str, purpose: str, variants: Mapping[str, Any], actor: str,
                 description: str = "") -> MessageTemplate:
    """Add a checked template (version 1) to the session without committing (demo data, imports)."""
    name, purpose, description = _name(name), _purpose(purpose), _description(description)
    cleaned = clean_variants(variants)
    now = utcnow()
    template = MessageTemplate(name=name, name_folded=_check_name_free(session, name, template_id=None),
                               purpose=purpose, description=description, variants=cleaned, version=1,
                               created_at=now, updated_at=now, updated_by=actor)
    session.add(template)
    session.flush()
    _snapshot(session, template, actor)
    _audit(session, actor, "created", template, {"name": name, "channels": list(cleaned)})
    return template


def create_template(session: Session, *, name: str, purpose: str, variants: Mapping[str, Any], actor: str,
                    description: str = "") -> MessageTemplate:
    """Save a new template (version 1) after checking every variant compiles."""
    template = add_template(session, name=name, purpose=purpose, variants=variants, actor=actor,
                            description=description)
    session.commit()
    return template


def update_template(session: Session, *, template_id: int, expected_version: int, actor: str,
                    name: str | None = None, purpose: str | None = None, description: str | None = None,
                    variants: Mapping[str, Any] | None = None, archived: bool | None = None) -> MessageTemplate:
    """Save a new version of a template (and archive or restore it when ``archived`` is given); Conflict when
    someone saved another version since ``expected_version``."""
    template = get_template(session, template_id=template_id)
    if template.version != expected_version:
        raise Conflict(f"The template was changed (now version {template.version}); reload it and edit again.",
                       code="version_conflict", details={"version": template.version})
    if name is not None:
        template.name = _name(name)
        template.name_folded = _check_name_free(session, template.name, template_id=template.id)
    if purpose is not None:
        template.purpose = _purpose(purpose)
    if description is not None:
        template.description = _description(description)
    if variants is not None:
        template.variants = clean_variants(variants)
    if any(value is not None for value in (name, purpose, description, variants)):
        template.version += 1
        template.updated_at, template.updated_by = utcnow(), actor
        _snapshot(session, template, actor)
        _audit(session, actor, "changed", template, {"version": template.version})
    if archived is not None and archived != (template.archived_at is not None):
        template.archived_at = utcnow() if archived else None
        _audit(session, actor, "archived" if archived else "restored", template, {})
    session.commit()
    return template


def archive_template(session: Session, *, template_id: int, actor: str, archived: bool = True) -> MessageTemplate:
    """Archive a template (journeys stop offering it; what was sent keeps its version) or restore it."""
    template = get_template(session, template_id=template_id)
    template.archived_at = utcnow() if archived else None
    _audit(session, actor, "archived" if archived else "restored", template, {})
    session.commit()
    return template


def _profile(session: Session, profile_id: int) -> CustomerProfile:
    root = require_customer(session, profile_id=profile_id)
    row = session.get(CustomerProfile, root)
    if row is None:
        raise NotFound(f"There is no customer {profile_id}.", code="customer_not_found")
    return row


def _render_template(session: Session, template: MessageTemplate, channel: str, row: CustomerProfile,
                     event: Mapping[str, Any] | None, extra: Mapping[str, Any] | None) -> Rendered:
    variant = template.variants.get(channel)
    if variant is None:
        rendered = Rendered(channel=channel, problems=[RenderProblem(
            "no_variant", f"The template has no {channel} message.", channel)])
    else:
        context = build_context(profile=profile_context(session, row), event=event, extra=extra)
        rendered = render_variant(channel, variant, context, timezone=customer_timezone(row.traits or {}))
    rendered.template_id, rendered.version = template.id, template.version
    return rendered


def _check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValidationFailed(f"Unknown channel {channel[:32]!r}: use {', '.join(CHANNELS)}.",
                               code="unknown_channel")
    return channel


def render(session: Session, *, template_id: int, channel: str, profile_id: int,
           event: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> Rendered:
    """The template's ``channel`` message for the customer; problems in the template come back in
    ``Rendered.problems``, a missing template or customer as NotFound."""
    template = get_template(session, template_id=template_id)
    return _render_template(session, template, _check_channel(channel), _profile(session, profile_id), event,
                            extra)


@dataclass(frozen=True)
class Preview:
    """Every variant of a template rendered for one customer."""

    template: MessageTemplate
    customer_id: int
    customer_name: str
    rendered: list[Rendered]


def preview(session: Session, *, template_id: int, profile_id: int | None = None, query: str = "",
            event: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> Preview:
    """Render every variant for a real customer, named by id or found by ``query`` (name, phone, e-mail)."""
    template = get_template(session, template_id=template_id)
    if profile_id is not None:
        row = _profile(session, profile_id)
    else:
        found = search_customers(session, query=query, limit=1) if query.strip() else []
        if not found:
            raise NotFound("No customer matches the search.", code="customer_not_found")
        row = found[0]
    rendered = [_render_template(session, template, channel, row, event, extra) for channel in template.variants]
    return Preview(template=template, customer_id=row.profile_id, customer_name=row.display_name,
                   rendered=rendered)
