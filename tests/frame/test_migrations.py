"""The migrations produce exactly the models' schema, on SQLite and on PostgreSQL, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.command import downgrade
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from xuyen.db import Base, make_engine
from xuyen.domains import load_models
from xuyen.migrate import alembic_config, current_revision, head_revision, upgrade


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
