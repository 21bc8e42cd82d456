"""Duplicate detection in the background: the detection job (asked for, and nightly) and reactions to merges."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.config import get_settings
from xuyen.customers.duplicates import detection
from xuyen.customers.duplicates.models import DuplicateRun, RunStatus
from xuyen.customers.duplicates.service import DETECT_JOB
from xuyen.jobs import job, periodic
from xuyen.outbox import DomainEvent, on_event

DETECT_EVERY = timedelta(days=1)
RECHECK_EVERY = timedelta(hours=1)
RECHECK_JOB = "customers.recheck_duplicates"


@job(DETECT_JOB, max_attempts=3)
def detect_duplicates(session: Session, payload: dict[str, Any]) -> None:
    """Run duplicate detection: the run named in the payload, or a new one over every profile (nightly).

    Safe to run twice: a run that is already done is left alone, and storing the same pairs again changes
    nothing a reviewer decided.
    """
    run = session.get(DuplicateRun, payload["run_id"]) if "run_id" in payload else None
    if run is None:
        run = _scheduled_run(session, scope=detection.SCOPE_ALL)
    if run.status == RunStatus.done:
        return
    detection.detect(session, run=run)


@job(RECHECK_JOB, max_attempts=3)
def recheck_changed(session: Session, payload: dict[str, Any]) -> None:
    """Re-check the profiles changed since the last finished run against everyone (hourly)."""
    detection.detect(session, run=_scheduled_run(session, scope=detection.SCOPE_CHANGED))


def _scheduled_run(session: Session, *, scope: str) -> DuplicateRun:
    """A new run asked for by the schedule, with the configured thresholds (helper: flushes)."""
    settings = get_settings()
    run = DuplicateRun(requested_by="schedule", scope=scope, min_score=settings.duplicates_min_score,
                       auto_merge_score=settings.duplicates_auto_merge_score, parameters={})
    session.add(run)
    session.flush()
    return run


periodic(DETECT_JOB, every=DETECT_EVERY)
periodic(RECHECK_JOB, every=RECHECK_EVERY)


@on_event("profile.merged", name="customers.duplicates.retire_after_merge")
def retire_after_merge(session: Session, event: DomainEvent) -> None:
    """A merge closes the pair it joined and makes the absorbed profile's other open pairs stale."""
    detection.retire_after_merge(session, survivor_id=int(event.payload["survivor_id"]),
                                 absorbed_id=int(event.payload["absorbed_id"]))
