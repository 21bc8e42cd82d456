"""Job handlers and event subscribers used by the frame's tests (also loaded by worker subprocesses).

Their effects go to ``test_job_effects``, a table the tests create themselves, so a test can see
whether a handler's work was committed once, twice or not at all.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from xuyen.jobs import batch_job, job
from xuyen.outbox import DomainEvent, on_event, on_events

EFFECTS_TABLE = "test_job_effects"


def create_effects_table(engine: Engine) -> None:
    """Create (or empty) the table the test handlers write to."""
    serial = "BIGSERIAL PRIMARY KEY" if engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    with engine.begin() as connection:
        connection.execute(text(
            f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (seq {serial}, key VARCHAR(200) NOT NULL, "
            "value VARCHAR(200), pid INTEGER)"
        ))
        connection.execute(text(f"DELETE FROM {EFFECTS_TABLE}"))


def effects(engine: Engine) -> list[tuple[str, str | None]]:
    """Every effect written so far, in the order they were committed."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT key, value FROM {EFFECTS_TABLE} ORDER BY seq")).all()
    return [(row[0], row[1]) for row in rows]


def effect_pids(engine: Engine) -> dict[int, int]:
    """How many effects each process wrote."""
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT pid, COUNT(*) FROM {EFFECTS_TABLE} GROUP BY pid")).all()
    return {int(row[0]): int(row[1]) for row in rows}


def _record(session: Session, key: str, value: str | None = None) -> None:
    session.execute(text(f"INSERT INTO {EFFECTS_TABLE} (key, value, pid) VALUES (:k, :v, :p)"),
                    {"k": key, "v": value, "p": os.getpid()})


@job("test.record")
def record(session: Session, payload: dict[str, Any]) -> None:
    """Write one effect row named by the payload."""
    _record(session, str(payload["key"]), payload.get("value"))


@job("test.fail", max_attempts=3)
def fail(session: Session, payload: dict[str, Any]) -> None:
    """Write an effect, then fail: the effect must be rolled back with the attempt."""
    _record(session, "should-never-stay")
    raise RuntimeError(f"the handler failed on purpose ({payload.get('why', 'test')})")


@job("test.call_outside", isolated=True)
def call_outside(session: Session, payload: dict[str, Any]) -> None:
    """Act outside the database (append to a file, as an HTTP call would), then write an effect."""
    with Path(payload["log"]).open("a") as log:
        log.write(f"{payload['key']}\n")
    _record(session, str(payload["key"]))


@job("test.sleep_first_time")
def sleep_first_time(session: Session, payload: dict[str, Any]) -> None:
    """Sleep for a long time on the first run (so the test can kill the worker), finish at once after."""
    marker = Path(payload["marker"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(float(payload.get("sleep", 120)))
    _record(session, "slept", str(os.getpid()))


@on_event("test.thing_happened", name="test.record_event")
def record_event(session: Session, event: DomainEvent) -> None:
    """Write one effect per delivered event: aggregate id and the sequence number in its payload."""
    _record(session, f"{event.aggregate_type}:{event.aggregate_id}", str(event.payload.get("n")))


@on_event("test.ordered", name="test.flaky_ordered")
def flaky_ordered(session: Session, event: DomainEvent) -> None:
    """Fail the first delivery of an event that carries a marker file path; record the others."""
    marker = event.payload.get("fail_once_marker")
    if marker and not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise RuntimeError(f"first delivery of event {event.id} fails on purpose")
    _record(session, f"{event.aggregate_type}:{event.aggregate_id}", str(event.payload.get("n")))


@on_event("test.thing_happened", name="test.second_subscriber")
def second_subscriber(session: Session, event: DomainEvent) -> None:
    """A second subscriber to the same topic: each subscriber gets each event."""
    _record(session, f"second:{event.aggregate_id}", str(event.payload.get("n")))


@on_event("test.filtered", name="test.only_large", when=lambda payload: payload.get("n", 0) >= 10)
def only_large(session: Session, event: DomainEvent) -> None:
    """Record the events whose payload's ``n`` is at least 10 (the others are never queued for it)."""
    if event.payload["n"] < 10:
        raise AssertionError(f"event {event.id} should not have reached this handler")
    _record(session, f"large:{event.aggregate_id}", str(event.payload["n"]))


@on_event("test.filtered", name="test.every_filtered")
def every_filtered(session: Session, event: DomainEvent) -> None:
    """Record every event of the topic (beside the handler that takes only some)."""
    _record(session, f"every:{event.aggregate_id}", str(event.payload["n"]))


@batch_job("test.record_many", max_batch=50)
def record_many(session: Session, payloads: list[dict[str, Any]]) -> None:
    """Write one effect per payload, tagged with the size of the call; a payload asking to fail fails the call."""
    if any(payload.get("fail") for payload in payloads):
        raise RuntimeError("a payload of this batch fails on purpose")
    for payload in payloads:
        _record(session, str(payload["key"]), f"batch of {len(payloads)}")


@on_events("test.counted", name="test.count_events")
def count_events(session: Session, events: list[DomainEvent]) -> None:
    """Write one effect per call, naming how many events it got and their aggregates."""
    _record(session, f"call of {len(events)}", ",".join(sorted(event.aggregate_id for event in events)))


STOP_REQUESTED = threading.Event()


@job("test.stop_worker")
def stop_worker(session: Session, payload: dict[str, Any]) -> None:
    """Ask the worker running this job to stop (as SIGTERM would), after writing an effect."""
    _record(session, "stopping")
    STOP_REQUESTED.set()
