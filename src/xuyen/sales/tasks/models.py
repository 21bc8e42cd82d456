"""The tasks' tables: one row per task, and one per reminder handed to its owner (the in-app bell's list)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=24, values_callable=lambda members: [m.value for m in members])


class TaskKind(enum.StrEnum):
    call = "call"
    meeting = "meeting"
    follow_up = "follow_up"
    other = "other"


class TaskStatus(enum.StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class CallOutcome(enum.StrEnum):
    reached = "reached"
    no_answer = "no_answer"
    busy = "busy"
    wrong_number = "wrong_number"
    call_back_later = "call_back_later"


class Task(Base):
    """Something a member of staff has to do with a customer by a time: a call, a meeting, a follow-up.

    ``profile_id`` names the identity graph's profile (a merge moves the task to the surviving profile; readers
    look through the merged profiles too); ``deal_id`` is a plain number, the deals part owns that table.
    ``reminded_at`` and ``overdue_at`` say when the reminder and the overdue announcement went out, so each goes out
    once per ``remind_at``/``due_at``.
    """

    __tablename__ = "sales_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[TaskKind] = mapped_column(_enum(TaskKind), default=TaskKind.call)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[int | None] = mapped_column(Integer, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_teams.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.open)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[CallOutcome | None] = mapped_column(_enum(CallOutcome))
    outcome_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_sales_tasks_owner_due", "owner_id", "status", "due_at"),
        Index("ix_sales_tasks_status_due", "status", "due_at"),
        Index("ix_sales_tasks_status_remind", "status", "remind_at"),
    )


class TaskReminder(Base):
    """A reminder handed to a task's owner: the bell in the page header counts the unread ones. One per task and
    ``remind_at`` (the unique key is what keeps two racing workers from reminding twice)."""

    __tablename__ = "sales_task_reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("sales_tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    email_status: Mapped[str] = mapped_column(String(16), default="queued")
    email_detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("task_id", "remind_at"),
                      Index("ix_sales_task_reminders_user", "user_id", "read_at"))
