"""Lead tables: the lead of a profile, every capture of it, the website forms, the assignment rules and the
round-robin's turns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class LeadStatus(enum.StrEnum):
    """Where a lead is in its early life."""

    new = "new"
    contacted = "contacted"
    qualified = "qualified"
    unqualified = "unqualified"
    converted = "converted"


OPEN_STATUSES = (LeadStatus.new, LeadStatus.contacted, LeadStatus.qualified)


class SourceKind(enum.StrEnum):
    """How a lead arrived."""

    form = "form"
    facebook_lead_ads = "facebook_lead_ads"
    zalo_form = "zalo_form"
    chat = "chat"
    import_ = "import"
    api = "api"
    store_visit = "store_visit"


StatusColumn = Enum(LeadStatus, native_enum=False, length=16, validate_strings=True)
SourceColumn = Enum(SourceKind, native_enum=False, length=24, validate_strings=True,
                    values_callable=lambda kinds: [kind.value for kind in kinds])


class Lead(Base):
    """A customer profile in an early stage (one row per profile)."""

    __tablename__ = "sales_leads"
    __table_args__ = (Index("ix_sales_leads_status_created", "status", "created_at"),
                      Index("ix_sales_leads_score", "score", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"), unique=True)
    status: Mapped[LeadStatus] = mapped_column(StatusColumn, default=LeadStatus.new)
    source: Mapped[SourceKind] = mapped_column(SourceColumn)
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(320))
    province: Mapped[str] = mapped_column(String(100), default="")
    product_interest: Mapped[str] = mapped_column(String(200), default="")
    campaign: Mapped[str] = mapped_column(String(200), default="")
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    quality: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    score: Mapped[int] = mapped_column(Integer, default=0)
    # Why the score is what it is (see xuyen.sales.scoring.engine): the points of each rule and the latest events
    # that gave some; written with the score.
    score_parts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_teams.id", ondelete="SET NULL"), index=True)
    captures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeadCapture(Base):
    """One arrival of a lead: where it came from, the campaign and UTM tags, and the raw fields as given."""

    __tablename__ = "sales_lead_captures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(BigId, ForeignKey("sales_leads.id", ondelete="CASCADE"), index=True)
    source: Mapped[SourceKind] = mapped_column(SourceColumn)
    source_detail: Mapped[str] = mapped_column(String(200), default="")
    campaign: Mapped[str] = mapped_column(String(200), default="")
    utm_source: Mapped[str] = mapped_column(String(200), default="")
    utm_medium: Mapped[str] = mapped_column(String(200), default="")
    utm_campaign: Mapped[str] = mapped_column(String(200), default="")
    utm_term: Mapped[str] = mapped_column(String(200), default="")
    utm_content: Mapped[str] = mapped_column(String(200), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    quality: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("sales_lead_forms.id", ondelete="SET NULL"))
    # Makes a capture idempotent: the same key (an import row, an API request, a provider's lead id) is kept once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LeadForm(Base):
    """A website form configured by a manager: where it may be embedded and what its leads get by default."""

    __tablename__ = "sales_lead_forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    campaign: Mapped[str] = mapped_column(String(200), default="")
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_teams.id", ondelete="SET NULL"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssignmentRule(Base):
    """A rule of lead assignment, tried in ``position`` order: the first whose conditions all match gives the
    lead to a user or to a team (round-robin inside the team)."""

    __tablename__ = "sales_lead_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[SourceKind | None] = mapped_column(SourceColumn)
    province: Mapped[str] = mapped_column(String(100), default="")
    product_interest: Mapped[str] = mapped_column(String(200), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_teams.id", ondelete="CASCADE"))
    assign_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assign_team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_teams.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TeamTurn(Base):
    """When a team's round-robin last gave a lead to one of its members."""

    __tablename__ = "sales_lead_turns"

    team_id: Mapped[int] = mapped_column(ForeignKey("inbox_teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RetrievalStatus(enum.StrEnum):
    """Where the fetching of a lead a channel only named (a Facebook Lead Ads lead) stands."""

    pending = "pending"
    captured = "captured"
    failed = "failed"


class LeadRetrieval(Base):
    """A lead a channel's webhook named without its answers, to be read from the provider and captured: kept from
    its arrival, so a failing provider or a dead token delays the lead but never loses it."""

    __tablename__ = "sales_lead_retrievals"
    __table_args__ = (
        UniqueConstraint("channel_id", "provider_lead_id", name="uq_sales_lead_retrievals_channel_lead"),
        Index("ix_sales_lead_retrievals_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("inbox_channels.id", ondelete="CASCADE"), index=True)
    source: Mapped[SourceKind] = mapped_column(SourceColumn)
    provider_lead_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[RetrievalStatus] = mapped_column(
        Enum(RetrievalStatus, native_enum=False, length=16, validate_strings=True), default=RetrievalStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    # What the webhook told: the provider's ids of the form, ad and page, and when the lead was left.
    notice: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    lead_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("sales_leads.id", ondelete="SET NULL"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
