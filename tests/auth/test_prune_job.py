"""The periodic ``auth.prune`` job forgets expired sessions and old sign-in attempts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_user
from xuyen.auth import service
from xuyen.auth.handlers import PRUNE_JOB
from xuyen.auth.models import AuthSession, LoginAttempt
from xuyen.clock import utcnow
from xuyen.jobs import Job, JobStatus, periodic_specs
from xuyen.worker import Worker

IP = "203.0.113.9"


def test_prune_is_scheduled_every_hour() -> None:
    assert [spec.every for spec in periodic_specs() if spec.name == PRUNE_JOB] == [timedelta(hours=1)]


def test_the_worker_prunes_expired_sessions_and_old_attempts(engine: Engine, session: Session) -> None:
    user = make_user(session)
    _, live_token = service.sign_in(session, email=user.email, password=PASSWORD, ip=IP)
    _, expired_token = service.sign_in(session, email=user.email, password=PASSWORD, ip=IP)
    expired = service.resolve_session(session, token=expired_token)
    assert expired is not None
    expired_id = expired[1].id
    expired[1].expires_at = utcnow() - timedelta(minutes=1)
    month_ago = utcnow() - timedelta(days=31)
    session.add(LoginAttempt(email=user.email, ip=IP, succeeded=False, attempted_at=month_ago))
    session.commit()

    Worker(engine=engine).run_until_idle()

    session.rollback()
    session.expire_all()
    assert session.scalar(select(AuthSession.id).where(AuthSession.id == expired_id)) is None
    assert service.resolve_session(session, token=live_token) is not None
    recent = utcnow() - timedelta(days=1)
    attempts = list(session.scalars(select(LoginAttempt.attempted_at)))
    assert len(attempts) == 2
    assert all(moment > recent for moment in attempts)
    assert session.scalars(select(Job.status).where(Job.name == PRUNE_JOB)).all() == [JobStatus.done]
