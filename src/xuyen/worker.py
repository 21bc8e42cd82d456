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
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from xuyen import outbox
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.db import session_factory
from xuyen.jobs import (
    Job,
    JobStatus,
    add_job_once,
    bury_expired,
    claim_jobs,
    extend_leases,
    finish_job,
    handler_for,
    periodic_specs,
    record_failure,
)

log = logging.getLogger("xuyen.worker")


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
    stats: WorkerStats = field(default_factory=WorkerStats)

    def __post_init__(self) -> None:
        self._sessions: sessionmaker[Session] = session_factory(self.engine)
        self._running_ids: list[int] = []
        self._lock = threading.Lock()
        self._last_schedule = 0.0

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; the job in hand is finished, the rest of its batch released."""
        log.info("worker started", extra={"worker_id": self.worker_id})
        heartbeat = threading.Thread(target=self._heartbeat, args=(stop,), name="xuyen-heartbeat", daemon=True)
        heartbeat.start()
        try:
            while not stop.is_set():
                try:
                    busy = self.run_once(stop=stop)
                except Exception:
                    log.exception("worker loop failed; trying again shortly")
                    busy = 0
                if not busy:
                    stop.wait(self.poll_seconds)
        finally:
            log.info("worker stopped", extra={"worker_id": self.worker_id, "done": self.stats.done})

    def run_once(self, *, stop: threading.Event | None = None) -> int:
        """One pass: schedule, dispatch, claim and run one batch. Returns how much work it found."""
        self._schedule_periodic()
        with self._sessions() as session:
            dispatched = outbox.dispatch_pending(session)
            self.stats.dispatched += dispatched
            bury_expired(session)
            batch = claim_jobs(session, worker_id=self.worker_id, limit=self.batch_size, lease=self.lease)
        with self._lock:
            self._running_ids = [job_row.id for job_row in batch]
        for index, job_row in enumerate(batch):
            if stop is not None and stop.is_set():
                self._release([j.id for j in batch[index:]])
                break
            self._run_job(job_row)
            with self._lock:
                self._running_ids.remove(job_row.id)
        return dispatched + len(batch)

    def run_until_idle(self, *, max_passes: int = 10_000) -> WorkerStats:
        """Run passes until nothing is due (tests, demo loading, one-off maintenance)."""
        for _ in range(max_passes):
            if not self.run_once():
                break
        return self.stats

    def _run_job(self, job_row: Job) -> None:
        spec = handler_for(job_row.name)
        with self._sessions() as session:
            if spec is None:
                record_failure(session, job_id=job_row.id, worker_id=self.worker_id,
                               error=f"no handler is registered for job {job_row.name!r} in this worker")
                self.stats.failed += 1
                return
            try:
                spec.func(session, job_row.payload)
                if finish_job(session, job_id=job_row.id, worker_id=self.worker_id):
                    session.commit()
                    self.stats.done += 1
                else:
                    session.rollback()
                    self.stats.lost += 1
                    log.warning("job lease lost before it finished; its work was rolled back",
                                extra={"job_id": job_row.id, "job": job_row.name})
            except Exception as exc:
                session.rollback()
                status = record_failure(session, job_id=job_row.id, worker_id=self.worker_id, error=exc)
                self.stats.failed += 1
                log.warning("job failed", exc_info=exc,
                            extra={"job_id": job_row.id, "job": job_row.name, "attempt": job_row.attempts,
                                   "now": status.value if status else "lost"})

    def _release(self, job_ids: list[int]) -> None:
        if not job_ids:
            return
        with self._sessions() as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(job_ids), Job.locked_by == self.worker_id, Job.status == JobStatus.running)
                .values(status=JobStatus.queued, locked_by=None, locked_until=None, attempts=Job.attempts - 1)
                .execution_options(synchronize_session=False)
            )
            session.commit()
        with self._lock:
            self._running_ids = []

    def _schedule_periodic(self) -> None:
        now = time.time()
        if now - self._last_schedule < 1.0:
            return
        self._last_schedule = now
        specs = periodic_specs()
        if not specs:
            return
        with self._sessions() as session:
            for spec in specs:
                every = spec.every.total_seconds()
                slot = int(now // every)
                slot_start = utcnow().fromtimestamp(slot * every, tz=utcnow().tzinfo)
                add_job_once(session, name=spec.name, dedupe_key=f"periodic:{spec.name}:{slot}",
                             payload=spec.payload, run_at=slot_start)
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
