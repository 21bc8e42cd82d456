"""Storage: the declarative base, portable column types, the engine and the session factory.

One code path for SQLite (the embedded default) and PostgreSQL (production). On SQLite every
transaction starts with ``BEGIN IMMEDIATE``: the database has one writer at a time, and taking the
write lock up front means a read-then-write transaction waits its turn (``busy_timeout``) instead of
failing half-way with ``database is locked``. Code that only reads and may hold its transaction open
for long can ask for ``engine.execution_options(sqlite_begin="DEFERRED")`` so it does not block writers.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

from xuyen import jsonio
from xuyen.config import get_settings

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base of every table; constraint names are stable across databases."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use xuyen.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Portable column types: JSONB and BIGINT on PostgreSQL; on SQLite an INTEGER primary key is the rowid.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")


def _json_dumps(value: Any) -> str:
    return jsonio.dumps(value).decode()


_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED", "EXCLUSIVE": "BEGIN EXCLUSIVE"}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        # Straight to the driver: BEGIN returns no rows and needs none of an execution's machinery, and every
        # transaction pays for it.
        statement = _BEGIN[mode]
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.Error as exc:  # raised as SQLAlchemy raises every other database error
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _sqlite_table_hint(_compiler: SQLiteCompiler, _table: Any, text: str | None) -> str | None:
    """SQLite's table hint (``INDEXED BY index``) where ``Select.with_hint(..., dialect_name="sqlite")`` puts it:
    SQLAlchemy renders no table hint on SQLite by itself."""
    return text


SQLiteCompiler.get_from_hint_text = _sqlite_table_hint  # type: ignore[method-assign, assignment]


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs and drive them with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """A new engine for ``url`` with the settings this project relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            json_serializer=_json_dumps,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            poolclass=None if pool else NullPool,
        )
        _configure_sqlite(engine)
        return engine
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps}
    if pool:
        kwargs.update(pool_size=10, max_overflow=20)
    else:
        kwargs["poolclass"] = NullPool
    engine = create_engine(url, **kwargs)
    if pool:
        _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0
_CHECKED_IN_AT = "xuyen_checked_in_at"


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled PostgreSQL connection before use only when it has sat idle a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one more round trip for every transaction. A
    connection given back less than ``PING_AFTER_IDLE_SECONDS`` ago was working then; one idle for longer may
    have been closed by a server restart, a proxy or a firewall, and is pinged first (a dead one is replaced, as
    with ``pool_pre_ping``). A server that goes away under a busy pool fails the statements in flight, and the
    pool then starts afresh."""

    @event.listens_for(engine, "checkin")
    def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("a pooled connection no longer answers; taking a new one") from exc


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (by default the configured database)."""
    url = url or get_settings().database_url
    with _engines_lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    """Close every process-wide engine (tests, and a process that forks)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; sessions do not expire objects on commit."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def reading(session: Session) -> Iterator[Session]:
    """Reads in a transaction of their own that ends with the block, taking no write lock on SQLite.

    For short checks before a request's real work (who is calling): on SQLite the transaction begins
    ``DEFERRED``, so concurrent requests read at once instead of queueing for the write lock, and the work that
    follows begins its own (``IMMEDIATE``) transaction. Objects read inside are expired when the block ends: keep
    plain values. A session already in a transaction is used as it is, and its transaction is left alone.
    """
    if session.in_transaction():
        yield session
        return
    session.connection(execution_options={"sqlite_begin": "DEFERRED"})
    try:
        yield session
    finally:
        session.rollback()


@contextmanager
def keeping(rows: Iterable[object]) -> Iterator[None]:
    """Keep these ORM rows referenced for the block, so that the session finds them again by id without a query
    (its identity map holds a row only while something else refers to it): for loops that read the same rows
    one by one, each time through another helper."""
    held = list(rows)
    try:
        yield
    finally:
        held.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that is rolled back and closed when the block ends; services inside commit."""
    session = session_factory(engine or get_engine())()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def is_postgres(session_or_engine: Session | Engine) -> bool:
    """Whether the session or engine talks to PostgreSQL."""
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


def one_of(column: InstrumentedAttribute[T], values: Collection[T], *, postgres: bool) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL as ``column = ANY(:array)``, one parameter however many values, so
    the statement's text stays the same and is parsed, prepared and planned once."""
    if postgres:
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def insert_many(connection: Connection, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows of ``model``'s table that all name the same columns.

    On PostgreSQL one statement reads them from one array per column (``INSERT … SELECT … FROM unnest``): its
    text is the same for any number of rows, so it is parsed and planned once, and the driver sends arrays
    instead of a placeholder per value. Elsewhere the driver's ``executemany``.
    """
    if not rows:
        return
    table = _table(model)
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    columns = [table.c[name] for name in names]
    arrays = [bindparam(None, [_array_item(column, row[name]) for row in rows], type_=_array_type(column))
              for name, column in zip(names, columns, strict=True)]
    derived = func.unnest(*arrays).table_valued(
        *[sql_column(name, _array_type(column).item_type) for name, column in zip(names, columns, strict=True)]
    ).render_derived()
    picked = [cast(derived.c[name], column.type) if _is_json(column) else derived.c[name]
              for name, column in zip(names, columns, strict=True)]
    connection.execute(insert(table).from_select(names, select(*picked)))


def next_ids(connection: Connection, model: type[Base], count: int) -> list[int]:
    """``count`` new ids from the sequence of ``model``'s ``id`` column (PostgreSQL), ascending."""
    sequence = func.pg_get_serial_sequence(_table(model).name, "id")
    query = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
    return sorted(connection.execute(query).scalars())


def _table(model: type[Base]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to one table")
    return table


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON | postgresql.JSONB) or (
        isinstance(column.type, TypeDecorator) and isinstance(column.type.impl, JSON))


def _array_type(column: Column[Any]) -> postgresql.ARRAY[Any]:
    """The array type a column's values travel in: JSON as text (cast back in the statement)."""
    return postgresql.ARRAY(Text() if _is_json(column) else column.type)


def _array_item(column: Column[Any], value: Any) -> Any:
    if value is None or not _is_json(column):
        return value
    return jsonio.dumps(value).decode()
