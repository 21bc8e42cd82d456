"""The transactional outbox: domain events written with the change that caused them.

A service calls ``emit(session, ...)`` before it commits, so the event exists exactly when the change
does; a rolled-back transaction leaves no event behind. Workers dispatch new events: for every
handler subscribed to the event's topic they add one job (in the same transaction that marks the event
dispatched), ordered by the event id per aggregate, so each handler sees one aggregate's events in the
order they were written and receives every event at least once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Index, String, Table, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.db import Base, BigId, JSONType, UTCDateTime, is_postgres
from xuyen.jobs import add_jobs, batch_job, job, periodic
from xuyen.wakeup import note_work_queued

# Any 64-bit number of our own: the PostgreSQL advisory lock that makes one dispatcher run at a time.
DISPATCH_LOCK_KEY = 7_283_349_011


class OutboxEvent(Base):
    """A domain event waiting to be (or already) handed to its subscribers."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    aggregate_type: Mapped[str] = mapped_column(String(100))
    aggregate_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "ix_outbox_events_pending",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
        Index("ix_outbox_events_aggregate", "aggregate_type", "aggregate_id"),
    )


_EVENTS = cast(Table, OutboxEvent.__table__)
# Built once, with its values as parameters: building an INSERT with the values in it for every event costs more
# than sending it.
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_REPLACE_PAYLOAD = (update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id"))
                    .values(payload=bindparam("payload", type_=_EVENTS.c.payload.type)))
EventHandler = Callable[[Session, "DomainEvent"], None]
BatchEventHandler = Callable[[Session, list["DomainEvent"]], None]


@dataclass(frozen=True)
class DomainEvent:
    """What a subscriber receives."""

    id: int
    topic: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    created_at: datetime


EventFilter = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Subscription:
    """A handler's interest in a topic: ``when`` (if set) tests an event's payload, and an event it refuses never
    becomes a job of this handler."""

    topic: str
    handler_name: str
    ordered: bool = True
    when: EventFilter | None = None

    def wants(self, payload: dict[str, Any]) -> bool:
        """Whether an event with this payload is for the handler."""
        return self.when is None or self.when(payload)


_subscriptions: dict[str, list[Subscription]] = {}


def emit(session: Session, *, topic: str, aggregate_type: str, aggregate_id: str | int,
         payload: dict[str, Any] | None = None) -> OutboxEvent:
    """Write a domain event into the current transaction (helper: the service commits)."""
    event = OutboxEvent(
        topic=topic,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload or {},
        created_at=utcnow(),
    )
    session.add(event)
    note_work_queued(session, notify=False)  # on PostgreSQL the table's trigger sends the NOTIFY
    return event


def emit_at_once(session: Session, *, topic: str, aggregate_type: str, aggregate_id: str | int,
                 payload: dict[str, Any]) -> int:
    """Write a domain event with one INSERT now instead of at the next flush, and return its id (helper: the
    service commits). For hot paths that keep away from the unit of work; ``emit`` otherwise."""
    event_id: int = session.connection().execute(_INSERT_EVENT, {
        "topic": topic, "aggregate_type": aggregate_type, "aggregate_id": str(aggregate_id), "payload": payload,
        "created_at": utcnow()}).scalar_one()
    note_work_queued(session, notify=False)  # on PostgreSQL the table's trigger sends the NOTIFY
    return event_id


def replace_payload(session: Session, *, event_id: int, payload: dict[str, Any]) -> None:
    """Change the payload of an event this transaction wrote and has not committed (helper: no commit)."""
    session.connection().execute(_REPLACE_PAYLOAD, {"event_id": event_id, "payload": payload})


def on_event(*topics: str, name: str, max_attempts: int | None = None, isolated: bool = False,
             when: EventFilter | None = None) -> Callable[[EventHandler], EventHandler]:
    """Subscribe ``func(session, event)`` to one or more topics under the stable handler ``name``.

    The name is what the job table records: keep it when the function moves or is renamed. The events of
    one aggregate reach a handler in the order they were written, across all the topics it subscribes to
    under that name (the job's ordering key is the name and the aggregate).
    ``isolated`` is as for ``xuyen.jobs.job``: set it when the handler acts outside the database.
    ``when`` tests each event's payload at dispatch: the events it refuses are not queued for this handler
    (a handler with nothing to do for most events of a busy topic then costs no job for those).
    """
    if not topics:
        raise ValueError(f"event handler {name!r} subscribes to no topic")

    def register(func: EventHandler) -> EventHandler:
        def run(session: Session, payload: dict[str, Any]) -> None:
            func(session, _event_from_payload(payload))

        run.__module__ = func.__module__
        run.__qualname__ = func.__qualname__
        job(name, max_attempts=max_attempts, isolated=isolated)(run)
        _subscribe(topics, name=name, ordered=True, when=when)
        return func

    return register


def on_events(*topics: str, name: str, max_batch: int = 100,
              max_attempts: int | None = None) -> Callable[[BatchEventHandler], BatchEventHandler]:
    """Subscribe ``func(session, events)`` to one or more topics: the worker hands it up to ``max_batch`` events
    at once, in no particular order (they carry no ordering key), so use it for work that recomputes from the
    database whatever the order, done once for many events (a customer's profile rebuilt once for all the
    messages of a burst). A failing call is run again event by event."""
    if not topics:
        raise ValueError(f"event handler {name!r} subscribes to no topic")

    def register(func: BatchEventHandler) -> BatchEventHandler:
        def run(session: Session, payloads: list[dict[str, Any]]) -> None:
            func(session, [_event_from_payload(payload) for payload in payloads])

        run.__module__ = func.__module__
        run.__qualname__ = func.__qualname__
        batch_job(name, max_batch=max_batch, max_attempts=max_attempts)(run)
        _subscribe(topics, name=name, ordered=False)
        return func

    return register


def _subscribe(topics: tuple[str, ...], *, name: str, ordered: bool, when: EventFilter | None = None) -> None:
    for topic in topics:
        subs = _subscriptions.setdefault(topic, [])
        if all(sub.handler_name != name for sub in subs):
            subs.append(Subscription(topic=topic, handler_name=name, ordered=ordered, when=when))


def subscriptions(topic: str) -> list[Subscription]:
    """The handlers subscribed to ``topic`` in this process."""
    return list(_subscriptions.get(topic, [])) + list(_subscriptions.get("*", []))


def _event_payload(event: OutboxEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "topic": event.topic,
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }


def _event_from_payload(payload: dict[str, Any]) -> DomainEvent:
    return DomainEvent(
        id=int(payload["event_id"]),
        topic=payload["topic"],
        aggregate_type=payload["aggregate_type"],
        aggregate_id=payload["aggregate_id"],
        payload=payload["payload"],
        created_at=datetime.fromisoformat(payload["created_at"]),
    )


def _take_dispatch_lock(session: Session) -> bool:
    if not is_postgres(session):
        return True  # SQLite: BEGIN IMMEDIATE already made this the only writer
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(DISPATCH_LOCK_KEY))))


def dispatch_pending(session: Session, *, limit: int = 500) -> int:
    """Turn up to ``limit`` undelivered events into one job per subscriber, and commit.

    One dispatcher runs at a time (an advisory lock on PostgreSQL), so events are dispatched in id
    order. Returns how many events were dispatched; 0 when another worker holds the lock.
    """
    if not _take_dispatch_lock(session):
        session.rollback()
        return 0
    events = list(
        session.scalars(
            select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None)).order_by(OutboxEvent.id).limit(limit)
        )
    )
    if not events:
        session.rollback()
        return 0
    now = utcnow()
    add_jobs(session, [
        {"name": sub.handler_name, "payload": _event_payload(event),
         "sequence": event.id if sub.ordered else None,
         "ordering_key": f"{sub.handler_name}|{event.aggregate_type}|{event.aggregate_id}" if sub.ordered else None}
        for event in events for sub in subscriptions(event.topic) if sub.wants(event.payload)
    ])
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_([event.id for event in events]))
        .values(dispatched_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return len(events)


def prune_dispatched(session: Session, *, older_than: timedelta) -> int:
    """Delete dispatched events older than ``older_than`` (helper: the caller commits)."""
    cutoff = utcnow() - older_than
    result = session.execute(
        delete(OutboxEvent).where(OutboxEvent.dispatched_at.is_not(None), OutboxEvent.dispatched_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@job("outbox.prune")
def _prune_handler(session: Session, payload: dict[str, Any]) -> None:
    """Keep the outbox small: drop events dispatched before the retention period."""
    prune_dispatched(session, older_than=timedelta(days=get_settings().job_keep_done_days))


periodic("outbox.prune", every=timedelta(hours=1))
