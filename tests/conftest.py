"""Test fixtures: every database test runs on SQLite and on PostgreSQL, each test on a clean database."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from tests.api_client import browser_for  # noqa: F401  (a fixture every domain's API tests use)
from xuyen.app import create_app
from xuyen.auth import passwords
from xuyen.config import Settings, get_settings
from xuyen.db import Base, dispose_engines, make_engine, normalise_url, session_factory
from xuyen.domains import load_handlers
from xuyen.migrate import upgrade

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
IN_CI = os.environ.get("CI", "").lower() == "true"

load_handlers()

# Argon2 is slow on purpose (170 ms a hash here); the tests hash thousands of passwords, so they use the same
# algorithm with the least work. Hashes carry their parameters, so verifying works across both.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")


def postgres_server_url() -> str:
    return os.environ.get("XUYEN_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_reachable(url: str) -> str | None:
    try:
        engine = create_engine(normalise_url(url))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


def postgres_template_server() -> str:
    """The URL of the PostgreSQL server for tests; skips the test (fails it when CI=true) if unreachable."""
    server_url = postgres_server_url()
    problem = _postgres_reachable(server_url)
    if problem:
        message = f"PostgreSQL is not reachable at {server_url} ({problem}); set XUYEN_TEST_POSTGRES_URL."
        if IN_CI:
            pytest.fail(f"CI=true makes the PostgreSQL tests mandatory. {message}", pytrace=False)
        pytest.skip(message)
    return server_url


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run (dropped at the end)."""
    server_url = postgres_template_server()
    name = f"xuyen_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server_url.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    dispose_engines()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


_RESTART_SEQUENCES = text(
    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
    " FROM pg_sequences WHERE schemaname = current_schema()")


def _truncate_all(url: str) -> None:
    """Empty every table the last test wrote to and restart every id sequence.

    Only the tables that hold rows (found in one query) are emptied, children before parents, with DELETE:
    on a few small tables that is far quicker than TRUNCATE, which rewrites every table it names or
    cascades to. The sequences are restarted apart because a rolled-back insert advances one too."""
    engine = make_engine(url, pool=False)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    holding_rows = text(" UNION ALL ".join(
        f"SELECT {position}, '{name}' WHERE EXISTS (SELECT FROM \"{name}\")"
        for position, name in enumerate(tables)))
    with engine.begin() as connection:
        for _, name in sorted(connection.execute(holding_rows).all()):
            connection.execute(text(f'DELETE FROM "{name}"'))
        connection.execute(_RESTART_SEQUENCES)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The URL of a clean, migrated database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "xuyen.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_template")
        _truncate_all(url)
    monkeypatch.setenv("XUYEN_DATABASE_URL", url)
    monkeypatch.setenv("XUYEN_ENV", "test")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    dispose_engines()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind, for migrating from scratch."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    server_url = postgres_template_server()
    name = f"xuyen_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session for the test itself. On SQLite its transactions are deferred, so a test that reads and
    keeps its transaction open does not hold the write lock the app and workers need; call
    ``session.rollback()`` before reading again to see what others committed since."""
    session = session_factory(engine.execution_options(sqlite_begin="DEFERRED"))()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, env="test", log_json=False)


@pytest.fixture
def app(settings: Settings, engine: Engine):  # type: ignore[no-untyped-def]
    return create_app(settings, engine=engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``postgres_only`` are not collected for SQLite at all (rather than skipped)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("db_url") == "sqlite"
        (dropped if on_sqlite and item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
