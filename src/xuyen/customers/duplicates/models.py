"""Duplicate detection tables: the suggested pairs (the review queue) and the detection runs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class SuggestionStatus(enum.StrEnum):
    """Where a suggested pair stands in the review queue."""

    open = "open"  # waiting for a reviewer
    merged = "merged"  # the two profiles were merged (by a reviewer or automatically)
    not_same = "not_same"  # a reviewer said they are two people: never suggested again
    stale = "stale"  # one of the profiles was merged elsewhere, or the pair no longer scores high enough


class RunStatus(enum.StrEnum):
    """Where a detection run stands."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class DuplicateRun(Base):
    """One pass of duplicate detection over the surviving profiles: who asked, with what settings, what it found."""

    __tablename__ = "duplicate_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[RunStatus] = mapped_column(
        Enum(RunStatus, native_enum=False, length=16, validate_strings=True), default=RunStatus.queued)
    step: Mapped[str] = mapped_column(String(32), default="")
    # "all" compares every profile; "changed" re-checks the profiles changed since the last finished run.
    scope: Mapped[str] = mapped_column(String(16), default="all")
    requested_by: Mapped[str] = mapped_column(String(200), default="system")
    min_score: Mapped[float] = mapped_column(Float)
    auto_merge_score: Mapped[float | None] = mapped_column(Float)
    profile_count: Mapped[int] = mapped_column(Integer, default=0)
    pair_count: Mapped[int] = mapped_column(Integer, default=0)
    new_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    stale_count: Mapped[int] = mapped_column(Integer, default=0)
    auto_merged_count: Mapped[int] = mapped_column(Integer, default=0)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_duplicate_runs_created", "created_at"),)


class DuplicateSuggestion(Base):
    """Two surviving profiles the matcher takes for one customer (lower id first), with the score and reasons.

    ``reasons`` holds, per compared field, the level it fell into and the weight it added; a pair has one
    row for good, so a "not the same" decision is kept and the pair never comes back.
    """

    __tablename__ = "duplicate_suggestions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    other_profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[SuggestionStatus] = mapped_column(
        Enum(SuggestionStatus, native_enum=False, length=16, validate_strings=True), default=SuggestionStatus.open)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("duplicate_runs.id", ondelete="SET NULL"), index=True)
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("profile_id", "other_profile_id", name="uq_duplicate_suggestions_pair"),
        CheckConstraint("profile_id < other_profile_id", name="pair_in_order"),
        Index("ix_duplicate_suggestions_queue", "status", "score"),
    )
