"""The worker: dispatches the outbox, schedules periodic jobs and runs due jobs until told to stop.

Run it as ``xuyen worker`` (one or many processes, on one or many hosts) or in a thread beside the
server (``xuyen serve --with-worker``, ``xuyen demo``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from xuyen import outbox
from xuyen.config import get_settings
from xuyen.db import session_factory
from xuyen.jobs import (
    URGENT,
    HandlerSpec,
    Job,
    JobHandler,
    add_job_once,
    bury_expired,
    claim_jobs,
    extend_leases,
    fail_job,
    finish_jobs,
    handler_for,
    periodic_specs,
    release_jobs,
    urgent_work_waiting,
)
from xuyen.wakeup import listen_for_work, wait_for_work

log = logging.getLogger("xuyen.worker")

# On SQLite the servers and the worker share one write lock, and a server waiting for it only tries again now and
# then (SQLite's busy handler sleeps between tries). While live traffic flows (urgent jobs were run in the last
# two seconds) the worker pauses this long after each commit, so a waiting webhook gets the lock within
# milliseconds instead of after the worker's backlog; without traffic it works at full speed.
SQLITE_LOCK_PAUSE_SECONDS = 0.01


@dataclass
class WorkerStats:
    done: int = 0
    failed: int = 0
    lost: int = 0
    dispatched: int = 0


@dataclass
class Worker:
    """One worker: claims batches of jobs and runs each in its own transaction."""

    engine: Engine
    batch_size: int = field(default_factory=lambda: get_settings().worker_batch_size)
    poll_seconds: float = field(default_factory=lambda: get_settings().worker_poll_seconds)
    lease: timedelta = field(default_factory=lambda: timedelta(seconds=get_settings().job_lease_seconds))
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    group_commit_seconds: float | None = None  # PostgreSQL 0.2 s; SQLite 0: its one write lock is shared with servers
    stats: WorkerStats = field(default_factory=WorkerStats)
    # Off for one-off runs over history (loading the demo): a minutely check run before the events it judges were
    # handled would judge them too early.
    periodic: bool = True
    # Jobs this worker leaves to others (e.g. a worker for the follow-ups beside one that parses webhooks).
    skip: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        on_sqlite = self.engine.dialect.name == "sqlite"
        if self.group_commit_seconds is None:
            self.group_commit_seconds = 0.0 if on_sqlite else 0.2
        self._yields_lock = on_sqlite
        self._servers_busy_until = 0.0
        self._sessions: sessionmaker[Session] = session_factory(self.engine)
        self._running_ids: list[int] = []
        self._lock = threading.Lock()
        self._last_schedule = 0.0

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; the job in hand is finished, the rest of its batch released."""
        log.info("worker started", extra={"worker_id": self.worker_id})
        heartbeat = threading.Thread(target=self._heartbeat, args=(stop,), name="xuyen-heartbeat", daemon=True)
        heartbeat.start()
        listen_for_work(self.engine, stop)
        failures = 0
        try:
            while not stop.is_set():
                try:
                    busy = self.run_once(stop=stop)
                    failures = 0
                except Exception:
                    failures += 1
                    pause = min(self.poll_seconds * 2 ** failures, 30.0)
                    log.exception("worker loop failed (is the database reachable?); trying again",
                                  extra={"retry_in_seconds": pause})
                    stop.wait(pause)
                    continue
                if not busy:
                    self._idle(stop)
        finally:
            log.info("worker stopped", extra={"worker_id": self.worker_id, "done": self.stats.done})

    def _idle(self, stop: threading.Event) -> None:
        """Wait for work to be queued (woken at once) or for the next poll, whichever comes first."""
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or wait_for_work(min(remaining, 0.1)):
                return

    def run_once(self, *, stop: threading.Event | None = None) -> int:
        """One pass: schedule, dispatch, claim and run one batch. Returns how much work it found."""
        self._housekeeping()
        with self._sessions() as session:
            dispatched = outbox.dispatch_pending(session)
            self.stats.dispatched += dispatched
            batch = claim_jobs(session, worker_id=self.worker_id, limit=self.batch_size, lease=self.lease,
                               skip=self.skip)
        if batch:
            self._run_batch(batch, stop)
        return dispatched + len(batch)

    def run_until_idle(self, *, max_passes: int = 10_000) -> WorkerStats:
        """Run passes until nothing is due (tests, demo loading, one-off maintenance), at full speed: nobody is
        waiting for SQLite's write lock meanwhile."""
        yields_lock, self._yields_lock = self._yields_lock, False
        try:
            for _ in range(max_passes):
                if not self.run_once():
                    break
        finally:
            self._yields_lock = yields_lock
        return self.stats

    def _run_batch(self, batch: list[Job], stop: threading.Event | None) -> None:
        """Run a claimed batch in groups that share one transaction (group commit).

        A job's writes and its completion commit together, so they take effect together or not at
        all, and a group saves a disk flush per job. When a job fails, its group is
        rolled back, the failure recorded, and the rest of the group run again; a crash before a
        group commits leaves its jobs to be claimed again after the lease. Isolated jobs (handlers
        that act outside the database) run in a transaction of their own. Urgent jobs commit as soon as
        they are done, and when urgent work is queued meanwhile, the rest of a batch of ordinary jobs is
        handed back so the next claim takes the urgent work first.
        """
        with self._lock:
            self._running_ids = [job_row.id for job_row in batch]
        pending = list(batch)
        solo: set[int] = set()  # jobs of a failed batch call, run again one at a time
        group: list[Job] = []
        group_started = time.monotonic()
        with self._sessions() as session:
            while pending:
                if stop is not None and stop.is_set():
                    self._commit_group(session, group)
                    group = []
                    self._hand_back(session, pending)
                    break
                job_row = pending.pop(0)
                spec = handler_for(job_row.name)
                if spec is not None and spec.isolated:
                    self._commit_group(session, group)
                    group = []
                    self._run_isolated(session, job_row, spec.func)
                    continue
                together = [job_row]
                if spec is not None and spec.batch_func is not None and job_row.id not in solo:
                    together += self._take_same(pending, name=job_row.name, limit=spec.max_batch - 1, solo=solo)
                try:
                    self._call(session, spec, together, name=job_row.name)
                except Exception as exc:
                    session.rollback()
                    retried = group  # the group's work was rolled back: run it again
                    if len(together) > 1:
                        solo.update(j.id for j in together)
                        retried = group + together
                        log.warning("a batch of %s %s jobs failed; running them one at a time", len(together),
                                    job_row.name, exc_info=exc)
                    else:
                        self._record_failure(session, job_row, exc)
                    pending[:0] = retried
                    group = []
                    continue
                group.extend(together)
                if job_row.priority <= URGENT and self._yields_lock:
                    self._servers_busy_until = time.monotonic() + 2.0  # urgent work comes from live traffic
                if job_row.priority <= URGENT or time.monotonic() - group_started >= (self.group_commit_seconds or 0):
                    self._commit_group(session, group)
                    group, group_started = [], time.monotonic()
                    if pending and self._urgent_work_jumps_queue(session, pending):
                        self._hand_back(session, pending)
                        break
            self._commit_group(session, group)
        with self._lock:
            self._running_ids = []

    @staticmethod
    def _take_same(pending: list[Job], *, name: str, limit: int, solo: set[int]) -> list[Job]:
        """Take up to ``limit`` more jobs called ``name`` out of ``pending`` for one batch call."""
        taken = [j for j in pending if j.name == name and j.id not in solo][:limit]
        for job_row in taken:
            pending.remove(job_row)
        return taken

    @staticmethod
    def _call(session: Session, spec: HandlerSpec | None, jobs: list[Job], *, name: str) -> None:
        if spec is None:
            raise LookupError(f"no handler is registered for job {name!r} in this worker")
        if spec.batch_func is not None:
            spec.batch_func(session, [job_row.payload for job_row in jobs])
        else:
            spec.func(session, jobs[0].payload)
        session.flush()

    def _urgent_work_jumps_queue(self, session: Session, pending: list[Job]) -> bool:
        """Whether the rest of this batch should wait: it holds only ordinary jobs and urgent ones are due."""
        if any(job_row.priority <= URGENT for job_row in pending):
            return False
        waiting = urgent_work_waiting(session, skip=self.skip)
        session.rollback()
        return waiting

    def _hand_back(self, session: Session, jobs: list[Job]) -> None:
        release_jobs(session, job_ids=[j.id for j in jobs], worker_id=self.worker_id)
        session.commit()
        with self._lock:
            handed = {j.id for j in jobs}
            self._running_ids = [i for i in self._running_ids if i not in handed]

    def _run_isolated(self, session: Session, job_row: Job, func: JobHandler) -> None:
        try:
            func(session, job_row.payload)
            session.flush()
        except Exception as exc:
            session.rollback()
            self._record_failure(session, job_row, exc)
            return
        self._commit_group(session, [job_row])

    def _commit_group(self, session: Session, group: list[Job]) -> None:
        """Mark the group done and commit; if a lease was lost meanwhile, undo the group and hand it back."""
        if not group:
            return
        ids = [job_row.id for job_row in group]
        finished = finish_jobs(session, job_ids=ids, worker_id=self.worker_id)
        if finished == set(ids):
            session.commit()
            self.stats.done += len(ids)
            if time.monotonic() < self._servers_busy_until:
                time.sleep(SQLITE_LOCK_PAUSE_SECONDS)  # let a server waiting for SQLite's write lock take it
            return
        session.rollback()
        self.stats.lost += len(set(ids) - finished)
        log.warning("job lease lost before its group committed; the group was rolled back and released",
                    extra={"job_ids": sorted(set(ids) - finished)})
        release_jobs(session, job_ids=ids, worker_id=self.worker_id)
        session.commit()

    def _record_failure(self, session: Session, job_row: Job, exc: BaseException) -> None:
        status = fail_job(session, job_id=job_row.id, worker_id=self.worker_id, error=exc)
        session.commit()
        self.stats.failed += 1
        log.warning("job failed", exc_info=exc,
                    extra={"job_id": job_row.id, "job": job_row.name, "attempt": job_row.attempts,
                           "now": status.value if status else "lost"})

    def _housekeeping(self) -> None:
        """Once a second at most: bury jobs that died on their last attempt, schedule periodic jobs."""
        now = time.time()
        if now - self._last_schedule < 1.0:
            return
        self._last_schedule = now
        with self._sessions() as session:
            bury_expired(session)
            for spec in periodic_specs() if self.periodic else ():
                every = spec.every.total_seconds()
                slot = int(now // every)
                slot_start = datetime.fromtimestamp(slot * every, tz=UTC)
                add_job_once(session, name=spec.name, dedupe_key=f"periodic:{spec.name}:{slot}",
                             payload=spec.payload, run_at=slot_start, priority=spec.priority)
            session.commit()

    def _heartbeat(self, stop: threading.Event) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.05)
        while not stop.wait(interval):
            with self._lock:
                ids = list(self._running_ids)
            if not ids:
                continue
            try:
                with self._sessions() as session:
                    extend_leases(session, worker_id=self.worker_id, job_ids=ids, lease=self.lease)
            except Exception:
                log.exception("could not extend job leases")
