"""Scheduled reports: what a manager asked to receive (a dashboard's tables over a period, how often, at which
local hour, to whom) and every run of it (one row per schedule and due time, so a run is never sent twice)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class ReportSchedule(Base):
    """A report e-mailed on a schedule: the tables of ``dashboard`` for ``period``, ``frequency`` (daily, weekly on
    ``weekday`` 0 = Monday, monthly on ``month_day``, the month's last day when it is shorter) at ``hour`` o'clock
    in ``timezone``, to staff users and e-mail addresses."""

    __tablename__ = "analytics_report_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    dashboard: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(24))
    frequency: Mapped[str] = mapped_column(String(16))
    weekday: Mapped[int | None] = mapped_column(Integer)
    month_day: Mapped[int | None] = mapped_column(Integer)
    hour: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    user_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_analytics_report_schedules_due", "active", "next_run_at"),)


class ReportRun(Base):
    """One run of a schedule: ``run_key`` (schedule and due time) is unique, so a duplicated or retried job never
    makes a second run; ``delivered`` lists the addresses already sent to, so a retry never mails one twice."""

    __tablename__ = "analytics_report_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("analytics_report_schedules.id", ondelete="CASCADE"))
    run_key: Mapped[str] = mapped_column(String(100), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, sent, failed, no_mailbox, skipped…
    detail: Mapped[str] = mapped_column(Text, default="")
    delivered: Mapped[list[str]] = mapped_column(JSONType, default=list)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_analytics_report_runs_schedule", "schedule_id", "due_at"),)
