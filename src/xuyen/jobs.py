"""Durable jobs: a table of work, handlers registered by name, retries with backoff, dead letters.

A job is claimed by a worker with a lease (``locked_until``). The handler runs in the same database
transaction that marks the job done, so a handler whose effects are all in the database takes
effect exactly once; a worker that dies leaves its jobs to be claimed again when the lease runs out.
Jobs that share an ``ordering_key`` run one at a time in ``sequence`` order (the outbox uses this to
deliver each aggregate's events in order).
"""

from __future__ import annotations

import enum
import random
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Enum,
    Index,
    Integer,
    String,
    Text,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column
from sqlalchemy.sql import Select

from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.db import Base, BigId, JSONType, UTCDateTime, insert_many, is_postgres
from xuyen.errors import Conflict, NotFound
from xuyen.wakeup import note_work_queued


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    dead = "dead"


_OPEN = text("status IN ('queued', 'running')")
_QUEUED = text("status = 'queued'")


class Job(Base):
    """One unit of background work."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16, validate_strings=True), default=JobStatus.queued
    )
    priority: Mapped[int] = mapped_column(Integer, default=100)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    ordering_key: Mapped[str | None] = mapped_column(String(300))
    sequence: Mapped[int | None] = mapped_column(BigId)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_jobs_due", "status", "run_at"),
        Index("ix_jobs_ordering", "ordering_key", "sequence"),
        # Whether an earlier job of the same ordering key is still open, asked of every candidate a claim looks at:
        # only open jobs are indexed, so the answer stays one small probe however many jobs are done.
        Index("ix_jobs_ordering_open", "ordering_key", "sequence", postgresql_where=_OPEN, sqlite_where=_OPEN),
        # The queued jobs in the order workers take them: a claim walks it and stops once it has enough, however
        # many jobs wait (a broadcast queues one per customer).
        Index("ix_jobs_claim_order", "priority", "run_at", "id", postgresql_where=_QUEUED, sqlite_where=_QUEUED),
        Index("ix_jobs_locked_by", "locked_by"),
    )


JobHandler = Callable[[Session, dict[str, Any]], None]
BatchJobHandler = Callable[[Session, list[dict[str, Any]]], None]

URGENT = 10
"""The priority of jobs someone is waiting for (a customer's message on its way to the agents, an agent's reply
on its way out): claimed before the default 100, and committed as soon as they are done."""


@dataclass(frozen=True)
class HandlerSpec:
    name: str
    func: JobHandler
    max_attempts: int | None = None
    isolated: bool = False
    batch_func: BatchJobHandler | None = None
    max_batch: int = 1


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    every: timedelta
    payload: dict[str, Any]
    priority: int = 100


_handlers: dict[str, HandlerSpec] = {}
_periodic: dict[str, PeriodicSpec] = {}


def job(name: str, *, max_attempts: int | None = None,
        isolated: bool = False) -> Callable[[JobHandler], JobHandler]:
    """Register ``func(session, payload)`` as the handler of jobs called ``name``.

    The handler must not commit: the worker commits its work together with the job's completion.
    Jobs run in groups sharing one transaction; when one fails, the others of its group are run
    again (their database work counts once). A handler that acts outside the database (an HTTP
    call, an e-mail) is registered with ``isolated=True``: it then runs in a transaction of its own,
    so no other job's failure can make it run twice.
    """

    def register(func: JobHandler) -> JobHandler:
        existing = _handlers.get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"job handler {name!r} is already registered by {existing.func.__module__}")
        _handlers[name] = HandlerSpec(name=name, func=func, max_attempts=max_attempts, isolated=isolated)
        return func

    return register


def batch_job(name: str, *, max_batch: int = 100,
              max_attempts: int | None = None) -> Callable[[BatchJobHandler], BatchJobHandler]:
    """Register ``func(session, payloads)`` as the handler of jobs called ``name``, run many at a time.

    The worker hands it the payloads of up to ``max_batch`` such jobs from one claimed batch, so their work can be
    done with set-based statements. When the call fails, each of those jobs is run again alone (a batch of one),
    so one bad job fails by itself and holds up no other.
    """

    def register(func: BatchJobHandler) -> BatchJobHandler:
        def run_one(session: Session, payload: dict[str, Any]) -> None:
            func(session, [payload])

        existing = _handlers.get(name)
        if existing is not None and existing.batch_func is not func:
            raise ValueError(f"job handler {name!r} is already registered by {existing.func.__module__}")
        _handlers[name] = HandlerSpec(name=name, func=run_one, max_attempts=max_attempts, batch_func=func,
                                      max_batch=max_batch)
        return func

    return register


def periodic(name: str, *, every: timedelta, payload: dict[str, Any] | None = None, priority: int = 100) -> None:
    """Run the registered job ``name`` once every ``every``, whichever worker gets there first.

    A ``priority`` above 100 makes each run wait until the ordinary jobs due before it are done (a check that
    must see their effects first)."""
    if every.total_seconds() < 1:
        raise ValueError("periodic jobs run at most once a second")
    _periodic[name] = PeriodicSpec(name=name, every=every, payload=payload or {}, priority=priority)


def handler_for(name: str) -> HandlerSpec | None:
    """The registered handler of ``name``, if any."""
    return _handlers.get(name)


def registered_handlers() -> dict[str, HandlerSpec]:
    """All job handlers registered in this process."""
    return dict(_handlers)


def periodic_specs() -> list[PeriodicSpec]:
    """All periodic schedules registered in this process."""
    return list(_periodic.values())


def add_job(
    session: Session,
    *,
    name: str,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    priority: int = 100,
    max_attempts: int | None = None,
    ordering_key: str | None = None,
    sequence: int | None = None,
    dedupe_key: str | None = None,
) -> Job:
    """Add a job to the session's transaction (a helper: it flushes, the caller commits)."""
    spec = _handlers.get(name)
    attempts_limit = max_attempts or (spec.max_attempts if spec else None) or get_settings().job_max_attempts
    job_row = Job(
        name=name,
        payload=payload or {},
        run_at=run_at or utcnow(),
        priority=priority,
        max_attempts=attempts_limit,
        ordering_key=ordering_key,
        sequence=sequence,
        dedupe_key=dedupe_key,
        status=JobStatus.queued,
        attempts=0,
    )
    session.add(job_row)
    session.flush()
    if job_row.run_at <= utcnow():
        note_work_queued(session)
    return job_row


def add_jobs(session: Session, jobs: Sequence[Mapping[str, Any]]) -> None:
    """Queue many jobs in one statement (helper: the caller commits). Each names ``name`` and ``payload`` and may
    name ``run_at`` (None or left out: now), ``priority``, ``ordering_key`` and ``sequence``."""
    if not jobs:
        return
    now, default_attempts = utcnow(), get_settings().job_max_attempts
    rows = []
    for item in jobs:
        spec = _handlers.get(item["name"])
        rows.append({"name": item["name"], "payload": item["payload"], "status": JobStatus.queued.value,
                     "priority": item.get("priority", 100), "run_at": item.get("run_at") or now, "attempts": 0,
                     "max_attempts": (spec.max_attempts if spec else None) or default_attempts,
                     "ordering_key": item.get("ordering_key"), "sequence": item.get("sequence"), "created_at": now})
    session.flush()
    insert_many(session.connection(), Job, rows)
    if any(row["run_at"] <= now for row in rows):
        note_work_queued(session)


def add_job_once(session: Session, *, name: str, dedupe_key: str, payload: dict[str, Any] | None = None,
                 run_at: datetime | None = None, priority: int = 100) -> bool:
    """Add a job unless one with ``dedupe_key`` exists; safe when several workers race. Returns whether added."""
    spec = _handlers.get(name)
    values = {
        "name": name,
        "payload": payload or {},
        "run_at": run_at or utcnow(),
        "priority": priority,
        "max_attempts": (spec.max_attempts if spec else None) or get_settings().job_max_attempts,
        "dedupe_key": dedupe_key,
        "status": JobStatus.queued,
        "attempts": 0,
        "created_at": utcnow(),
    }
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    stmt = insert(Job).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


def enqueue(session: Session, *, name: str, payload: dict[str, Any] | None = None,
            run_at: datetime | None = None) -> Job:
    """Queue one job and commit (the service form of ``add_job``)."""
    job_row = add_job(session, name=name, payload=payload, run_at=run_at)
    session.commit()
    return job_row


def _status_is(*statuses: JobStatus, of: Any = Job) -> Any:
    """``status IN (…)`` spelled out, not bound, so that the planner sees it matches a partial index (prepared
    statements too)."""
    spelled: list[Any] = [literal_column(f"'{status.value}'") for status in statuses]
    return of.status == spelled[0] if len(spelled) == 1 else of.status.in_(spelled)


def _blocked_by_earlier() -> Any:
    earlier = aliased(Job)
    return exists().where(earlier.ordering_key == Job.ordering_key, earlier.sequence < Job.sequence,
                          _status_is(JobStatus.queued, JobStatus.running, of=earlier))


def urgent_work_waiting(session: Session, *, skip: Collection[str] = ()) -> bool:
    """Whether an urgent job is due, claimable and not claimed yet (among jobs not called one of ``skip``). One
    waiting behind an earlier job of its ordering key is not: it could not be taken before that job is done."""
    query = select(Job.id).where(_status_is(JobStatus.queued), Job.priority <= URGENT, Job.run_at <= utcnow(),
                                 or_(Job.ordering_key.is_(None), ~_blocked_by_earlier()))
    if skip:
        query = query.where(Job.name.not_in(sorted(skip)))
    return session.scalar(query.limit(1)) is not None


def claimable(*, now: datetime, limit: int, skip: Collection[str] = ()) -> tuple[Select[Any], Select[Any]]:
    """The jobs a worker may take at ``now``, as two queries of ``(id, priority, run_at)`` in the order it takes
    them, ``limit`` rows each: queued jobs due (walking ``ix_jobs_claim_order``, so it stops at ``limit``), and
    running jobs whose lease expired (their worker died; few)."""
    in_order = or_(Job.ordering_key.is_(None), ~_blocked_by_earlier())
    queued = (select(Job.id, Job.priority, Job.run_at)
              .where(_status_is(JobStatus.queued), Job.run_at <= now, in_order)
              .with_hint(Job, "INDEXED BY ix_jobs_claim_order", dialect_name="sqlite"))  # else it sorts them all
    expired = select(Job.id, Job.priority, Job.run_at).where(_status_is(JobStatus.running), Job.locked_until < now,
                                                             in_order)
    if skip:
        queued, expired = (query.where(Job.name.not_in(sorted(skip))) for query in (queued, expired))
    return tuple(query.order_by(Job.priority, Job.run_at, Job.id).limit(limit)  # type: ignore[return-value]
                 for query in (queued, expired))


def claim_jobs(session: Session, *, worker_id: str, limit: int, lease: timedelta,
               skip: Collection[str] = ()) -> list[Job]:
    """Claim up to ``limit`` due jobs for ``worker_id`` and commit, leaving jobs called one of ``skip`` to others.

    Due means queued with ``run_at`` passed, or running with an expired lease (its worker died).
    PostgreSQL skips rows other workers hold (``FOR UPDATE SKIP LOCKED``); SQLite has one writer.
    """
    now = utcnow()
    candidates: list[Any] = []
    for query in claimable(now=now, limit=limit, skip=skip):
        if is_postgres(session):
            query = query.with_for_update(skip_locked=True)
        candidates.extend(session.execute(query).all())
    ids = [row.id for row in sorted(candidates, key=lambda row: (row.priority, row.run_at, row.id))[:limit]]
    if not ids:
        session.rollback()
        return []
    session.execute(
        update(Job)
        .where(Job.id.in_(ids))
        .values(status=JobStatus.running, locked_by=worker_id, locked_until=now + lease,
                attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    claimed = list(session.scalars(
        select(Job).where(Job.id.in_(ids)).order_by(Job.priority, Job.run_at, Job.id)
        .execution_options(populate_existing=True)
    ))
    session.commit()
    return claimed


def finish_jobs(session: Session, *, job_ids: Sequence[int], worker_id: str) -> set[int]:
    """Mark jobs done if this worker still holds them (helper: the worker commits). Returns those marked."""
    if not job_ids:
        return set()
    result = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.locked_by == worker_id, Job.status == JobStatus.running)
        .values(status=JobStatus.done, locked_by=None, locked_until=None, finished_at=utcnow(), last_error=None)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


def backoff_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter after the ``attempts``-th failure."""
    settings = get_settings()
    base = settings.job_backoff_base_seconds * (2 ** max(attempts - 1, 0))
    seconds = min(base, settings.job_backoff_max_seconds)
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))


def fail_job(session: Session, *, job_id: int, worker_id: str, error: BaseException | str) -> JobStatus | None:
    """Record a failed attempt (helper: the worker commits): back to the queue with backoff, or dead.

    Returns the job's new status, or None when this worker no longer holds the job.
    """
    job_row = session.get(Job, job_id, populate_existing=True)
    if job_row is None or job_row.locked_by != worker_id or job_row.status != JobStatus.running:
        return None
    job_row.last_error = error if isinstance(error, str) else "".join(traceback.format_exception(error))[-8000:]
    job_row.locked_by = None
    job_row.locked_until = None
    if job_row.attempts >= job_row.max_attempts:
        job_row.status = JobStatus.dead
        job_row.finished_at = utcnow()
    else:
        job_row.status = JobStatus.queued
        job_row.run_at = utcnow() + backoff_delay(job_row.attempts)
    session.flush()
    return job_row.status


def release_jobs(session: Session, *, job_ids: Sequence[int], worker_id: str) -> None:
    """Hand claimed but unstarted jobs back to the queue, attempts unchanged (helper: the caller commits)."""
    if not job_ids:
        return
    session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.locked_by == worker_id, Job.status == JobStatus.running)
        .values(status=JobStatus.queued, locked_by=None, locked_until=None, attempts=Job.attempts - 1)
        .execution_options(synchronize_session=False)
    )


def bury_expired(session: Session) -> int:
    """Move jobs whose lease ran out on their last attempt to the dead letters, and commit."""
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(Job.status == JobStatus.running, Job.locked_until < now, Job.attempts >= Job.max_attempts)
        .values(status=JobStatus.dead, finished_at=now, locked_by=None, locked_until=None,
                last_error="the worker stopped answering (lease expired) on the last attempt")
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def extend_leases(session: Session, *, worker_id: str, job_ids: Sequence[int], lease: timedelta) -> int:
    """Extend the lease of the jobs this worker is running, and commit."""
    if not job_ids:
        return 0
    result = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.locked_by == worker_id, Job.status == JobStatus.running)
        .values(locked_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_jobs(session: Session, *, status: JobStatus | None = None, name: str | None = None,
              limit: int = 50) -> list[Job]:
    """The most recent jobs, newest first, optionally filtered by status and name."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Job.status == status)
    if name is not None:
        query = query.where(Job.name == name)
    return list(session.scalars(query))


def count_by_status(session: Session) -> dict[str, int]:
    """How many jobs are in each status."""
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    counts = {status.value: 0 for status in JobStatus}
    counts.update({JobStatus(status).value: count for status, count in rows})
    return counts


def retry_job(session: Session, *, job_id: int) -> Job:
    """Put a dead job back in the queue with a fresh set of attempts, and commit."""
    job_row = session.get(Job, job_id)
    if job_row is None:
        raise NotFound(f"There is no job {job_id}.", code="job_not_found")
    if job_row.status != JobStatus.dead:
        raise Conflict(f"Job {job_id} is {job_row.status.value}; only dead jobs can be retried.",
                       code="job_not_dead")
    _requeue(job_row)
    session.commit()
    return job_row


def retry_dead_jobs(session: Session, *, name: str | None = None) -> int:
    """Put every dead job (optionally only those called ``name``) back in the queue, and commit."""
    query = select(Job).where(Job.status == JobStatus.dead)
    if name is not None:
        query = query.where(Job.name == name)
    rows = list(session.scalars(query))
    for job_row in rows:
        _requeue(job_row)
    session.commit()
    return len(rows)


def _requeue(job_row: Job) -> None:
    job_row.status = JobStatus.queued
    job_row.attempts = 0
    job_row.run_at = utcnow()
    job_row.finished_at = None


def prune_done(session: Session, *, older_than: timedelta) -> int:
    """Delete finished jobs older than ``older_than`` (helper: the caller commits)."""
    cutoff = utcnow() - older_than
    result = session.execute(
        delete(Job).where(Job.status == JobStatus.done, Job.finished_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@job("jobs.prune")
def _prune_handler(session: Session, payload: dict[str, Any]) -> None:
    """Keep the job table small: drop done jobs past the retention period."""
    prune_done(session, older_than=timedelta(days=get_settings().job_keep_done_days))


periodic("jobs.prune", every=timedelta(hours=1))
