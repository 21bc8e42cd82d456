"""Jobs: handlers run once with their effects committed with the job; failures retry, then go dead."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.frame.job_handlers import create_effects_table, effects
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.db import insert_many, is_postgres
from xuyen.errors import Conflict
from xuyen.jobs import (
    Job,
    JobStatus,
    add_job,
    backoff_delay,
    claim_jobs,
    claimable,
    enqueue,
    finish_jobs,
    retry_job,
)
from xuyen.worker import Worker


@pytest.fixture
def effects_engine(engine: Engine) -> Engine:
    create_effects_table(engine)
    return engine


def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_JOB_BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv("XUYEN_JOB_BACKOFF_MAX_SECONDS", "0.05")
    get_settings.cache_clear()


def _run_until(worker: Worker, session: Session, job_id: int, status: JobStatus, *, within: float = 20) -> Job:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        worker.run_once()
        session.rollback()
        session.expire_all()
        row = session.get(Job, job_id)
        assert row is not None
        if row.status == status:
            return row
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not reach {status}")


def test_a_job_runs_once_and_its_effect_is_committed_with_it(effects_engine: Engine, session: Session) -> None:
    job_row = enqueue(session, name="test.record", payload={"key": "hello", "value": "xin chào"})
    stats = Worker(engine=effects_engine).run_until_idle()
    assert stats.done >= 1
    session.rollback()
    session.expire_all()
    done = session.get(Job, job_row.id)
    assert done is not None and done.status == JobStatus.done
    assert done.attempts == 1 and done.finished_at is not None
    assert effects(effects_engine) == [("hello", "xin chào")]
    Worker(engine=effects_engine).run_until_idle()
    assert effects(effects_engine) == [("hello", "xin chào")], "a done job must not run again"


def test_a_scheduled_job_waits_for_its_time(effects_engine: Engine, session: Session) -> None:
    later = enqueue(session, name="test.record", payload={"key": "later"}, run_at=utcnow() + timedelta(hours=1))
    Worker(engine=effects_engine).run_until_idle()
    session.rollback()
    session.expire_all()
    assert session.get(Job, later.id).status == JobStatus.queued  # type: ignore[union-attr]
    assert effects(effects_engine) == []
    session.execute(update(Job).where(Job.id == later.id).values(run_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    Worker(engine=effects_engine).run_until_idle()
    assert effects(effects_engine) == [("later", None)]


def test_a_failing_handler_retries_with_backoff_then_lands_in_the_dead_letters(
    effects_engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast_retries(monkeypatch)
    job_row = enqueue(session, name="test.fail", payload={"why": "bad data"})
    worker = Worker(engine=effects_engine)
    worker.run_once()
    session.rollback()
    session.expire_all()
    first = session.get(Job, job_row.id)
    assert first is not None
    assert first.status == JobStatus.queued and first.attempts == 1
    assert first.run_at > first.created_at, "a failed job waits before its next attempt"
    dead = _run_until(worker, session, job_row.id, JobStatus.dead)
    assert dead.attempts == 3 == dead.max_attempts
    assert "the handler failed on purpose (bad data)" in (dead.last_error or "")
    assert "RuntimeError" in (dead.last_error or "")
    assert effects(effects_engine) == [], "a failed attempt's writes are rolled back"


def test_a_dead_job_can_be_retried_and_only_a_dead_one(
    effects_engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fast_retries(monkeypatch)
    job_row = enqueue(session, name="test.fail")
    _run_until(Worker(engine=effects_engine), session, job_row.id, JobStatus.dead)
    retried = retry_job(session, job_id=job_row.id)
    assert retried.status == JobStatus.queued and retried.attempts == 0
    with pytest.raises(Conflict) as excinfo:
        retry_job(session, job_id=job_row.id)
    assert excinfo.value.code == "job_not_dead"


def test_cli_lists_dead_jobs_and_retries_them(
    effects_engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xuyen.cli import app

    _fast_retries(monkeypatch)
    job_row = enqueue(session, name="test.fail", payload={"why": "cli"})
    _run_until(Worker(engine=effects_engine), session, job_row.id, JobStatus.dead)
    runner = CliRunner()
    listed = runner.invoke(app, ["jobs", "list", "--status", "dead"])
    assert listed.exit_code == 0, listed.output
    assert "test.fail" in listed.output and "failed on purpose (cli)" in listed.output
    assert runner.invoke(app, ["jobs", "list", "--status", "zombie"]).exit_code == 1
    assert runner.invoke(app, ["jobs", "retry"]).exit_code == 1
    retried = runner.invoke(app, ["jobs", "retry", str(job_row.id)])
    assert retried.exit_code == 0, retried.output
    session.rollback()
    session.expire_all()
    assert session.get(Job, job_row.id).status == JobStatus.queued  # type: ignore[union-attr]
    assert runner.invoke(app, ["jobs", "retry", "999999"]).exit_code == 1


def test_an_unknown_handler_is_a_failure_not_a_crash(effects_engine: Engine, session: Session) -> None:
    job_row = add_job(session, name="no.such.handler", max_attempts=1)
    session.commit()
    Worker(engine=effects_engine).run_once()
    session.rollback()
    session.expire_all()
    row = session.get(Job, job_row.id)
    assert row is not None and row.status == JobStatus.dead
    assert "no handler is registered" in (row.last_error or "")


def test_an_expired_lease_hands_the_job_to_another_worker_and_the_first_cannot_finish(
    effects_engine: Engine, session: Session
) -> None:
    job_row = enqueue(session, name="test.record", payload={"key": "leased"})
    claimed = claim_jobs(session, worker_id="worker-a", limit=10, lease=timedelta(seconds=30))
    assert [j.id for j in claimed] == [job_row.id]
    assert claim_jobs(session, worker_id="worker-b", limit=10, lease=timedelta(seconds=30)) == []
    session.execute(update(Job).where(Job.id == job_row.id).values(locked_until=utcnow() - timedelta(seconds=1)))
    session.commit()
    reclaimed = claim_jobs(session, worker_id="worker-b", limit=10, lease=timedelta(seconds=30))
    assert [j.id for j in reclaimed] == [job_row.id]
    assert reclaimed[0].attempts == 2
    assert finish_jobs(session, job_ids=[job_row.id], worker_id="worker-a") == set(), "worker A lost its lease"
    session.rollback()
    assert finish_jobs(session, job_ids=[job_row.id], worker_id="worker-b") == {job_row.id}
    session.commit()


def test_a_lease_expiring_on_the_last_attempt_buries_the_job(effects_engine: Engine, session: Session) -> None:
    job_row = add_job(session, name="test.record", payload={"key": "x"}, max_attempts=1)
    session.commit()
    claim_jobs(session, worker_id="worker-a", limit=1, lease=timedelta(seconds=30))
    session.execute(update(Job).where(Job.id == job_row.id).values(locked_until=utcnow() - timedelta(seconds=1)))
    session.commit()
    Worker(engine=effects_engine).run_once()
    session.rollback()
    session.expire_all()
    row = session.get(Job, job_row.id)
    assert row is not None and row.status == JobStatus.dead
    assert "lease expired" in (row.last_error or "")
    assert effects(effects_engine) == []


def test_periodic_jobs_are_scheduled_once_per_period_across_workers(effects_engine: Engine,
                                                                   session: Session) -> None:
    first, second = Worker(engine=effects_engine), Worker(engine=effects_engine)
    first.run_once()
    second.run_once()
    prune_jobs = list(session.scalars(select(Job).where(Job.name == "jobs.prune")))
    assert len(prune_jobs) == 1
    assert prune_jobs[0].dedupe_key and prune_jobs[0].dedupe_key.startswith("periodic:jobs.prune:")


def test_backoff_grows_exponentially_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_JOB_BACKOFF_BASE_SECONDS", "2")
    monkeypatch.setenv("XUYEN_JOB_BACKOFF_MAX_SECONDS", "60")
    get_settings.cache_clear()
    try:
        delays = [backoff_delay(n).total_seconds() for n in range(1, 10)]
    finally:
        get_settings.cache_clear()
    assert 1.5 <= delays[0] <= 2.5
    assert 6 <= delays[2] <= 10
    assert all(delay <= 75 for delay in delays)
    assert delays[-1] >= 45


def test_a_failure_in_a_group_keeps_the_other_jobs_effects_exactly_once(
    effects_engine: Engine, session: Session
) -> None:
    first = enqueue(session, name="test.record", payload={"key": "before"})
    failing = add_job(session, name="test.fail", max_attempts=1)
    last = enqueue(session, name="test.record", payload={"key": "after"})
    worker = Worker(engine=effects_engine)
    worker.run_until_idle()
    assert sorted(effects(effects_engine)) == [("after", None), ("before", None)]
    session.rollback()
    session.expire_all()
    assert session.get(Job, first.id).status == JobStatus.done  # type: ignore[union-attr]
    assert session.get(Job, last.id).status == JobStatus.done  # type: ignore[union-attr]
    assert session.get(Job, failing.id).status == JobStatus.dead  # type: ignore[union-attr]
    assert worker.stats.failed == 1


def test_an_isolated_job_runs_once_even_when_a_job_beside_it_fails(
    effects_engine: Engine, session: Session, tmp_path: Path
) -> None:
    log = tmp_path / "outside.log"
    enqueue(session, name="test.call_outside", payload={"key": "sms-1", "log": str(log)})
    add_job(session, name="test.fail", max_attempts=1)
    enqueue(session, name="test.call_outside", payload={"key": "sms-2", "log": str(log)})
    Worker(engine=effects_engine).run_until_idle()
    assert log.read_text().splitlines() == ["sms-1", "sms-2"], "each outside call happened once"
    assert sorted(effects(effects_engine)) == [("sms-1", None), ("sms-2", None)]


def _claim_plan(session: Session, now: datetime) -> str:
    """The database's plan for the claim of queued jobs."""
    statement = claimable(now=now, limit=50)[0].compile(dialect=session.get_bind().dialect,
                                                        compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN " if is_postgres(session) else "EXPLAIN QUERY PLAN "
    return "\n".join(str(row[-1]) for row in session.execute(text(explain + str(statement))))


def test_a_claim_walks_the_queued_jobs_in_its_order_and_stops_when_it_has_enough(session: Session) -> None:
    """A broadcast queues a job per customer: a claim must not read and sort every one of them to take the first
    fifty. The queued jobs' own index holds them in claim order; jobs due later sort after the due ones."""
    now = utcnow()
    rows = [{"name": "noop", "payload": {}, "status": JobStatus.queued.value, "priority": 100,
             "run_at": now + timedelta(seconds=n % 2 * 3600 - 60), "attempts": 0, "max_attempts": 5,
             "created_at": now} for n in range(5_000)]
    insert_many(session.connection(), Job, rows)
    session.commit()
    assert "ix_jobs_claim_order" in _claim_plan(session, now)
    claimed = claim_jobs(session, worker_id="w", limit=50, lease=timedelta(minutes=1))
    due = sorted(session.scalars(select(Job.id).where(Job.run_at <= now)))
    assert [job.id for job in claimed] == due[:50]


def test_a_claim_takes_expired_leases_and_queued_jobs_in_one_order(session: Session) -> None:
    """A job whose worker died goes back in line by its priority and time, among the queued ones."""
    now = utcnow()
    urgent = add_job(session, name="noop", priority=5, run_at=now - timedelta(minutes=1))
    orphan = add_job(session, name="noop", priority=10, run_at=now - timedelta(minutes=5))
    late = add_job(session, name="noop", priority=100, run_at=now - timedelta(minutes=9))
    session.commit()
    session.execute(update(Job).where(Job.id == orphan.id).values(
        status=JobStatus.running, locked_by="dead-worker", locked_until=now - timedelta(seconds=1), attempts=1))
    session.commit()
    first = claim_jobs(session, worker_id="w", limit=2, lease=timedelta(minutes=1))
    assert [job.id for job in first] == [urgent.id, orphan.id]
    assert first[1].attempts == 2 and first[1].locked_by == "w"
    assert [job.id for job in claim_jobs(session, worker_id="w", limit=2, lease=timedelta(minutes=1))] == [late.id]


def test_a_claim_checks_earlier_open_jobs_of_a_key_among_the_open_jobs_only(session: Session) -> None:
    """Thousands of done jobs with ordering keys (a broadcast's sends, the handlers of its messages) must not be
    read again for every job a claim looks at: the check probes an index of the open jobs alone, whatever the
    planner knows of the table (here: nothing, it was never analysed)."""
    now = utcnow()
    rows = [{"name": "noop", "payload": {}, "status": (JobStatus.done if n < 3_000 else JobStatus.queued).value,
             "priority": 100, "run_at": now, "attempts": 0, "max_attempts": 5, "sequence": n, "created_at": now,
             "ordering_key": f"conversation:{n % 200}"} for n in range(3_400)]
    insert_many(session.connection(), Job, rows)
    session.commit()
    assert "ix_jobs_ordering_open" in _claim_plan(session, now)
    claimed = claim_jobs(session, worker_id="w", limit=500, lease=timedelta(minutes=1))
    assert sorted(job.sequence for job in claimed) == list(range(3_000, 3_200))  # the first open job of each key
