"""SLA tables: policies (targets in business time, a business calendar, which conversations they cover), the
policy and waiting state of each conversation, and the clocks that run against the targets."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class ClockKind(enum.StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class Policy(Base):
    """Targets for the first reply, each later reply and the resolution, counted in the business time of its
    calendar; it covers every conversation or those whose first message came on one of ``channel_kinds``."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    channel_kinds: Mapped[list[str]] = mapped_column(JSONType, default=list)  # empty: every channel
    first_response_seconds: Mapped[int | None] = mapped_column(Integer)
    next_response_seconds: Mapped[int | None] = mapped_column(Integer)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)
    warning_percent: Mapped[int | None] = mapped_column(Integer)
    calendar: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def target_seconds(self, kind: ClockKind) -> int | None:
        """The target of one kind of clock in seconds of business time (None: not tracked)."""
        return {ClockKind.first_response: self.first_response_seconds,
                ClockKind.next_response: self.next_response_seconds,
                ClockKind.resolution: self.resolution_seconds}[kind]


class ConversationSla(Base):
    """The policy a conversation follows (chosen by the channel of the customer's first message) and since when
    it waits on the customer (pending or snoozed), as the inbox's events told it."""

    __tablename__ = "sla_conversations"

    conversation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("inbox_conversations.id", ondelete="CASCADE"), primary_key=True)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"))
    channel_kind: Mapped[str | None] = mapped_column(String(32))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Clock(Base):
    """One SLA clock of a conversation. ``due_at`` and ``warn_at`` are absolute UTC moments and move later by the
    business time spent paused; ``paused_total_seconds`` is that business time."""

    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("inbox_conversations.id", ondelete="CASCADE"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id", ondelete="RESTRICT"))
    kind: Mapped[ClockKind] = mapped_column(
        Enum(ClockKind, native_enum=False, length=16, values_callable=lambda kinds: [k.value for k in kinds]))
    target_seconds: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_sla_clocks_conversation", "conversation_id", "kind"),
        Index("ix_sla_clocks_running", "due_at", postgresql_where=text("stopped_at IS NULL"),
              sqlite_where=text("stopped_at IS NULL")),
        Index("ix_sla_clocks_breached", "breached_at"),
        Index("ix_sla_clocks_stopped", "stopped_at"),
    )
