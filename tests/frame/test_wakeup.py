"""Workers in other processes hear about new work through PostgreSQL's NOTIFY, sent once the work commits."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine

from xuyen.db import session_factory
from xuyen.jobs import add_job
from xuyen.outbox import emit
from xuyen.wakeup import NOTIFY_CHANNEL

pytestmark = pytest.mark.postgres_only


def _listener(db_url: str) -> psycopg.Connection:
    connection = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
    return connection


def _heard(listener: psycopg.Connection) -> int:
    return sum(1 for _ in listener.notifies(timeout=0.5))


@pytest.mark.parametrize("queue", ["event", "job"])
def test_committed_work_is_announced_once_and_rolled_back_work_not_at_all(
        db_url: str, engine: Engine, queue: str) -> None:
    listener = _listener(db_url)
    try:
        factory = session_factory(engine)
        with factory() as session:
            for attempt in range(2):
                for number in range(3):  # several events or jobs in one transaction: one notification
                    if queue == "event":
                        emit(session, topic="test.happened", aggregate_type="test", aggregate_id=f"{attempt}-{number}")
                    else:
                        add_job(session, name="test.nothing", payload={"n": number})
                session.flush()
                assert _heard(listener) == 0  # nothing before the commit
                if attempt == 0:
                    session.rollback()
                    assert _heard(listener) == 0
                else:
                    session.commit()
                    assert _heard(listener) == 1
    finally:
        listener.close()
