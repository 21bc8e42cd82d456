"""The worker's scheduling: batched handlers, urgent jobs ahead of ordinary ones, waking when work is queued."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.frame.job_handlers import STOP_REQUESTED, create_effects_table, effects
from xuyen.config import get_settings
from xuyen.jobs import URGENT, Job, JobStatus, add_job, claim_jobs, enqueue, urgent_work_waiting
from xuyen.worker import Worker


@pytest.fixture
def effects_engine(engine: Engine) -> Engine:
    create_effects_table(engine)
    return engine


def _statuses(session: Session, name: str) -> dict[str, JobStatus]:
    session.rollback()
    session.expire_all()
    return {str(row.payload["key"]): row.status for row in session.scalars(select(Job).where(Job.name == name))}


def test_a_batch_handler_gets_the_claimed_jobs_in_one_call(effects_engine: Engine, session: Session) -> None:
    for number in range(7):
        add_job(session, name="test.record_many", payload={"key": f"k{number}"})
    add_job(session, name="test.record", payload={"key": "single", "value": "alone"})
    session.commit()
    Worker(engine=effects_engine, batch_size=20, periodic=False).run_until_idle()
    found = effects(effects_engine)
    assert sorted(found) == sorted([(f"k{n}", "batch of 7") for n in range(7)] + [("single", "alone")])
    assert set(_statuses(session, "test.record_many").values()) == {JobStatus.done}


def test_a_failing_batch_is_run_again_job_by_job_so_only_the_bad_job_fails(
    effects_engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XUYEN_JOB_BACKOFF_BASE_SECONDS", "600")
    get_settings.cache_clear()
    add_job(session, name="test.record", payload={"key": "before"})
    for number in range(4):
        add_job(session, name="test.record_many", payload={"key": f"k{number}", "fail": number == 2})
    session.commit()
    Worker(engine=effects_engine, batch_size=20, periodic=False).run_until_idle()
    found = effects(effects_engine)
    assert sorted(found) == sorted([("before", None)] + [(f"k{n}", "batch of 1") for n in (0, 1, 3)])
    statuses = _statuses(session, "test.record_many")
    assert statuses == {"k0": JobStatus.done, "k1": JobStatus.done, "k2": JobStatus.queued, "k3": JobStatus.done}
    failed = session.scalar(select(Job).where(Job.name == "test.record_many", Job.status == JobStatus.queued))
    assert failed is not None and failed.attempts == 1 and "fails on purpose" in (failed.last_error or "")


def test_urgent_jobs_are_claimed_before_older_ordinary_ones(effects_engine: Engine, session: Session) -> None:
    for number in range(5):
        add_job(session, name="test.record", payload={"key": f"ordinary {number}"})
    add_job(session, name="test.record", payload={"key": "urgent"}, priority=URGENT)
    session.commit()
    claimed = claim_jobs(session, worker_id="w", limit=2, lease=timedelta(seconds=30))
    assert [row.payload["key"] for row in claimed] == ["urgent", "ordinary 0"]


def test_a_batch_of_ordinary_jobs_makes_way_for_urgent_work_queued_meanwhile(
    effects_engine: Engine, session: Session
) -> None:
    for number in range(3):
        add_job(session, name="test.record", payload={"key": f"ordinary {number}"})
    session.commit()
    worker = Worker(engine=effects_engine, batch_size=10, group_commit_seconds=0)
    with worker._sessions() as claiming:
        batch = claim_jobs(claiming, worker_id=worker.worker_id, limit=3, lease=worker.lease)
    assert [row.payload["key"] for row in batch] == ["ordinary 0", "ordinary 1", "ordinary 2"]
    add_job(session, name="test.record", payload={"key": "urgent"}, priority=URGENT)
    session.commit()
    worker._run_batch(batch, None)
    assert [key for key, _ in effects(effects_engine)] == ["ordinary 0"], "the rest of the batch was handed back"
    statuses = _statuses(session, "test.record")
    assert statuses["ordinary 1"] == JobStatus.queued and statuses["ordinary 2"] == JobStatus.queued
    worker.run_until_idle()
    assert [key for key, _ in effects(effects_engine)][:2] == ["ordinary 0", "urgent"]
    session.rollback()
    handed_back = session.scalar(select(Job).where(Job.payload["key"].as_string() == "ordinary 1"))
    assert handed_back is not None and handed_back.attempts == 1, "a handed-back job keeps its attempts"


def test_urgent_work_waiting_behind_an_earlier_job_of_its_key_is_not_waiting(session: Session) -> None:
    add_job(session, name="test.record", payload={"key": "first"}, ordering_key="customer-7", sequence=1)
    add_job(session, name="test.record", payload={"key": "second"}, ordering_key="customer-7", sequence=2,
            priority=URGENT)
    session.commit()
    assert not urgent_work_waiting(session)  # it cannot be claimed before "first" is done
    session.execute(update(Job).where(Job.sequence == 1).values(status=JobStatus.done))
    session.commit()
    assert urgent_work_waiting(session)


def test_an_idle_worker_is_woken_when_work_is_committed_not_at_its_next_poll(
    effects_engine: Engine, session: Session
) -> None:
    worker = Worker(engine=effects_engine, poll_seconds=600)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(1.0)  # it finds nothing and goes to sleep for ten minutes
        enqueue(session, name="test.record", payload={"key": "wake up"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ("wake up", None) not in effects(effects_engine):
            time.sleep(0.05)
        assert ("wake up", None) in effects(effects_engine)
    finally:
        stop.set()
        thread.join(timeout=30)


def test_a_worker_leaves_the_jobs_it_skips_to_others(effects_engine: Engine, session: Session) -> None:
    add_job(session, name="test.record", payload={"key": "for anyone"})
    add_job(session, name="test.record_many", payload={"key": "not for the follow-up worker"}, priority=URGENT)
    session.commit()
    follow_ups = Worker(engine=effects_engine, skip=frozenset({"test.record_many"}))
    follow_ups.run_until_idle()
    assert effects(effects_engine) == [("for anyone", None)]
    assert _statuses(session, "test.record_many") == {"not for the follow-up worker": JobStatus.queued}
    Worker(engine=effects_engine).run_until_idle()
    assert ("not for the follow-up worker", "batch of 1") in effects(effects_engine)


def test_a_worker_told_to_stop_commits_what_it_did_once_and_hands_back_the_rest(
    effects_engine: Engine, session: Session
) -> None:
    STOP_REQUESTED.clear()
    add_job(session, name="test.record", payload={"key": "first"})
    add_job(session, name="test.stop_worker", payload={})
    add_job(session, name="test.record", payload={"key": "after the stop"})
    session.commit()
    worker = Worker(engine=effects_engine, batch_size=10, group_commit_seconds=60)
    with worker._sessions() as claiming:
        batch = claim_jobs(claiming, worker_id=worker.worker_id, limit=10, lease=worker.lease)
    worker._run_batch(batch, STOP_REQUESTED)
    assert effects(effects_engine) == [("first", None), ("stopping", None)]
    assert worker.stats.done == 2 and worker.stats.lost == 0
    left = session.scalar(select(Job).where(Job.payload["key"].as_string() == "after the stop"))
    assert left is not None and left.status == JobStatus.queued and left.attempts == 0
