"""Reminders and overdue announcements: a periodic job finds the open tasks whose reminder time has come and hands
each owner one reminder (the bell in the page header) and one e-mail through the shop's mailbox; tasks past their
due time are announced once as ``task.overdue``.

Exactly once, even when the job runs twice or two workers race: a task is claimed by a guarded update (``reminded_at``
still empty, ``remind_at`` unchanged), the reminder row is unique per task and reminder time, and its e-mail is a job
with a dedupe key whose Message-ID follows from the reminder, so a retried send repeats the same message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.channels.base import ContactIdentifier, OutboundMessage, SendFailed
from xuyen.clock import to_local, utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.db import is_postgres
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox import connections
from xuyen.jobs import add_job_once
from xuyen.outbox import emit
from xuyen.sales.tasks.models import Task, TaskReminder, TaskStatus

REMIND_JOB = "sales.tasks.remind"
EMAIL_JOB = "sales.tasks.reminder_email"
BATCH = 500

_TEXTS: dict[str, dict[str, str]] = {
    "vi": {"subject": "Nhắc việc: {title} lúc {due}",
           "body": "Chào {name},\n\nBạn có việc cần làm với khách hàng {customer}:\n\n  {title}\n  Hạn: {due}\n{notes}"
                   "\nMở danh sách công việc: {link}\n\n— Xuyên\n",
           "no_name": "(chưa có tên)"},
    "en": {"subject": "Reminder: {title} at {due}",
           "body": "Hello {name},\n\nYou have something to do for the customer {customer}:\n\n  {title}\n  Due: {due}\n"
                   "{notes}\nOpen your tasks: {link}\n\n— Xuyên\n",
           "no_name": "(no name yet)"},
}


@dataclass(frozen=True)
class RunResult:
    """What one pass did: reminders handed out, tasks announced overdue."""

    reminded: int
    overdue: int


def run(session: Session, *, now: datetime | None = None) -> RunResult:
    """Hand out the reminders that are due and announce the tasks that became overdue (helper: no commit)."""
    now = now or utcnow()
    return RunResult(reminded=remind_due(session, now=now), overdue=announce_overdue(session, now=now))


def remind_due(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Remind the owners of the open tasks whose reminder time has passed, once each (helper: no commit)."""
    due = session.execute(select(Task.id, Task.remind_at, Task.owner_id).where(
        Task.status == TaskStatus.open, Task.remind_at <= now, Task.reminded_at.is_(None))
        .order_by(Task.remind_at, Task.id).limit(limit)).all()
    handed = 0
    for task_id, remind_at, owner_id in due:
        if not _claim(session, Task.reminded_at, task_id=task_id, guard=Task.remind_at == remind_at, now=now):
            continue
        if owner_id is None or remind_at is None:
            continue
        if _add_reminder(session, task_id=task_id, user_id=owner_id, remind_at=remind_at):
            handed += 1
    return handed


def announce_overdue(session: Session, *, now: datetime, limit: int = BATCH) -> int:
    """Announce ``task.overdue`` once for each open task past its due time (helper: no commit)."""
    late = list(session.scalars(select(Task).where(
        Task.status == TaskStatus.open, Task.due_at <= now, Task.overdue_at.is_(None))
        .order_by(Task.due_at, Task.id).limit(limit)))
    announced = 0
    for task in late:
        if not _claim(session, Task.overdue_at, task_id=task.id, guard=Task.due_at == task.due_at, now=now):
            continue
        emit(session, topic="task.overdue", aggregate_type="task", aggregate_id=task.id,
             payload={"task_id": task.id, "kind": task.kind.value, "title": task.title,
                      "profile_id": task.profile_id, "deal_id": task.deal_id, "owner_id": task.owner_id,
                      "store_id": task.store_id, "team_id": task.team_id, "due_at": task.due_at.isoformat()})
        announced += 1
    return announced


def _claim(session: Session, column: Any, *, task_id: int, guard: Any, now: datetime) -> bool:
    """Set ``column`` to ``now`` if it is still empty and the task is unchanged: whether this caller won."""
    result = session.execute(update(Task).where(Task.id == task_id, Task.status == TaskStatus.open, column.is_(None),
                                                guard).values({column.key: now})
                             .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


_REMINDERS = cast(Table, TaskReminder.__table__)


def _add_reminder(session: Session, *, task_id: int, user_id: int, remind_at: datetime) -> bool:
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    reminder_id = session.scalar(insert(_REMINDERS).values(
        task_id=task_id, user_id=user_id, remind_at=remind_at, email_status="queued", email_detail="",
        created_at=utcnow()).on_conflict_do_nothing(index_elements=["task_id", "remind_at"])
        .returning(_REMINDERS.c.id))
    if reminder_id is None:
        return False
    add_job_once(session, name=EMAIL_JOB, dedupe_key=f"{EMAIL_JOB}:{reminder_id}",
                 payload={"reminder_id": reminder_id})
    return True


# The e-mail -----------------------------------------------------------------------------------------------



def _customer_name(session: Session, profile_id: int, locale: str) -> str:
    row = session.get(CustomerProfile, resolve_profile_id(session, profile_id=profile_id))
    return (row.display_name if row is not None else "") or _TEXTS[locale]["no_name"]


def reminder_message(session: Session, *, reminder: TaskReminder, task: Task, user: User,
                     base_url: str) -> OutboundMessage:
    """The reminder e-mail in the owner's language, with the due time in their time zone."""
    locale = user.locale if user.locale in _TEXTS else "vi"
    texts = _TEXTS[locale]
    due = to_local(task.due_at, user.timezone).strftime("%H:%M %d/%m/%Y")
    values = {"name": user.name, "customer": _customer_name(session, task.profile_id, locale), "title": task.title,
              "due": due, "notes": f"\n{task.notes}\n" if task.notes else "", "link": f"{base_url}/tasks"}
    return OutboundMessage(idempotency_key=f"{EMAIL_JOB}:{reminder.id}", to=ContactIdentifier("email", user.email),
                           subject=texts["subject"].format(**values), text=texts["body"].format(**values))


def send_reminder_email(session: Session, *, reminder_id: int, base_url: str) -> str:
    """Send one reminder's e-mail through the shop's mailbox and record how it went (the worker commits).
    A retryable failure raises, so the job is tried again; anything else is recorded, not retried."""
    reminder = session.get(TaskReminder, reminder_id)
    if reminder is None or reminder.email_status != "queued":
        return reminder.email_status if reminder else "gone"
    task, user = session.get(Task, reminder.task_id), session.get(User, reminder.user_id)
    channel = connections.staff_mailbox(session)
    if task is None or user is None or not user.is_active:
        return _record(reminder, "skipped", "The task or its owner is gone.")
    if task.status is not TaskStatus.open:
        return _record(reminder, "skipped", "The task was closed before its reminder went out.")
    if channel is None:
        return _record(reminder, "no_mailbox", "No e-mail channel is connected: the reminder is in the app only.")
    if connections.is_sandbox(channel):
        return _record(reminder, "sandbox", f"The mailbox {channel.name} is a sandbox: nothing is sent.")
    adapter = connections.build_adapter(channel)
    try:
        adapter.send(reminder_message(session, reminder=reminder, task=task, user=user, base_url=base_url))
    except SendFailed as exc:
        if exc.retryable:
            raise
        return _record(reminder, "failed", f"{exc.code}: {exc}")
    finally:
        adapter.close()
    return _record(reminder, "sent", channel.name)


def _record(reminder: TaskReminder, status: str, detail: str) -> str:
    reminder.email_status, reminder.email_detail = status, detail[:1000]
    return status


# The bell -------------------------------------------------------------------------------------------------


def unread_count(session: Session, *, user_id: int) -> int:
    """How many of a user's task reminders are unread."""
    return session.scalar(select(func.count()).select_from(TaskReminder)
                          .where(TaskReminder.user_id == user_id, TaskReminder.read_at.is_(None))) or 0


def list_reminders(session: Session, *, user_id: int, limit: int = 50) -> list[tuple[TaskReminder, Task]]:
    """A user's latest reminders with their tasks, newest first."""
    return [(reminder, task) for reminder, task in session.execute(
        select(TaskReminder, Task).join(Task, Task.id == TaskReminder.task_id)
        .where(TaskReminder.user_id == user_id).order_by(TaskReminder.id.desc()).limit(limit))]


def mark_all_read(session: Session, *, user_id: int) -> int:
    """Mark a user's unread reminders read and commit; how many."""
    result = session.execute(update(TaskReminder).where(TaskReminder.user_id == user_id,
                                                        TaskReminder.read_at.is_(None)).values(read_at=utcnow()))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
