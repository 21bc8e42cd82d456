"""The leads API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.fields.schemas import custom_fields_field
from xuyen.sales.leads.models import AssignmentRule, Lead, LeadCapture, LeadForm, LeadStatus, SourceKind

Short = Field(default="", max_length=200)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UtmIn(_In):
    """UTM tags of the page or ad the lead came from."""

    utm_source: str = Short
    utm_medium: str = Short
    utm_campaign: str = Short
    utm_term: str = Short
    utm_content: str = Short


class LeadIn(_In):
    """A lead sent by another system: at least a phone, an e-mail or a name."""

    source: SourceKind = SourceKind.api
    name: str = Short
    phone: str = Field(default="", max_length=64)
    email: str = Field(default="", max_length=320)
    province: str = Field(default="", max_length=100)
    product_interest: str = Short
    source_detail: str = Short
    campaign: str = Short
    utm: UtmIn = Field(default_factory=UtmIn)
    labels: list[str] = Field(default_factory=list, max_length=20)
    fields: dict[str, Any] = Field(default_factory=dict, description="Any other fields, kept as given.")
    owner_id: int | None = Field(default=None, ge=1)
    store_id: int | None = Field(default=None, ge=1)
    team_id: int | None = Field(default=None, ge=1)
    custom_fields: dict[str, Any] | None = custom_fields_field()


class LeadPatch(_In):
    """A status, owner (``owner_id`` null: nobody) and/or custom field values to set."""

    status: LeadStatus | None = None
    owner_id: int | None = Field(default=None, ge=1)
    custom_fields: dict[str, Any] | None = custom_fields_field()


class CaptureOut(BaseModel):
    """One arrival of a lead."""

    id: int
    source: str
    source_detail: str
    campaign: str
    utm: dict[str, str]
    fields: dict[str, Any]
    quality: dict[str, Any]
    captured_at: datetime

    @classmethod
    def of(cls, row: LeadCapture) -> CaptureOut:
        """The API view of a capture."""
        utm = {key: getattr(row, key) for key in ("utm_source", "utm_medium", "utm_campaign", "utm_term",
                                                  "utm_content") if getattr(row, key)}
        return cls(id=row.id, source=row.source.value, source_detail=row.source_detail, campaign=row.campaign,
                   utm=utm, fields=row.fields or {}, quality=row.quality or {}, captured_at=row.captured_at)


class LeadOut(BaseModel):
    """A lead: its profile, status, contact as normalised, labels, quality, owner and captures."""

    id: int
    profile_id: int
    status: str
    source: str
    name: str
    phone: str | None
    email: str | None
    province: str
    product_interest: str
    campaign: str
    labels: list[str]
    quality: dict[str, Any]
    score: int
    score_parts: dict[str, Any]
    scored_at: datetime | None
    owner_id: int | None
    store_id: int | None
    team_id: int | None
    captures: int
    created_at: datetime
    assigned_at: datetime | None
    capture_list: list[CaptureOut] | None = None
    custom_fields: dict[str, Any] | None = custom_fields_field()

    @classmethod
    def of(cls, lead: Lead, captures: list[LeadCapture] | None = None,
           custom_fields: dict[str, Any] | None = None) -> LeadOut:
        """The API view of a lead (with its captures and custom field values when given)."""
        return cls(id=lead.id, profile_id=lead.profile_id, status=lead.status.value, source=lead.source.value,
                   name=lead.name, phone=lead.phone, email=lead.email, province=lead.province,
                   product_interest=lead.product_interest, campaign=lead.campaign, labels=lead.labels or [],
                   quality=lead.quality or {}, score=lead.score,
                   score_parts={k: v for k, v in (lead.score_parts or {}).items() if k != "announced"},
                   scored_at=lead.scored_at, owner_id=lead.owner_id, store_id=lead.store_id,
                   team_id=lead.team_id, captures=lead.captures, created_at=lead.created_at,
                   assigned_at=lead.assigned_at,
                   capture_list=None if captures is None else [CaptureOut.of(row) for row in captures],
                   custom_fields=custom_fields)


class CapturedOut(BaseModel):
    """What a capture did."""

    lead: LeadOut
    capture_id: int
    new_lead: bool
    repeated: bool


class ImportRowOut(BaseModel):
    """A row of an imported list that was refused or flagged."""

    row: int
    message: str


class ImportOut(BaseModel):
    """What importing a list did."""

    rows: int
    new_leads: int
    existing_leads: int
    repeated: int
    errors: list[ImportRowOut]
    warnings: list[ImportRowOut]


class FormIn(_In):
    """A website lead form."""

    name: str = Field(min_length=1, max_length=200)
    allowed_origins: list[str] = Field(default_factory=list, max_length=50)
    campaign: str = Short
    labels: list[str] = Field(default_factory=list, max_length=20)
    owner_id: int | None = Field(default=None, ge=1)
    team_id: int | None = Field(default=None, ge=1)
    store_id: int | None = Field(default=None, ge=1)
    active: bool = True


class FormOut(BaseModel):
    """A website lead form and where it may be embedded."""

    id: int
    name: str
    key: str
    allowed_origins: list[str]
    campaign: str
    labels: list[str]
    owner_id: int | None
    team_id: int | None
    store_id: int | None
    active: bool

    @classmethod
    def of(cls, form: LeadForm) -> FormOut:
        """The API view of a form."""
        return cls(id=form.id, name=form.name, key=form.key, allowed_origins=form.allowed_origins or [],
                   campaign=form.campaign, labels=form.labels or [], owner_id=form.owner_id,
                   team_id=form.team_id, store_id=form.store_id, active=form.active)


class RuleIn(_In):
    """An assignment rule: conditions (empty: any) and whom it gives the lead to (a user or a team)."""

    position: int = Field(default=0, ge=0, le=10_000)
    name: str = Short
    source: SourceKind | None = None
    province: str = Field(default="", max_length=100)
    product_interest: str = Short
    team_id: int | None = Field(default=None, ge=1)
    assign_user_id: int | None = Field(default=None, ge=1)
    assign_team_id: int | None = Field(default=None, ge=1)
    active: bool = True


class RuleOut(RuleIn):
    """An assignment rule as stored."""

    model_config = ConfigDict(extra="ignore")

    id: int

    @classmethod
    def of(cls, rule: AssignmentRule) -> RuleOut:
        """The API view of a rule."""
        return cls(id=rule.id, position=rule.position, name=rule.name, source=rule.source, province=rule.province,
                   product_interest=rule.product_interest, team_id=rule.team_id,
                   assign_user_id=rule.assign_user_id, assign_team_id=rule.assign_team_id, active=rule.active)
