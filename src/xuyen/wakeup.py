"""Waking idle workers as soon as work is queued, instead of at their next poll.

A transaction that queues a job or emits a domain event calls ``note_work_queued``. When it commits, workers
in the same process are woken at once (a ``threading.Event``); on PostgreSQL the transaction also sends a
``NOTIFY`` that a listening thread in every worker process turns into the same wake-up, so workers on other
processes and hosts start within milliseconds. For domain events the ``outbox_events`` table's trigger sends it
(migration 0019), so emitting an event costs no statement of its own; jobs send it here. A lost notification
costs nothing but latency: workers still poll every ``XUYEN_WORKER_POLL_SECONDS``.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, SessionTransaction

from xuyen.db import is_postgres

log = logging.getLogger("xuyen.worker")

NOTIFY_CHANNEL = "xuyen_jobs"
_QUEUED = "xuyen.work_queued"
_NOTIFIED = "xuyen.work_notified"

work_queued = threading.Event()
"""Set when a transaction that queued work commits in this process, or another process says it did."""


def note_work_queued(session: Session, *, notify: bool = True) -> None:
    """Wake the workers when this transaction commits (helper: one NOTIFY per transaction on PostgreSQL, unless
    ``notify`` is False because the database sends it)."""
    session.info[_QUEUED] = True
    if notify and is_postgres(session) and not session.info.get(_NOTIFIED):
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
        session.info[_NOTIFIED] = True


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    session.info.pop(_NOTIFIED, None)
    if session.info.pop(_QUEUED, False):
        work_queued.set()


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # the outermost transaction ended; a savepoint's rollback keeps it
        session.info.pop(_QUEUED, None)
        session.info.pop(_NOTIFIED, None)


def wait_for_work(timeout: float) -> bool:
    """Sleep until work is queued or ``timeout`` seconds pass; whether work was announced. Clears the signal."""
    woken = work_queued.wait(timeout)
    work_queued.clear()
    return woken


def listen_for_work(engine: Engine, stop: threading.Event) -> threading.Thread | None:
    """On PostgreSQL, start a thread that wakes this process's workers on other processes' NOTIFY; None elsewhere."""
    if engine.dialect.name != "postgresql":
        return None
    thread = threading.Thread(target=_listen, args=(engine, stop), name="xuyen-wakeup", daemon=True)
    thread.start()
    return thread


def _listen(engine: Engine, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            _listen_once(engine, stop)
        except Exception:  # the database went away: polling still works, so listen again later
            log.warning("lost the job notifications connection; polling until it is back", exc_info=True)
            stop.wait(5.0)


def _listen_once(engine: Engine, stop: threading.Event) -> None:
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
        while not stop.is_set():
            for _notice in connection.notifies(timeout=1.0, stop_after=1):
                work_queued.set()
