"""The PostgreSQL pool pings a connection only after it sat idle, and replaces one the server closed meanwhile."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from xuyen import db
from xuyen.db import make_engine, normalise_url

pytestmark = pytest.mark.postgres_only


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
    admin.dispose()


def test_a_connection_closed_by_the_server_while_idle_is_replaced(db_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db_url)
    first = _backend(engine)
    _terminate(db_url, first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection given back counts as idle
    second = _backend(engine)  # the ping finds the dead connection and the pool opens a new one
    assert second != first
    assert _backend(engine) == second  # and keeps using it
    engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_pinged(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db_url)
    first = _backend(engine)
    pings: list[object] = []
    original = engine.dialect.do_ping

    def counted(connection: object) -> bool:
        pings.append(connection)
        return original(connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    assert _backend(engine) == first
    assert pings == []  # a round trip saved on every busy transaction
    _terminate(db_url, first)
    # Killed while in recent use: the next statement fails (as it would mid-transaction), and the pool starts
    # afresh for the one after.
    with pytest.raises(OperationalError):
        _backend(engine)
    assert _backend(engine) != first
    engine.dispose()
