"""Tasks API bodies and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from xuyen.sales.tasks.models import CallOutcome, Task, TaskKind, TaskReminder, TaskStatus
from xuyen.sales.tasks.service import MAX_NOTES, MAX_TITLE

Id = Field(ge=1, le=2**31 - 1)


class TaskIn(BaseModel):
    """A new task on a customer (``customer_id``: their profile id) and optionally a deal. ``remind_at`` defaults
    to 30 minutes before ``due_at``; ``remind: false`` asks for no reminder. The owner defaults to the caller."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int = Id
    kind: TaskKind = TaskKind.call
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    notes: str = Field(default="", max_length=MAX_NOTES)
    due_at: AwareDatetime
    remind_at: AwareDatetime | None = None
    remind: bool = True
    deal_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    owner_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    store_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    team_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class TaskChange(BaseModel):
    """Fields of an open task to change; those left out stay. ``remind_at: null`` removes the reminder."""

    model_config = ConfigDict(extra="forbid")

    kind: TaskKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    notes: str | None = Field(default=None, max_length=MAX_NOTES)
    due_at: AwareDatetime | None = None
    remind_at: AwareDatetime | None = None
    deal_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    owner_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    store_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    team_id: int | None = Field(default=None, ge=1, le=2**31 - 1)

    def changes(self) -> dict[str, object]:
        """The fields the caller sent (``kind``, ``title`` and ``due_at`` cannot be emptied)."""
        sent = self.model_dump(exclude_unset=True)
        return {key: value for key, value in sent.items()
                if value is not None or key not in {"kind", "title", "due_at"}}


class CompleteIn(BaseModel):
    """How a task ended: a call needs its ``outcome``; any task may carry a note."""

    model_config = ConfigDict(extra="forbid")

    outcome: CallOutcome | None = None
    note: str = Field(default="", max_length=MAX_NOTES)


class TaskOut(BaseModel):
    """A task as the API shows it (times in UTC)."""

    id: int
    kind: TaskKind
    title: str
    notes: str
    customer_id: int
    deal_id: int | None
    owner_id: int | None
    store_id: int | None
    team_id: int | None
    created_by: str
    status: TaskStatus
    due_at: datetime
    remind_at: datetime | None
    reminded_at: datetime | None
    overdue: bool
    done_at: datetime | None
    outcome: CallOutcome | None
    outcome_note: str
    created_at: datetime

    @classmethod
    def of(cls, task: Task, *, now: datetime) -> TaskOut:
        """The answer for ``task`` as of ``now``."""
        return cls(id=task.id, kind=task.kind, title=task.title, notes=task.notes, customer_id=task.profile_id,
                   deal_id=task.deal_id, owner_id=task.owner_id, store_id=task.store_id, team_id=task.team_id,
                   created_by=task.created_by, status=task.status, due_at=task.due_at, remind_at=task.remind_at,
                   reminded_at=task.reminded_at, overdue=task.status is TaskStatus.open and task.due_at < now,
                   done_at=task.done_at, outcome=task.outcome, outcome_note=task.outcome_note,
                   created_at=task.created_at)


class ReminderOut(BaseModel):
    """One of my reminders, with its task's title and due time."""

    id: int
    task_id: int
    title: str
    due_at: datetime
    remind_at: datetime
    read: bool
    email_status: str

    @classmethod
    def of(cls, reminder: TaskReminder, task: Task) -> ReminderOut:
        """The answer for one reminder."""
        return cls(id=reminder.id, task_id=task.id, title=task.title, due_at=task.due_at,
                   remind_at=reminder.remind_at, read=reminder.read_at is not None,
                   email_status=reminder.email_status)
