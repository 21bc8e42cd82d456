"""The migrations produce exactly the models' schema, on SQLite and on PostgreSQL, and can be undone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from tests.conftest import postgres_template_server
from xuyen.db import Base, make_engine, normalise_url
from xuyen.domains import load_models
from xuyen.migrate import alembic_config, current_revision, head_revision, upgrade


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


def _differences(url: str) -> list[object]:
    load_models()
    engine = make_engine(url, pool=False)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_models_schema(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert _differences(empty_db_url) == []
    engine = make_engine(empty_db_url, pool=False)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrations_downgrade_to_nothing_and_upgrade_again(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    downgrade(alembic_config(empty_db_url), "base")
    engine = make_engine(empty_db_url, pool=False)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(empty_db_url)
    assert _differences(empty_db_url) == []


def test_every_model_table_is_in_the_migrations(empty_db_url: str) -> None:
    load_models()
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url, pool=False)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
