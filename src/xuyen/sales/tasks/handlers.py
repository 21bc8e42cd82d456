"""The tasks' jobs: every minute, reminders due go out and overdue tasks are announced; each reminder's e-mail is a
job of its own, run alone (it talks to a mail server)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.config import get_settings
from xuyen.jobs import job, periodic
from xuyen.sales.tasks import reminders


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
