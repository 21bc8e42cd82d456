"""Real worker processes: many jobs, none run twice, none lost; a killed worker's job moves on."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from tests.frame.job_handlers import create_effects_table, effect_pids, effects
from tests.worker_processes import WorkerProcesses
from xuyen.clock import utcnow
from xuyen.jobs import Job, JobStatus, enqueue

JOB_COUNT = 10_000
HANDLERS = ("--import", "tests.frame.job_handlers")

pytestmark = pytest.mark.slow


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(db_url, tmp_path)
    yield processes
    processes.stop_all()


def _count(session: Session, status: JobStatus, name: str = "test.record") -> int:
    session.rollback()
    query = select(func.count()).select_from(Job).where(Job.status == status, Job.name == name)
    return int(session.scalar(query) or 0)


@pytest.mark.postgres_only
def test_two_worker_processes_run_ten_thousand_jobs_none_twice_none_lost(
    engine: Engine, session: Session, workers: WorkerProcesses
) -> None:
    create_effects_table(engine)
    now = utcnow()
    rows = [{"name": "test.record", "payload": {"key": f"job-{i}"}, "status": JobStatus.queued, "priority": 100,
             "run_at": now, "attempts": 0, "max_attempts": 5, "created_at": now} for i in range(JOB_COUNT)]
    session.execute(insert(Job), rows)
    session.commit()

    first, second = workers.start(*HANDLERS), workers.start(*HANDLERS)
    workers.wait_for(lambda: _count(session, JobStatus.done) == JOB_COUNT, within=240,
              what=f"{JOB_COUNT} jobs to be done")
    workers.stop_all()

    keys = [key for key, _ in effects(engine)]
    assert len(keys) == JOB_COUNT, "every job's effect is there exactly once"
    assert len(set(keys)) == JOB_COUNT, "no job ran twice"
    by_pid = effect_pids(engine)
    assert set(by_pid) == {first.pid, second.pid}, "both workers took part"
    session.rollback()
    assert session.scalar(select(func.max(Job.attempts)).where(Job.name == "test.record")) == 1
    assert _count(session, JobStatus.queued) + _count(session, JobStatus.running) == 0


def test_a_job_whose_worker_is_killed_is_taken_over_after_the_lease(
    engine: Engine, session: Session, workers: WorkerProcesses, tmp_path: Path
) -> None:
    create_effects_table(engine)
    marker = tmp_path / "started"
    job_row = enqueue(session, name="test.sleep_first_time", payload={"marker": str(marker), "sleep": 300})
    doomed = workers.start(*HANDLERS, "--lease-seconds", "2", "--poll-seconds", "0.1")
    workers.wait_for(marker.exists, within=60, what="the first worker to start the job")
    session.rollback()
    session.expire_all()
    running = session.get(Job, job_row.id)
    assert running is not None and running.status == JobStatus.running
    lease_seen = running.locked_until
    assert lease_seen is not None
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)

    rescuer = workers.start(*HANDLERS, "--lease-seconds", "2", "--poll-seconds", "0.1")
    def finished() -> bool:
        session.rollback()
        session.expire_all()
        row = session.get(Job, job_row.id)
        return row is not None and row.status == JobStatus.done
    workers.wait_for(finished, within=90, what="the second worker to finish the job")

    row = session.get(Job, job_row.id)
    assert row is not None
    assert row.attempts == 2
    assert row.finished_at is not None
    assert row.finished_at >= lease_seen, "nobody took the job over before its lease ran out"
    assert effects(engine) == [("slept", str(rescuer.pid))], "only the second worker's run took effect"


def test_a_stopped_worker_releases_its_unstarted_jobs(
    engine: Engine, session: Session, workers: WorkerProcesses, tmp_path: Path
) -> None:
    create_effects_table(engine)
    marker = tmp_path / "started"
    slow = enqueue(session, name="test.sleep_first_time", payload={"marker": str(marker), "sleep": 3})
    waiting = enqueue(session, name="test.record", payload={"key": "after"})
    worker = workers.start(*HANDLERS, "--batch-size", "10")
    workers.wait_for(marker.exists, within=60, what="the worker to start the slow job")
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    session.rollback()
    session.expire_all()
    assert session.get(Job, slow.id).status == JobStatus.done  # type: ignore[union-attr]
    left = session.get(Job, waiting.id)
    assert left is not None
    assert left.status in (JobStatus.queued, JobStatus.done)
    if left.status == JobStatus.queued:
        assert left.attempts == 0 and left.locked_by is None, "a released job keeps its attempts"


@pytest.mark.postgres_only
def test_a_worker_process_idle_for_a_minute_is_woken_by_a_job_queued_elsewhere(
    engine: Engine, session: Session, workers: WorkerProcesses
) -> None:
    create_effects_table(engine)
    workers.start(*HANDLERS, "--poll-seconds", "600")
    time.sleep(3)  # let it start, find nothing and go to sleep for ten minutes
    enqueue(session, name="test.record", payload={"key": "wake up"})
    workers.wait_for(lambda: ("wake up", None) in effects(engine), within=60,
              what="the sleeping worker to be woken by PostgreSQL's NOTIFY")
