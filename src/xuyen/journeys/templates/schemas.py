"""Message template API bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.journeys.templates.models import MessageTemplate, MessageTemplateVersion
from xuyen.journeys.templates.service import MAX_DESCRIPTION, MAX_NAME, Preview

VARIANTS_DESCRIPTION = (
    "Per-channel messages: email {subject, html, text (made from the HTML when empty)}, sms {text, "
    "strip_accents}, zns {template_id, params: [{name, value, max_length (default 30, at most 400)}]}, messenger "
    "{text}, zalo_oa {text}. Every text is a Jinja template (see docs/templates.md).")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateIn(_In):
    """A new template."""

    name: str = Field(min_length=1, max_length=MAX_NAME, examples=["Nhắc giỏ hàng bỏ quên"])
    purpose: str = Field(max_length=16, description="marketing, transactional or care", examples=["marketing"])
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    variants: dict[str, Any] = Field(description=VARIANTS_DESCRIPTION)


class TemplateChange(_In):
    """A change to a template; ``version`` is the version it was made from (a later save refuses it)."""

    version: int = Field(ge=1, le=2**31 - 1)
    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    purpose: str | None = Field(default=None, max_length=16)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    variants: dict[str, Any] | None = Field(default=None, description=VARIANTS_DESCRIPTION)
    archived: bool | None = None


class PreviewIn(_In):
    """Whom to preview for (a profile id, or a search by name, phone or e-mail) and with what event."""

    profile_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    query: str = Field(default="", max_length=200)
    event: dict[str, Any] | None = Field(default=None, description="name and properties of a triggering event")
    extra: dict[str, Any] | None = Field(default=None, description="products, coupon and any other values")


class TemplateOut(BaseModel):
    """A template as it is now."""

    id: int
    name: str
    purpose: str
    description: str
    version: int
    variants: dict[str, Any]
    archived: bool
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, template: MessageTemplate) -> TemplateOut:
        """The answer for ``template``."""
        return cls(id=template.id, name=template.name, purpose=template.purpose, description=template.description,
                   version=template.version, variants=template.variants, archived=template.archived_at is not None,
                   updated_at=template.updated_at, updated_by=template.updated_by)


class VersionOut(BaseModel):
    """One saved version of a template."""

    version: int
    name: str
    purpose: str
    variants: dict[str, Any]
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, row: MessageTemplateVersion) -> VersionOut:
        """The answer for ``row``."""
        return cls(version=row.version, name=row.name, purpose=row.purpose, variants=row.variants,
                   created_at=row.created_at, created_by=row.created_by)


class PreviewOut(BaseModel):
    """Every variant rendered for one customer: texts, SMS counts, ZNS parameters and problems."""

    template_id: int
    version: int
    customer_id: int
    customer_name: str
    rendered: list[dict[str, Any]]

    @classmethod
    def of(cls, shown: Preview) -> PreviewOut:
        """The answer for ``shown``."""
        return cls(template_id=shown.template.id, version=shown.template.version, customer_id=shown.customer_id,
                   customer_name=shown.customer_name, rendered=[r.as_dict() for r in shown.rendered])
