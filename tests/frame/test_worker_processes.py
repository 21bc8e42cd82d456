"""Real worker processes: many jobs, none run twice, none lost; a killed worker's job moves on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from tests.frame.job_handlers import create_effects_table, effect_pids, effects
from xuyen.clock import utcnow
from xuyen.jobs import Job, JobStatus, enqueue

REPO = Path(__file__).resolve().parents[2]
JOB_COUNT = 10_000

pytestmark = pytest.mark.slow


class WorkerProcesses:
    """Starts ``xuyen worker`` processes against the test database and stops them at the end."""

    def __init__(self, db_url: str, log_dir: Path) -> None:
        self.db_url = db_url
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        env = dict(os.environ, XUYEN_DATABASE_URL=self.db_url, XUYEN_ENV="test", PYTHONPATH=str(REPO),
                   XUYEN_LOG_LEVEL="WARNING")
        log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "xuyen.cli", "worker", "--import", "tests.frame.job_handlers", *args],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in sorted(self.log_dir.glob("*.log")))


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(db_url, tmp_path)
    yield processes
    processes.stop_all()


def _count(session: Session, status: JobStatus, name: str = "test.record") -> int:
    session.rollback()
    query = select(func.count()).select_from(Job).where(Job.status == status, Job.name == name)
    return int(session.scalar(query) or 0)


def _wait_for(condition, *, within: float, workers: WorkerProcesses, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        if any(p.poll() is not None for p in workers.processes if p.returncode not in (None, -9)):
            break
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{workers.logs()}")


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

    first, second = workers.start(), workers.start()
    _wait_for(lambda: _count(session, JobStatus.done) == JOB_COUNT, within=240, workers=workers,
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
    doomed = workers.start("--lease-seconds", "2", "--poll-seconds", "0.1")
    _wait_for(marker.exists, within=60, workers=workers, what="the first worker to start the job")
    session.rollback()
    session.expire_all()
    running = session.get(Job, job_row.id)
    assert running is not None and running.status == JobStatus.running
    lease_seen = running.locked_until
    assert lease_seen is not None
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)

    rescuer = workers.start("--lease-seconds", "2", "--poll-seconds", "0.1")
    def finished() -> bool:
        session.rollback()
        session.expire_all()
        row = session.get(Job, job_row.id)
        return row is not None and row.status == JobStatus.done
    _wait_for(finished, within=90, workers=workers, what="the second worker to finish the job")

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
    worker = workers.start("--batch-size", "10")
    _wait_for(marker.exists, within=60, workers=workers, what="the worker to start the slow job")
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
    workers.start("--poll-seconds", "600")
    time.sleep(3)  # let it start, find nothing and go to sleep for ten minutes
    enqueue(session, name="test.record", payload={"key": "wake up"})
    _wait_for(lambda: ("wake up", None) in effects(engine), within=60, workers=workers,
              what="the sleeping worker to be woken by PostgreSQL's NOTIFY")
