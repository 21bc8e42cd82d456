"""Job throughput and latency: one and two ``xuyen worker`` processes on PostgreSQL (and one on SQLite).

Each job runs a small handler that writes one row, as real handlers do. Printed figures:

- drain: N jobs queued at once, jobs/s until the last one is done, for 1 and 2 workers;
- latency: jobs queued at a steady rate, p50/p95/p99 from due to done;
- baseline: the same handler called directly in a loop in one process (committing every 50 calls, as
  the worker's group commit does), no queue at all, in the same run; the ratio says what the queue costs
  (claiming, leases, completion marks) and what a second worker adds.

Usage: ``python -m bench.jobs [--jobs 20000] [--rate 400] [--seconds 5]``. PostgreSQL comes from
``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or postgresql://postgres@127.0.0.1:5432/test);
a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.db import make_engine, normalise_url, session_factory
from xuyen.jobs import Job, JobStatus, job
from xuyen.migrate import upgrade

REPO = Path(__file__).resolve().parents[1]
HANDLER = "bench.touch"
TABLE = "bench_effects"


@job(HANDLER)
def touch(session: Session, payload: dict[str, Any]) -> None:
    """The benchmark's handler: one INSERT, like a small real handler."""
    session.execute(text(f"INSERT INTO {TABLE} (key) VALUES (:key)"), {"key": payload["key"]})


def _server_url() -> str:
    default = os.environ.get("XUYEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return os.environ.get("XUYEN_BENCH_POSTGRES_URL", default)


@contextmanager
def scratch_postgres(*, keep: bool = False) -> Iterator[str]:
    """A new, migrated PostgreSQL database, dropped afterwards unless ``keep``."""
    server = _server_url()
    name = f"xuyen_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_sqlite() -> Iterator[str]:
    """A new, migrated SQLite file, removed afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        yield url


def reset(engine: Engine) -> None:
    """Empty the job table and the handler's table."""
    serial = "BIGSERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE IF NOT EXISTS {TABLE} (id {serial} PRIMARY KEY, key VARCHAR(64))"))
        connection.execute(text(f"DELETE FROM {TABLE}"))
        connection.execute(text("DELETE FROM jobs"))


def queue_jobs(engine: Engine, count: int, *, prefix: str) -> None:
    """Queue ``count`` jobs in one statement."""
    now = utcnow()
    rows = [{"name": HANDLER, "payload": {"key": f"{prefix}-{i}"}, "status": JobStatus.queued, "priority": 100,
             "run_at": now, "attempts": 0, "max_attempts": 5, "created_at": now} for i in range(count)]
    with session_factory(engine)() as session:
        session.execute(insert(Job), rows)
        session.commit()


def done_count(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).select_from(Job).where(Job.name == HANDLER, Job.status == JobStatus.done)
        return int(connection.execute(query).scalar_one())


def start_workers(url: str, count: int) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` worker processes and wait until they are idle and polling."""
    env = dict(os.environ, XUYEN_DATABASE_URL=url, XUYEN_LOG_LEVEL="WARNING", PYTHONPATH=str(REPO),
               XUYEN_WORKER_POLL_SECONDS="0.05")
    workers = [subprocess.Popen([sys.executable, "-m", "xuyen.cli", "worker", "--import", "bench.jobs"],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(count)]
    time.sleep(3)  # imports and first poll
    for worker in workers:
        if worker.poll() is not None:
            raise SystemExit(f"a worker exited at start: {worker.stderr.read().decode() if worker.stderr else ''}")
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=30)


def wait_all_done(engine: Engine, count: int, *, limit_seconds: float = 600) -> None:
    deadline = time.monotonic() + limit_seconds
    while done_count(engine) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up: only {done_count(engine)}/{count} jobs done in {limit_seconds:.0f}s")
        time.sleep(0.05)


def drain(url: str, *, workers: int, jobs: int) -> float:
    """Jobs per second when ``jobs`` are queued at once and ``workers`` processes drain them."""
    engine = make_engine(url, pool=False)
    reset(engine)
    procs = start_workers(url, workers)
    try:
        queue_jobs(engine, jobs, prefix="drain")
        started = time.perf_counter()  # the jobs became visible to the workers at the commit
        wait_all_done(engine, jobs)
        elapsed = time.perf_counter() - started
    finally:
        stop_workers(procs)
    engine.dispose()
    return jobs / elapsed


def steady_latency(url: str, *, workers: int, rate: int, seconds: float) -> list[float]:
    """Due-to-done latencies (ms) of jobs queued at ``rate`` per second for ``seconds``."""
    engine = make_engine(url, pool=False)
    reset(engine)
    procs = start_workers(url, workers)
    total = 0
    try:
        tick = 0.05
        per_tick = max(int(rate * tick), 1)
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            queue_jobs(engine, per_tick, prefix=f"steady-{total}")
            total += per_tick
            time.sleep(max(started + (total / rate) - time.perf_counter(), 0))
        wait_all_done(engine, total)
    finally:
        stop_workers(procs)
    with engine.connect() as connection:
        rows = connection.execute(select(Job.run_at, Job.finished_at).where(Job.name == HANDLER)).all()
    engine.dispose()
    return [(finished - run_at).total_seconds() * 1000 for run_at, finished in rows]


def baseline(url: str, *, jobs: int) -> float:
    """Calls per second of the same handler run directly, committing every 50 calls as a worker's group
    commit does: the work without the queue."""
    engine = make_engine(url, pool=False)
    reset(engine)
    with session_factory(engine)() as session:
        started = time.perf_counter()
        for i in range(jobs):
            touch(session, {"key": f"direct-{i}"})
            if i % 50 == 49:
                session.commit()
        session.commit()
        elapsed = time.perf_counter() - started
    engine.dispose()
    return jobs / elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per drain run")
    parser.add_argument("--rate", type=int, default=400, help="jobs per second in the latency run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the latency run")
    args = parser.parse_args()

    print(f"bench/jobs.py: {args.jobs} jobs per drain, handler = one INSERT, {os.cpu_count()} CPU cores")
    with scratch_postgres() as url:
        direct = baseline(url, jobs=min(args.jobs, 5000))
        print(f"PostgreSQL baseline (handler called directly, no queue): {direct:8.0f} calls/s")
        for count in (1, 2):
            rate = drain(url, workers=count, jobs=args.jobs)
            print(f"PostgreSQL drain, {count} worker(s):                       {rate:8.0f} jobs/s"
                  f"   ({rate / direct:.2f} x baseline)")
        latencies = steady_latency(url, workers=2, rate=args.rate, seconds=args.seconds)
        print(f"PostgreSQL latency, 2 workers, {args.rate} jobs/s offered, {len(latencies)} jobs: "
              f"p50 {percentile(latencies, 0.5):.0f} ms  p95 {percentile(latencies, 0.95):.0f} ms  "
              f"p99 {percentile(latencies, 0.99):.0f} ms  mean {statistics.fmean(latencies):.0f} ms")
    with scratch_sqlite() as url:
        direct = baseline(url, jobs=min(args.jobs, 5000))
        rate = drain(url, workers=1, jobs=min(args.jobs, 10_000))
        print(f"SQLite baseline {direct:8.0f} calls/s; drain, 1 worker {rate:8.0f} jobs/s ({rate / direct:.2f} x)")


if __name__ == "__main__":
    main()
