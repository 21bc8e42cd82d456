"""Auth jobs: hourly clean-up of expired sessions and old sign-in attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.auth.service import prune_sign_in_records
from xuyen.jobs import job, periodic

PRUNE_JOB = "auth.prune"


@job(PRUNE_JOB)
def prune(session: Session, payload: dict[str, Any]) -> None:
    """Forget expired browser sessions and sign-in attempts past the retention period (the worker commits)."""
    prune_sign_in_records(session)


periodic(PRUNE_JOB, every=timedelta(hours=1))
