"""Stock services: reservations and sales (the helpers orders and marketplaces call), what each channel may
offer, and the goods-in / count / transfer services the staff use (``xuyen.commerce.stock.moves``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, and_, any_, bindparam, exists, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.catalogue.models import Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import buffers, levels, locations
from xuyen.commerce.stock.levels import Key
from xuyen.commerce.stock.models import (
    Location,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from xuyen.db import is_postgres, one_of
from xuyen.errors import Conflict, NotFound, ValidationFailed

MAX_QUANTITY = 1_000_000
MAX_LINES = 500
MAX_REFERENCE = 100
_HOT_PATH_SAVEPOINT = "stock_hot_path"


@dataclass(frozen=True)
class StockLine:
    """A quantity of one variant."""

    variant_id: int
    quantity: int


class OutOfStock(Conflict):
    """Not enough available stock for some lines; ``shortages`` maps each short variant to what is available."""

    default_code = "out_of_stock"

    def __init__(self, shortages: dict[int, int]) -> None:
        listed = ", ".join(f"variant {variant_id}: {available} available"
                           for variant_id, available in sorted(shortages.items()))
        super().__init__(f"Not enough stock ({listed}). Lower the quantities or pick another location.",
                         details={"shortages": {str(key): value for key, value in shortages.items()}})
        self.shortages = shortages


# Checking input ---------------------------------------------------------------------------------------


def check_reference(reference: str) -> str:
    """A reference trimmed, or ValidationFailed."""
    reference = reference.strip()
    if not reference or len(reference) > MAX_REFERENCE:
        raise ValidationFailed(f"A stock reference is 1 to {MAX_REFERENCE} characters (an order number, a "
                               "transfer id…).", code="invalid_reference")
    return reference


def merge_lines(lines: Iterable[StockLine]) -> dict[int, int]:
    """The quantity wanted of each variant (lines of the same variant added up), or ValidationFailed."""
    wanted: dict[int, int] = {}
    count = 0
    for line in lines:
        count += 1
        if not isinstance(line.quantity, int) or not 0 < line.quantity <= MAX_QUANTITY or line.variant_id < 1:
            raise ValidationFailed(f"Each line needs a variant and a whole quantity from 1 to {MAX_QUANTITY}.",
                                   code="invalid_quantity")
        wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
    if not wanted or count > MAX_LINES:
        raise ValidationFailed(f"Give 1 to {MAX_LINES} lines.", code="invalid_lines")
    return wanted


def check_variants(session: Session, variant_ids: Collection[int]) -> None:
    """NotFound unless every one of ``variant_ids`` is in the catalogue (reads the catalogue, never writes)."""
    ids = sorted(set(variant_ids))
    known = set(session.scalars(select(Variant.id).where(one_of(Variant.id, ids, postgres=is_postgres(session)))))
    missing = [variant_id for variant_id in ids if variant_id not in known]
    if missing:
        raise NotFound(f"There is no variant {', '.join(map(str, missing[:10]))} in the catalogue.",
                       code="variant_not_found")


def active_location(session: Session, location_id: int) -> Location:
    location = locations.get(session, location_id=location_id)
    if not location.is_active:
        raise Conflict(f"Stock location {location.code} is closed; pick another one.", code="location_inactive")
    return location


# Allocation -------------------------------------------------------------------------------------------


def allocate(wanted: dict[int, int], order: Sequence[int],
             available: dict[Key, int]) -> tuple[dict[Key, int], dict[int, int]]:
    """Where to take each line from: ``(plan, shortages)``.

    One location that holds every line wins (the first in ``order``); otherwise each line comes whole from the
    first location holding all of it, and a line no single location holds is split across locations in
    ``order``. A line that all of them together cannot cover is a shortage (variant → total available)."""
    for location_id in order:
        if all(available.get((variant_id, location_id), 0) >= quantity for variant_id, quantity in wanted.items()):
            return {(variant_id, location_id): quantity for variant_id, quantity in wanted.items()}, {}
    plan: dict[Key, int] = {}
    shortages: dict[int, int] = {}
    for variant_id, quantity in wanted.items():
        whole = next((location_id for location_id in order
                      if available.get((variant_id, location_id), 0) >= quantity), None)
        if whole is not None:
            plan[(variant_id, whole)] = quantity
            continue
        total = sum(max(available.get((variant_id, location_id), 0), 0) for location_id in order)
        if total < quantity:
            shortages[variant_id] = total
            continue
        remaining = quantity
        for location_id in order:
            taken = min(remaining, max(available.get((variant_id, location_id), 0), 0))
            if taken:
                plan[(variant_id, location_id)] = taken
                remaining -= taken
            if not remaining:
                break
    return plan, shortages


# The contract helpers ---------------------------------------------------------------------------------


def reservations_of(session: Session, *, reference: str,
                    statuses: Collection[ReservationStatus] = (ReservationStatus.active,)) -> list[Reservation]:
    """The reservations of ``reference`` (active ones unless ``statuses`` says otherwise), in id order."""
    query = select(Reservation).where(Reservation.reference == reference.strip()).order_by(Reservation.id)
    if statuses:
        query = query.where(Reservation.status.in_(list(statuses)))
    return list(session.scalars(query))


class _Candidate(NamedTuple):
    """A location a reservation may take from, as ``_look`` reads it."""

    id: int
    priority: int
    latitude: float | None
    longitude: float | None
    is_active: bool


@dataclass(frozen=True)
class _Look:
    """What a reservation needs to know before it takes anything: whether the reference already holds stock,
    the candidate locations, and what is available at each (absent: none)."""

    held: bool
    candidates: list[_Candidate]
    available: dict[Key, int]


def _look(session: Session, *, reference: str, variant_ids: Collection[int], channel: SalesChannel,
          location_id: int | None) -> _Look:
    """Read, in one statement, whether ``reference`` holds active reservations, the candidate locations (the
    given one, or those serving ``channel``) and the levels of ``variant_ids`` there. Unlocked on PostgreSQL; on
    SQLite the transaction holds the write lock already, so what it reads cannot change before the commit."""
    if session.autoflush:  # as the ORM would before a query: pending changes go in first
        session.flush()
    statement = _look_statement(is_postgres(session), None if location_id is not None else channel)
    rows = session.connection().execute(statement, {"reference": reference, "variant_ids": sorted(variant_ids),
                                                    "location_id": location_id}).all()
    candidates: dict[int, _Candidate] = {}
    available: dict[Key, int] = {}
    for row in rows:
        if row.id is None:
            continue
        candidates.setdefault(row.id, _Candidate(row.id, row.priority, row.latitude, row.longitude,
                                                 row.is_active))
        if row.variant_id is not None:
            available[(row.variant_id, row.id)] = row.available
    return _Look(held=bool(rows[0].held), candidates=list(candidates.values()), available=available)


@cache
def _look_statement(postgres: bool, channel: SalesChannel | None) -> Select[Any]:
    """``_look``'s statement, built once for the locations serving ``channel`` (None: the one ``location_id``)."""
    if postgres:
        wanted = StockLevel.variant_id == any_(bindparam("variant_ids", type_=postgresql.ARRAY(Integer)))
    else:
        wanted = StockLevel.variant_id.in_(bindparam("variant_ids", expanding=True))
    held = select(exists().where(Reservation.reference == bindparam("reference"),
                                 Reservation.status == ReservationStatus.active).label("held")).subquery()
    candidate = Location.id == bindparam("location_id") if channel is None else locations.serves(channel)
    places = (select(Location.id, Location.priority, Location.latitude, Location.longitude, Location.is_active,
                     StockLevel.variant_id, (StockLevel.on_hand - StockLevel.reserved).label("available"))
              .outerjoin(StockLevel, and_(StockLevel.location_id == Location.id, wanted))
              .where(candidate).subquery())
    return select(held, places).select_from(held.outerjoin(places, true()))


def reserve(session: Session, *, reference: str, lines: Sequence[StockLine], channel: SalesChannel, actor: str,
            expires_at: datetime | None, location_id: int | None = None,
            near: tuple[float, float] | None = None) -> list[Reservation]:
    """Hold stock for ``reference``, all lines or none (helper: no commit); raises OutOfStock.

    ``location_id`` fixes the location (a pickup store, a till); otherwise the locations serving ``channel`` are
    tried in allocation order (``near`` = the customer's latitude, longitude). A reference that already holds
    active reservations gets them back unchanged."""
    reference = check_reference(reference)
    wanted = merge_lines(lines)
    levels.lock_reference(session, reference)
    look = _look(session, reference=reference, variant_ids=wanted, channel=channel, location_id=location_id)
    if look.held:
        return reservations_of(session, reference=reference)
    if location_id is not None and not (look.candidates and look.candidates[0].is_active):
        active_location(session, location_id)  # raises: unknown or closed
    order = [place.id for place in locations.allocation_order(look.candidates, near=near)]
    if is_postgres(session):
        made = _reserve_optimistically(session, reference=reference, wanted=wanted, order=order, seen=look.available,
                                       channel=channel, actor=actor, expires_at=expires_at)
        if made is not None:
            return made
        locked = levels.lock_levels(session, variant_ids=list(wanted), location_ids=order)
        available = {key: level.available for key, level in locked.items()}
    else:
        available = look.available  # read under SQLite's write lock
    plan, shortages = allocate(wanted, order, available)
    if shortages:
        raise OutOfStock(shortages)
    levels.note_available_changed(session, wanted)
    if is_postgres(session):
        made = levels.reserve_in_one_statement(session, plan=plan, reference=reference, channel=channel.value,
                                               actor=actor, expires_at=expires_at)
        if len(made) != len(plan):  # only if a level changed under a lock we hold: never expected
            raise Conflict("A stock level changed while locked; try again.", code="stock_inconsistent")
        return made
    refused = levels.apply(session, {key: (0, quantity) for key, quantity in plan.items()})
    if refused:  # only if a level changed under a lock we hold: never expected, still never oversold
        raise OutOfStock({refused[0][0]: 0})
    return _write_reservations(session, reference=reference, plan=plan, channel=channel, actor=actor,
                               expires_at=expires_at)


def _write_reservations(session: Session, *, reference: str, plan: dict[Key, int], channel: SalesChannel,
                        actor: str, expires_at: datetime | None) -> list[Reservation]:
    """SQLite: the reservations of ``plan`` and their ledger lines, written by the unit of work."""
    now = utcnow()
    made = [Reservation(reference=reference, variant_id=variant_id, location_id=location_id, quantity=quantity,
                        channel=channel.value, status=ReservationStatus.active, actor=actor, expires_at=expires_at,
                        created_at=now)
            for (variant_id, location_id), quantity in sorted(plan.items())]
    session.add_all(made)
    for (variant_id, location_id), quantity in sorted(plan.items()):
        levels.record(session, variant_id=variant_id, location_id=location_id, kind=MovementKind.reservation,
                      reserved=quantity, reference=reference, channel=channel.value, actor=actor)
    session.flush()
    return made


def _reserve_optimistically(session: Session, *, reference: str, wanted: dict[int, int], order: list[int],
                            seen: dict[Key, int], channel: SalesChannel, actor: str,
                            expires_at: datetime | None) -> list[Reservation] | None:
    """The hot path on PostgreSQL, for an allocation that takes one level row: plan from what an unlocked read
    ``seen``, then take the stock and write the reservation and its ledger line in one guarded statement, so the
    row lock is held only for that statement and the commit. None when the plan needs several rows, when the
    read shows a shortage, or when another transaction took the stock meanwhile: the caller then locks every
    candidate row in the fixed order and decides there."""
    plan, shortages = allocate(wanted, order, seen)
    if shortages or len(plan) != 1:
        return None
    levels.note_available_changed(session, wanted)
    session.flush()  # what is pending goes in before the savepoint, so rolling back to it cannot take it away
    # A guarded UPDATE that waited for the row and then found too little keeps the row locked (PostgreSQL locks
    # the newest version before re-checking); rolling back to this savepoint lets it go, so the general path
    # still takes its locks in the fixed order. On success it is left open: the commit ends it, and releasing
    # it first would cost a round trip while the row is locked.
    session.connection().exec_driver_sql(f"SAVEPOINT {_HOT_PATH_SAVEPOINT}")
    made = levels.reserve_in_one_statement(session, plan=plan, reference=reference, channel=channel.value,
                                           actor=actor, expires_at=expires_at)
    if made:
        return made
    session.connection().exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_HOT_PATH_SAVEPOINT}")
    return None


class Closed(NamedTuple):
    """A reservation just closed."""

    id: int
    reference: str
    variant_id: int
    location_id: int
    quantity: int
    channel: str


def _close(session: Session, *, reservation_ids: Sequence[int], status: ReservationStatus, actor: str,
           reason: str) -> list[Closed]:
    """Close the still-active reservations among ``reservation_ids``, give their stock back (released,
    expired) or take it out as sold (fulfilled), and write the ledger (helper: no commit).

    The status change is guarded (``WHERE status = 'active'``), so two closings of the same reservation (a
    cancel and the expiry job) count once."""
    if not reservation_ids:
        return []
    statement = (update(Reservation)
                 .where(one_of(Reservation.id, sorted(reservation_ids), postgres=is_postgres(session)),
                        Reservation.status == ReservationStatus.active)
                 .values(status=status, closed_at=utcnow())
                 .returning(Reservation.id, Reservation.reference, Reservation.variant_id, Reservation.location_id,
                            Reservation.quantity, Reservation.channel)
                 .execution_options(synchronize_session=False))
    closed = sorted((Closed(*row) for row in session.execute(statement)), key=lambda row: row.id)
    closed_ids = {row[0] for row in closed}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Reservation) and obj.id in closed_ids:
            session.expire(obj)
    sold = status is ReservationStatus.fulfilled
    changes: dict[Key, tuple[int, int]] = {}
    for row in closed:
        on_hand, reserved = changes.get((row.variant_id, row.location_id), (0, 0))
        changes[(row.variant_id, row.location_id)] = (on_hand - row.quantity if sold else 0, reserved - row.quantity)
    if levels.apply(session, changes):
        raise Conflict("A stock level no longer matches its reservations; run the stock check.",
                       code="stock_inconsistent")
    for row in closed:
        levels.record(session, variant_id=row.variant_id, location_id=row.location_id,
                      kind=MovementKind.sale if sold else MovementKind.release, on_hand=-row.quantity if sold else 0,
                      reserved=-row.quantity, reference=row.reference, channel=row.channel, actor=actor, reason=reason)
    if not sold:
        levels.note_available_changed(session, {row.variant_id for row in closed})
    session.flush()
    return closed


def release(session: Session, *, reference: str, actor: str, reason: str) -> int:
    """Give back every active reservation of ``reference`` (a cancel); returns how many (helper: no commit)."""
    ids = [reservation.id for reservation in reservations_of(session, reference=reference)]
    return len(_close(session, reservation_ids=ids, status=ReservationStatus.released, actor=actor, reason=reason))


def fulfil(session: Session, *, reference: str, actor: str) -> list[StockMovement]:
    """Turn the active reservations of ``reference`` into sales: on hand and reserved both go down (helper: no
    commit). Returns the sale lines of the ledger."""
    ids = [reservation.id for reservation in reservations_of(session, reference=reference)]
    _close(session, reservation_ids=ids, status=ReservationStatus.fulfilled, actor=actor, reason="fulfilled")
    return movements_of(session, reference=reference, kinds=[MovementKind.sale])


def release_expired(session: Session, *, now: datetime | None = None, limit: int = 500) -> int:
    """Give back up to ``limit`` active reservations whose time ran out (helper: no commit); returns how many."""
    query = (select(Reservation.id)
             .where(Reservation.status == ReservationStatus.active, Reservation.expires_at.is_not(None),
                    Reservation.expires_at <= (now or utcnow()))
             .order_by(Reservation.expires_at, Reservation.id).limit(limit))
    ids = list(session.scalars(query))
    return len(_close(session, reservation_ids=ids, status=ReservationStatus.expired, actor="system",
                      reason="expired"))


def set_expiry(session: Session, *, reference: str, expires_at: datetime | None) -> int:
    """Change when the active reservations of ``reference`` run out (None: never, once an order is paid);
    returns how many changed (helper: no commit)."""
    statement = (update(Reservation)
                 .where(Reservation.reference == reference.strip(), Reservation.status == ReservationStatus.active)
                 .values(expires_at=expires_at).execution_options(synchronize_session="fetch"))
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def movements_of(session: Session, *, reference: str,
                 kinds: Collection[MovementKind] = ()) -> list[StockMovement]:
    """The ledger lines of ``reference`` (of ``kinds``), in the order they were written."""
    query = select(StockMovement).where(StockMovement.reference == reference.strip()).order_by(StockMovement.id)
    if kinds:
        query = query.where(StockMovement.kind.in_(list(kinds)))
    return list(session.scalars(query))


def sell(session: Session, *, reference: str, lines: Sequence[StockLine], location_id: int,
         actor: str) -> list[StockMovement]:
    """A sale over the counter at ``location_id``: the stock goes at once, all lines or none (helper: no
    commit); raises OutOfStock. Selling a reference already sold returns its sale lines unchanged."""
    reference = check_reference(reference)
    wanted = merge_lines(lines)
    levels.lock_reference(session, reference)
    done = movements_of(session, reference=reference, kinds=[MovementKind.sale])
    if done:
        return done
    active_location(session, location_id)
    locked = levels.lock_levels(session, variant_ids=list(wanted), location_ids=[location_id])
    shortages = {variant_id: max(locked[(variant_id, location_id)].available, 0)
                 if (variant_id, location_id) in locked else 0
                 for variant_id, quantity in wanted.items()
                 if (variant_id, location_id) not in locked or locked[(variant_id, location_id)].available < quantity}
    if shortages:
        raise OutOfStock(shortages)
    refused = levels.apply(session, {(variant_id, location_id): (-quantity, 0)
                                     for variant_id, quantity in wanted.items()})
    if refused:
        raise OutOfStock({refused[0][0]: 0})
    made = [levels.record(session, variant_id=variant_id, location_id=location_id, kind=MovementKind.sale,
                          on_hand=-quantity, reference=reference, channel=SalesChannel.pos.value, actor=actor)
            for variant_id, quantity in sorted(wanted.items())]
    levels.note_available_changed(session, wanted)
    session.flush()
    return made


def return_to_stock(session: Session, *, reference: str, lines: Sequence[StockLine], location_id: int, actor: str,
                    reason: str) -> list[StockMovement]:
    """Put returned goods back on hand at ``location_id``, where they came back (helper: no commit). Returning a
    reference already returned changes nothing and gives its lines back."""
    reference = check_reference(reference)
    wanted = merge_lines(lines)
    levels.lock_reference(session, reference)
    done = movements_of(session, reference=reference, kinds=[MovementKind.return_])
    if done:
        return done
    active_location(session, location_id)
    check_variants(session, wanted)
    keys = [(variant_id, location_id) for variant_id in wanted]
    levels.ensure_levels(session, keys)
    levels.apply(session, {(variant_id, location_id): (quantity, 0) for variant_id, quantity in wanted.items()})
    made = [levels.record(session, variant_id=variant_id, location_id=location_id, kind=MovementKind.return_,
                          on_hand=quantity, reference=reference, actor=actor, reason=reason)
            for variant_id, quantity in sorted(wanted.items())]
    levels.note_available_changed(session, wanted)
    session.flush()
    return made


def available_for_channel(session: Session, *, channel: SalesChannel, variant_ids: Collection[int]) -> dict[int, int]:
    """What ``channel`` may offer of each variant: the available stock of the locations serving it, minus the
    channel's buffer, never below 0 (reads only)."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    serving = [location.id for location in locations.serving_locations(session, channel=channel)]
    found = levels.totals(session, variant_ids=ids, location_ids=serving)
    kept = buffers.buffers_for(session, channel=channel, variant_ids=ids)
    return {variant_id: max(found.get(variant_id, 0) - kept.get(variant_id, 0), 0) for variant_id in ids}
