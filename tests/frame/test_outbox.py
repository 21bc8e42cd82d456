"""The transactional outbox: events exist exactly when their change does, reach every subscriber, in order."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.frame.job_handlers import create_effects_table, effects
from xuyen.config import get_settings
from xuyen.jobs import Job, JobStatus
from xuyen.outbox import OutboxEvent, dispatch_pending, emit
from xuyen.worker import Worker


@pytest.fixture
def effects_engine(engine: Engine) -> Engine:
    create_effects_table(engine)
    return engine


def test_an_event_written_in_a_rolled_back_transaction_is_never_delivered(
    effects_engine: Engine, session: Session
) -> None:
    emit(session, topic="test.thing_happened", aggregate_type="order", aggregate_id=1, payload={"n": 1})
    session.flush()  # the row reaches the database inside the transaction …
    session.rollback()  # … and goes away with it
    Worker(engine=effects_engine).run_until_idle()
    assert effects(effects_engine) == []
    assert session.scalars(select(OutboxEvent)).all() == []
    assert session.scalars(select(Job).where(Job.name.like("test.%"))).all() == []


def test_a_committed_event_reaches_every_subscriber_once(effects_engine: Engine, session: Session) -> None:
    emit(session, topic="test.thing_happened", aggregate_type="order", aggregate_id=42, payload={"n": 7})
    session.commit()
    Worker(engine=effects_engine).run_until_idle()
    Worker(engine=effects_engine).run_until_idle()
    assert sorted(effects(effects_engine)) == [("order:42", "7"), ("second:42", "7")]
    session.rollback()
    event = session.scalars(select(OutboxEvent)).one()
    assert event.dispatched_at is not None


def test_events_without_subscribers_are_marked_dispatched(effects_engine: Engine, session: Session) -> None:
    emit(session, topic="nobody.listens", aggregate_type="x", aggregate_id="1")
    session.commit()
    assert dispatch_pending(session) == 1
    assert dispatch_pending(session) == 0


def test_each_aggregate_is_delivered_in_order_even_when_a_delivery_is_retried(
    effects_engine: Engine, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XUYEN_JOB_BACKOFF_BASE_SECONDS", "0.05")
    monkeypatch.setenv("XUYEN_JOB_BACKOFF_MAX_SECONDS", "0.1")
    get_settings.cache_clear()
    marker = tmp_path / "failed-once"
    for n in range(1, 6):
        for customer in ("a", "b"):
            payload: dict[str, object] = {"n": n}
            if customer == "a" and n == 2:
                payload["fail_once_marker"] = str(marker)
            emit(session, topic="test.ordered", aggregate_type="customer", aggregate_id=customer, payload=payload)
    session.commit()
    worker = Worker(engine=effects_engine)
    deadline = time.monotonic() + 30
    while len(effects(effects_engine)) < 10 and time.monotonic() < deadline:
        worker.run_once()
        time.sleep(0.02)
    assert marker.exists(), "the second event of customer a failed once"
    seen = effects(effects_engine)
    assert [value for key, value in seen if key == "customer:a"] == ["1", "2", "3", "4", "5"]
    assert [value for key, value in seen if key == "customer:b"] == ["1", "2", "3", "4", "5"]
    session.rollback()
    retried = session.scalars(select(Job).where(Job.name == "test.flaky_ordered", Job.attempts == 2)).all()
    assert len(retried) == 1
    assert all(job.status == JobStatus.done for job in session.scalars(select(Job).where(
        Job.name == "test.flaky_ordered")))


def test_a_batch_subscriber_gets_many_events_in_one_call_each_once(effects_engine: Engine, session: Session) -> None:
    for number in range(5):  # two of the same aggregate: no order is kept, so they go together too
        emit(session, topic="test.counted", aggregate_type="customer", aggregate_id=number % 4, payload={})
    session.commit()
    Worker(engine=effects_engine, batch_size=20, periodic=False).run_until_idle()  # no periodic job takes a slot
    assert effects(effects_engine) == [("call of 5", "0,0,1,2,3")]
    session.rollback()
    jobs = session.scalars(select(Job).where(Job.name == "test.count_events")).all()
    assert len(jobs) == 5 and {job.status for job in jobs} == {JobStatus.done}
    assert {job.ordering_key for job in jobs} == {None}


def test_a_subscriber_with_a_filter_gets_jobs_only_for_the_events_it_wants(effects_engine: Engine,
                                                                          session: Session) -> None:
    for n in (3, 12, 7, 40):
        emit(session, topic="test.filtered", aggregate_type="order", aggregate_id=n, payload={"n": n})
    session.commit()
    assert dispatch_pending(session) == 4
    queued = sorted(session.scalars(select(Job.name).where(Job.name.in_(["test.only_large", "test.every_filtered"]))))
    assert queued == ["test.every_filtered"] * 4 + ["test.only_large"] * 2
    Worker(engine=effects_engine).run_until_idle()
    assert sorted(effects(effects_engine)) == sorted([("every:3", "3"), ("every:12", "12"), ("every:7", "7"),
                                                      ("every:40", "40"), ("large:12", "12"), ("large:40", "40")])
