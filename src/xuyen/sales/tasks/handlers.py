"""The tasks' jobs: every minute, reminders due go out and overdue tasks are announced; each reminder's e-mail is a
job of its own, run alone (it talks to a mail server). When two profiles are merged, the absorbed profile's tasks
move to the survivor, as its lead and deals do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event
from xuyen.sales.tasks import reminders, requests
from xuyen.sales.tasks.models import Task


@job(reminders.REMIND_JOB)
def remind(session: Session, payload: dict[str, Any]) -> None:
    """Hand out the reminders that are due and announce the tasks that became overdue."""
    reminders.run(session)


@job(reminders.EMAIL_JOB, isolated=True)
def reminder_email(session: Session, payload: dict[str, Any]) -> None:
    """Send one reminder's e-mail to the task's owner."""
    reminders.send_reminder_email(session, reminder_id=int(payload["reminder_id"]),
                                  base_url=get_settings().public_url.rstrip("/"))


periodic(reminders.REMIND_JOB, every=timedelta(minutes=1))


@on_event("profile.merged", name="sales.tasks.follow_merge")
def follow_merge(session: Session, event: DomainEvent) -> None:
    """The absorbed profile's tasks become the survivor's (safe to run twice: nothing is left to move)."""
    survivor_id, absorbed_id = int(event.payload["survivor_id"]), int(event.payload["absorbed_id"])
    session.execute(update(Task).where(Task.profile_id == absorbed_id).values(profile_id=survivor_id))
    session.flush()


@on_event("journey.task_requested", name="sales.tasks.from_journey")
def task_from_journey(session: Session, event: DomainEvent) -> None:
    """A journey's step asked for a task or a notice to staff: make it (once: the job and the tasks commit
    together)."""
    requests.create_requested(session, request=event.payload, now=utcnow())
