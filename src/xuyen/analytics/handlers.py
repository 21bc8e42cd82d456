"""Analytics' jobs: every minute the scheduled reports that are due are queued, each run's e-mail a job of its
own, run alone (it talks to a mail server)."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics import schedules
from xuyen.config import get_settings
from xuyen.jobs import job, periodic


@job(schedules.DUE_JOB)
def queue_due_reports(session: Session, payload: dict[str, Any]) -> None:
    """Queue one send for every scheduled report whose time has come."""
    schedules.queue_due(session)


@job(schedules.SEND_JOB, isolated=True)
def send_report(session: Session, payload: dict[str, Any]) -> None:
    """E-mail one run of a scheduled report."""
    importlib.import_module("xuyen.analytics.pages")  # every dashboard registers its tables when its page loads
    schedules.send_run(session, run_id=int(payload["run_id"]), base_url=get_settings().public_url.rstrip("/"))


periodic(schedules.DUE_JOB, every=timedelta(minutes=1))
