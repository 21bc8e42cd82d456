"""Identity tables: profiles (the graph's nodes), their identifiers, merges and conflicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class Profile(Base):
    """One customer as the identity graph knows them; an absorbed profile points to its survivor."""

    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProfileIdentifier(Base):
    """A normalised identifier (phone, e-mail, user id, …) and the profile it belongs to."""

    __tablename__ = "profile_identifiers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[str] = mapped_column(String(320))
    flags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("value", "type", "scope", name="uq_profile_identifiers_key"),)


class Merge(Base):
    """A recorded merge: which profile absorbed which, why, and the identifiers it moved (for unmerging)."""

    __tablename__ = "identity_merges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    survivor_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    absorbed_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    linking_identifier: Mapped[str] = mapped_column(String(600), default="")
    event_message_id: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200), default="system")
    moved_identifier_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IdentityConflict(Base):
    """A merge the identity rules refused (e.g. two user ids on one profile), kept for review."""

    __tablename__ = "identity_conflicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    other_profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(600))
    rule: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    event_message_id: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_identity_conflicts_open", "resolved_at", "created_at"),)
