"""What the staff do to stock: goods in, adjustments (damage, loss, found), counts, transfers between locations.

Each is a service (one commit). ``scope_store_id`` is the store a store-bound person works in: they may only move
the stock of that store's location."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.stock import levels
from xuyen.commerce.stock.models import Location, MovementKind, StockMovement, Transfer, TransferStatus
from xuyen.commerce.stock.service import (
    MAX_QUANTITY,
    OutOfStock,
    StockLine,
    active_location,
    check_reference,
    check_variants,
    merge_lines,
)
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

MAX_REASON = 500


def _check_reason(reason: str, *, required: bool) -> str:
    reason = reason.strip()
    if len(reason) > MAX_REASON or (required and not reason):
        raise ValidationFailed(f"Say why, in up to {MAX_REASON} characters (damaged, lost, found, count…).",
                               code="invalid_reason")
    return reason


def _location_in_scope(session: Session, location_id: int, scope_store_id: int | None) -> Location:
    location = active_location(session, location_id)
    if scope_store_id is not None and location.store_id != scope_store_id:
        raise PermissionDenied(f"You work in another store; you cannot move the stock of {location.name}.",
                               code="location_out_of_scope")
    return location


def receive(session: Session, *, location_id: int, lines: Sequence[StockLine], actor: str, reference: str = "",
            reason: str = "", scope_store_id: int | None = None) -> list[StockMovement]:
    """Goods in: add the lines to what ``location_id`` has on hand."""
    made = add_receipt(session, location_id=location_id, lines=lines, actor=actor, reference=reference,
                       reason=reason, scope_store_id=scope_store_id)
    session.commit()
    return made


def add_receipt(session: Session, *, location_id: int, lines: Sequence[StockLine], actor: str, reference: str = "",
                reason: str = "", scope_store_id: int | None = None) -> list[StockMovement]:
    """Goods in (helper: no commit)."""
    reference = reference.strip()
    if len(reference) > 100:
        raise ValidationFailed("A reference is up to 100 characters (a delivery note, a supplier invoice).",
                               code="invalid_reference")
    reason = _check_reason(reason, required=False)
    wanted = merge_lines(lines)
    _location_in_scope(session, location_id, scope_store_id)
    check_variants(session, wanted)
    levels.ensure_levels(session, [(variant_id, location_id) for variant_id in wanted])
    levels.lock_levels(session, variant_ids=list(wanted), location_ids=[location_id])
    levels.apply(session, {(variant_id, location_id): (quantity, 0) for variant_id, quantity in wanted.items()})
    made = [levels.record(session, variant_id=variant_id, location_id=location_id, kind=MovementKind.receipt,
                          on_hand=quantity, reference=reference, actor=actor, reason=reason)
            for variant_id, quantity in sorted(wanted.items())]
    levels.note_available_changed(session, wanted)
    session.flush()
    return made


def adjust(session: Session, *, location_id: int, variant_id: int, delta: int, actor: str, reason: str,
           scope_store_id: int | None = None) -> StockMovement:
    """Correct what is on hand by ``delta`` (negative for damage or loss) and say why; what is reserved for
    orders cannot be adjusted away (release those first)."""
    reason = _check_reason(reason, required=True)
    if not delta or abs(delta) > MAX_QUANTITY:
        raise ValidationFailed(f"An adjustment is a whole number of units, not 0, up to {MAX_QUANTITY} either way.",
                               code="invalid_quantity")
    _location_in_scope(session, location_id, scope_store_id)
    check_variants(session, [variant_id])
    levels.ensure_levels(session, [(variant_id, location_id)])
    level = levels.lock_levels(session, variant_ids=[variant_id], location_ids=[location_id])[(variant_id, location_id)]
    if level.available + delta < 0:
        raise Conflict(f"Only {max(level.available, 0)} units are free to adjust ({level.on_hand} on hand, "
                       f"{level.reserved} reserved for orders).", code="stock_reserved")
    levels.apply(session, {(variant_id, location_id): (delta, 0)})
    movement = levels.record(session, variant_id=variant_id, location_id=location_id, kind=MovementKind.adjustment,
                             on_hand=delta, actor=actor, reason=reason)
    levels.note_available_changed(session, [variant_id])
    session.commit()
    return movement


def count(session: Session, *, location_id: int, variant_id: int, counted: int, actor: str, reason: str = "",
          scope_store_id: int | None = None) -> StockMovement | None:
    """Record a stock count: on hand becomes ``counted`` (the ledger keeps the difference); None when it already
    was. A count below what is reserved is refused (release those orders first)."""
    reason = _check_reason(reason, required=False) or "count"
    if not 0 <= counted <= MAX_QUANTITY:
        raise ValidationFailed(f"A count is a whole number from 0 to {MAX_QUANTITY}.", code="invalid_quantity")
    _location_in_scope(session, location_id, scope_store_id)
    check_variants(session, [variant_id])
    levels.ensure_levels(session, [(variant_id, location_id)])
    level = levels.lock_levels(session, variant_ids=[variant_id], location_ids=[location_id])[(variant_id, location_id)]
    if counted < level.reserved:
        raise Conflict(f"{level.reserved} units are reserved for orders here; a count of {counted} cannot cover "
                       "them. Release or move those orders first.", code="stock_reserved")
    delta = counted - level.on_hand
    if not delta:
        session.commit()
        return None
    levels.apply(session, {(variant_id, location_id): (delta, 0)})
    movement = levels.record(session, variant_id=variant_id, location_id=location_id, kind=MovementKind.count_,
                             on_hand=delta, actor=actor, reason=reason)
    levels.note_available_changed(session, [variant_id])
    session.commit()
    return movement


def get_transfer(session: Session, *, transfer_id: int) -> Transfer:
    """The transfer ``transfer_id``."""
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise NotFound(f"There is no stock transfer {transfer_id}.", code="transfer_not_found")
    return transfer


def list_transfers(session: Session, *, status: TransferStatus | None = None, limit: int = 100) -> list[Transfer]:
    """The newest transfers (with ``status``)."""
    query = select(Transfer).order_by(Transfer.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Transfer.status == status)
    return list(session.scalars(query))


def transfer(session: Session, *, from_location_id: int, to_location_id: int, lines: Sequence[StockLine],
             actor: str, reason: str = "", received: bool = False,
             scope_store_id: int | None = None) -> Transfer:
    """Send stock from one location to another: it leaves the source now (only what is available, all lines or
    none) and is in transit until received; ``received`` books both ends at once."""
    moved = add_transfer(session, from_location_id=from_location_id, to_location_id=to_location_id, lines=lines,
                         actor=actor, reason=reason, received=received, scope_store_id=scope_store_id)
    session.commit()
    return moved


def add_transfer(session: Session, *, from_location_id: int, to_location_id: int, lines: Sequence[StockLine],
                 actor: str, reason: str = "", received: bool = False,
                 scope_store_id: int | None = None) -> Transfer:
    """A transfer (helper: no commit)."""
    reason = _check_reason(reason, required=False)
    wanted = merge_lines(lines)
    if from_location_id == to_location_id:
        raise ValidationFailed("A transfer goes between two different locations.", code="invalid_transfer")
    _location_in_scope(session, from_location_id, scope_store_id)
    active_location(session, to_location_id)
    check_variants(session, wanted)
    ends = [from_location_id]
    if received:  # both ends are locked together, in the fixed order
        levels.ensure_levels(session, [(variant_id, to_location_id) for variant_id in wanted])
        ends.append(to_location_id)
    locked = levels.lock_levels(session, variant_ids=list(wanted), location_ids=ends)
    shortages = {variant_id: max(locked[(variant_id, from_location_id)].available, 0)
                 if (variant_id, from_location_id) in locked else 0
                 for variant_id, quantity in wanted.items()
                 if (variant_id, from_location_id) not in locked
                 or locked[(variant_id, from_location_id)].available < quantity}
    if shortages:
        raise OutOfStock(shortages)
    moved = Transfer(from_location_id=from_location_id, to_location_id=to_location_id,
                     status=TransferStatus.in_transit, actor=actor, reason=reason, created_at=utcnow(),
                     lines=[{"variant_id": variant_id, "quantity": quantity}
                            for variant_id, quantity in sorted(wanted.items())])
    session.add(moved)
    session.flush()
    reference = check_reference(f"transfer:{moved.id}")
    levels.apply(session, {(variant_id, from_location_id): (-quantity, 0) for variant_id, quantity in wanted.items()})
    for variant_id, quantity in sorted(wanted.items()):
        levels.record(session, variant_id=variant_id, location_id=from_location_id, kind=MovementKind.transfer_out,
                      on_hand=-quantity, reference=reference, actor=actor, reason=reason)
    if received:
        _arrive(session, moved, actor=actor)
    levels.note_available_changed(session, wanted)
    session.flush()
    return moved


def receive_transfer(session: Session, *, transfer_id: int, actor: str,
                     scope_store_id: int | None = None) -> Transfer:
    """Book a transfer's arrival: its lines go on hand at the destination."""
    moved = get_transfer(session, transfer_id=transfer_id)
    _location_in_scope(session, moved.to_location_id, scope_store_id)
    if moved.status is TransferStatus.received:
        raise Conflict(f"Transfer {moved.id} was already received.", code="transfer_already_received")
    _arrive(session, moved, actor=actor)
    levels.note_available_changed(session, [line["variant_id"] for line in moved.lines])
    session.commit()
    return moved


def _arrive(session: Session, moved: Transfer, *, actor: str) -> None:
    wanted = {int(line["variant_id"]): int(line["quantity"]) for line in moved.lines}
    keys = [(variant_id, moved.to_location_id) for variant_id in wanted]
    levels.ensure_levels(session, keys)
    levels.lock_levels(session, variant_ids=list(wanted), location_ids=[moved.to_location_id])
    levels.apply(session, {key: (wanted[key[0]], 0) for key in keys})
    for variant_id, quantity in sorted(wanted.items()):
        levels.record(session, variant_id=variant_id, location_id=moved.to_location_id,
                      kind=MovementKind.transfer_in, on_hand=quantity, reference=f"transfer:{moved.id}",
                      actor=actor, reason=moved.reason)
    moved.status = TransferStatus.received
    moved.received_at = utcnow()
