"""The one place stock levels change: locked reads, guarded updates, ledger lines and the change notice.

Every function here is a helper (no commit). Rows are locked in one fixed order, ``(variant_id, location_id)``,
so two transactions never wait for each other in a circle: on PostgreSQL with ``SELECT … FOR UPDATE … ORDER BY
variant_id, location_id``; on SQLite the transaction already holds the database's write lock (``BEGIN
IMMEDIATE``). Updates that take stock away are guarded in the statement itself (``WHERE on_hand - reserved >=
:quantity``) and the table's CHECK constraints refuse a negative availability whatever happens, so stock is
never promised twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    column,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from xuyen import outbox
from xuyen.clock import utcnow
from xuyen.commerce.stock.models import MovementKind, Reservation, ReservationStatus, StockLevel, StockMovement
from xuyen.db import is_postgres, one_of

AVAILABLE_CHANGED = "stock.available_changed"
_NOTICE_KEY = "xuyen.stock.available_changed"
# The first half of the PostgreSQL advisory lock that serialises the work of one reference (any 32-bit number).
REFERENCE_LOCK_CLASS = 72_834_014

Key = tuple[int, int]  # (variant_id, location_id)


@dataclass(frozen=True)
class Level:
    """A level as read inside the transaction."""

    variant_id: int
    location_id: int
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        """On hand minus reserved."""
        return self.on_hand - self.reserved


# Taking the reference lock also asks PostgreSQL to plan the rest of the transaction's prepared statements once
# (``SET LOCAL plan_cache_mode``, here as ``set_config(…, true)``: no extra round trip). Otherwise it plans the
# availability read and the reservation statement again at every execution, costing more than running them: the
# parameters never change the best plan (look up a few rows by key). Ends with the transaction.
_LOCK_REFERENCE = text("SELECT pg_advisory_xact_lock(:cls, :key), "
                       "set_config('plan_cache_mode', 'force_generic_plan', true)")


def lock_reference(session: Session, reference: str) -> None:
    """Serialise the transactions working on one reference until they commit (helper: no commit).

    On PostgreSQL a transaction-scoped advisory lock, so two requests reserving for the same order cannot both
    find nothing reserved and both reserve; SQLite's single writer does the same already. On PostgreSQL the
    rest of the transaction's prepared statements are planned once (see ``_LOCK_REFERENCE``)."""
    if is_postgres(session):
        digest = hashlib.blake2b(reference.encode(), digest_size=4).digest()
        key = int.from_bytes(digest, "big", signed=True)
        session.connection().execute(_LOCK_REFERENCE, {"cls": REFERENCE_LOCK_CLASS, "key": key})


def lock_levels(session: Session, *, variant_ids: Collection[int], location_ids: Collection[int] | None = None,
                lock: bool = True) -> dict[Key, Level]:
    """Read and lock the levels of ``variant_ids`` (at ``location_ids``, or everywhere) in the fixed order
    (helper: no commit); ``lock=False`` only reads. Levels that do not exist are simply absent."""
    if not variant_ids or (location_ids is not None and not location_ids):
        return {}
    postgres = is_postgres(session)
    query = (select(StockLevel.variant_id, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved)
             .where(one_of(StockLevel.variant_id, sorted(set(variant_ids)), postgres=postgres))
             .order_by(StockLevel.variant_id, StockLevel.location_id))
    if location_ids is not None:
        query = query.where(one_of(StockLevel.location_id, sorted(set(location_ids)), postgres=postgres))
    if postgres and lock:
        query = query.with_for_update()
    return {(row.variant_id, row.location_id): Level(row.variant_id, row.location_id, row.on_hand, row.reserved)
            for row in session.execute(query)}


def ensure_levels(session: Session, keys: Iterable[Key]) -> None:
    """Create the missing level rows of ``keys`` at zero (helper: no commit); concurrent creators do not clash."""
    rows = [{"variant_id": variant_id, "location_id": location_id, "on_hand": 0, "reserved": 0}
            for variant_id, location_id in sorted(set(keys))]
    if not rows:
        return
    dialect = postgresql if is_postgres(session) else sqlite
    statement = dialect.insert(StockLevel).values(rows).on_conflict_do_nothing(
        index_elements=["variant_id", "location_id"])
    session.execute(statement)


def _where(key: Key) -> ColumnElement[bool]:
    return and_(StockLevel.variant_id == key[0], StockLevel.location_id == key[1])


def change(session: Session, key: Key, *, on_hand: int = 0, reserved: int = 0) -> bool:
    """Add ``on_hand`` and ``reserved`` to a level (helper: no commit). A change that lowers availability only
    happens while at least that much is available; returns whether the level changed."""
    statement = (update(StockLevel).where(_where(key))
                 .values(on_hand=StockLevel.on_hand + on_hand, reserved=StockLevel.reserved + reserved)
                 .execution_options(synchronize_session=False))
    lowered = reserved - on_hand
    if lowered > 0:
        statement = statement.where(StockLevel.on_hand - StockLevel.reserved >= lowered)
    if on_hand < 0:
        statement = statement.where(StockLevel.on_hand + on_hand >= 0)
    if reserved < 0:
        statement = statement.where(StockLevel.reserved + reserved >= 0)
    done = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    _expire_levels(session, [key])
    return done


def apply(session: Session, changes: Mapping[Key, tuple[int, int]]) -> list[Key]:
    """Apply ``{key: (on_hand, reserved)}`` in the fixed lock order (helper: no commit); returns the keys that
    could not change (not enough available) and changes none of the others then."""
    done: list[Key] = []
    for key in sorted(changes):
        on_hand, reserved = changes[key]
        if not change(session, key, on_hand=on_hand, reserved=reserved):
            for undo in reversed(done):
                back_on_hand, back_reserved = changes[undo]
                change(session, undo, on_hand=-back_on_hand, reserved=-back_reserved)
            return [key]
        done.append(key)
    return []


def reserve_in_one_statement(session: Session, *, plan: Mapping[Key, int], reference: str, channel: str,
                             actor: str, expires_at: datetime | None) -> list[Reservation]:
    """PostgreSQL only: reserve the quantities of ``plan`` where they are still available, and write the
    reservations and their ledger lines, all in one statement (helper: no commit).

    Returns the reservations made: fewer than ``plan`` has rows when some level had too little, and then the
    caller must roll back (to a savepoint) what the others did. A level row is locked from this statement to the
    end of the transaction, so the hot path holds it for one statement and the commit."""
    keys = sorted(plan)
    parameters = {"variant_ids": [variant_id for variant_id, _ in keys],
                  "location_ids": [location_id for _, location_id in keys],
                  "quantities": [plan[key] for key in keys], "reference": reference, "channel": channel,
                  "actor": actor, "expires_at": expires_at, "now": utcnow()}
    rows = session.connection().execute(_reservation_statement(), parameters).mappings().all()
    _expire_levels(session, keys)
    return [_attached(session, Reservation(**row)) for row in rows]


def _attached(session: Session, reservation: Reservation) -> Reservation:
    """A reservation built from a row the database just wrote, in the session as if a query had loaded it (no
    SQL): this spares the hot path the ORM's loading while the level row is locked."""
    make_transient_to_detached(reservation)
    session.add(reservation)
    return reservation


@cache
def _reservation_statement() -> ExecutableReturnsRows:
    """``reserve_in_one_statement``'s statement, built once: a guarded UPDATE of the levels named by three
    arrays, and two INSERTs that read what it took (data-modifying CTEs)."""
    def array(name: str) -> BindParameter[Any]:
        return bindparam(name, type_=postgresql.ARRAY(Integer))

    def given(name: str, attribute: Any) -> BindParameter[Any]:
        return bindparam(name, type_=attribute.type)

    wanted = func.unnest(array("variant_ids"), array("location_ids"), array("quantities")).table_valued(
        column("variant_id", Integer), column("location_id", Integer), column("quantity", Integer),
    ).render_derived(name="wanted")
    taken = (update(StockLevel)
             .where(StockLevel.variant_id == wanted.c.variant_id, StockLevel.location_id == wanted.c.location_id,
                    StockLevel.on_hand - StockLevel.reserved >= wanted.c.quantity)
             .values(reserved=StockLevel.reserved + wanted.c.quantity)
             .returning(StockLevel.variant_id, StockLevel.location_id, wanted.c.quantity)
             .cte("taken"))
    made = (insert(Reservation)
            .from_select(["reference", "variant_id", "location_id", "quantity", "channel", "status", "actor",
                          "expires_at", "created_at"],
                         select(given("reference", Reservation.reference), taken.c.variant_id, taken.c.location_id,
                                taken.c.quantity, given("channel", Reservation.channel),
                                literal(ReservationStatus.active, Reservation.status.type),
                                given("actor", Reservation.actor), given("expires_at", Reservation.expires_at),
                                given("now", Reservation.created_at)))
            .returning(*Reservation.__table__.columns)
            .cte("made"))
    logged = (insert(StockMovement)
              .from_select(["variant_id", "location_id", "kind", "on_hand_delta", "reserved_delta", "reference",
                            "channel", "actor", "reason", "at"],
                           select(taken.c.variant_id, taken.c.location_id,
                                  literal(MovementKind.reservation, StockMovement.kind.type), literal(0, Integer),
                                  taken.c.quantity, given("reference", StockMovement.reference),
                                  given("channel", StockMovement.channel), given("actor", StockMovement.actor),
                                  literal("", StockMovement.reason.type), given("now", StockMovement.at))
                           .order_by(taken.c.variant_id, taken.c.location_id))
              .cte("logged"))
    return select(made).add_cte(logged).order_by(made.c.variant_id, made.c.location_id)


def _expire_levels(session: Session, keys: Collection[Key]) -> None:
    wanted = set(keys)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, StockLevel) and (obj.variant_id, obj.location_id) in wanted:
            session.expire(obj)


def record(session: Session, *, variant_id: int, location_id: int, kind: MovementKind, on_hand: int = 0,
           reserved: int = 0, reference: str = "", channel: str | None = None, actor: str,
           reason: str = "") -> StockMovement:
    """Add one ledger line (helper: no commit)."""
    movement = StockMovement(variant_id=variant_id, location_id=location_id, kind=kind, on_hand_delta=on_hand,
                             reserved_delta=reserved, reference=reference, channel=channel, actor=actor,
                             reason=reason, at=utcnow())
    session.add(movement)
    return movement


def note_available_changed(session: Session, variant_ids: Iterable[int]) -> None:
    """Tell other domains that these variants' availability changed (helper: no commit).

    One ``stock.available_changed`` event per transaction carries every variant id changed in it: the first
    change writes the event at once (one INSERT, no flush), later ones add their ids to it."""
    ids = set(variant_ids)
    if not ids:
        return
    transaction = session.get_transaction()
    held = session.info.get(_NOTICE_KEY)
    if held is not None and held[0] is transaction and transaction is not None:
        event_id, known = held[1], held[2]
        if not ids <= known:
            known |= ids
            outbox.replace_payload(session, event_id=event_id, payload={"variant_ids": sorted(known)})
        return
    event_id = outbox.emit_at_once(session, topic=AVAILABLE_CHANGED, aggregate_type="stock",
                                   aggregate_id="available", payload={"variant_ids": sorted(ids)})
    session.info[_NOTICE_KEY] = (session.get_transaction(), event_id, ids)


def totals(session: Session, *, variant_ids: Collection[int], location_ids: Collection[int]) -> dict[int, int]:
    """The available quantity of each variant summed over ``location_ids`` (reads only; absent means 0)."""
    if not variant_ids or not location_ids:
        return {}
    postgres = is_postgres(session)
    query = (select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
             .where(one_of(StockLevel.variant_id, sorted(set(variant_ids)), postgres=postgres),
                    one_of(StockLevel.location_id, sorted(set(location_ids)), postgres=postgres))
             .group_by(StockLevel.variant_id))
    return {variant_id: int(total or 0) for variant_id, total in session.execute(query)}
