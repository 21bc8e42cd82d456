"""The invariants every stock test checks: the levels are the sums of the ledger and of the active
reservations, and nothing is oversold."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.commerce.stock.models import Reservation, ReservationStatus, StockLevel, StockMovement


def assert_consistent(session: Session) -> None:
    """Every level equals its ledger; reserved equals the active reservations; available is never negative."""
    session.rollback()
    session.expire_all()
    ledger = {(v, loc): (int(on_hand), int(reserved)) for v, loc, on_hand, reserved in session.execute(
        select(StockMovement.variant_id, StockMovement.location_id, func.sum(StockMovement.on_hand_delta),
               func.sum(StockMovement.reserved_delta)).group_by(StockMovement.variant_id, StockMovement.location_id))}
    held = {(v, loc): int(quantity) for v, loc, quantity in session.execute(
        select(Reservation.variant_id, Reservation.location_id, func.sum(Reservation.quantity))
        .where(Reservation.status == ReservationStatus.active)
        .group_by(Reservation.variant_id, Reservation.location_id))}
    for level in session.scalars(select(StockLevel)):
        key = (level.variant_id, level.location_id)
        assert level.on_hand - level.reserved >= 0, key
        assert (level.on_hand, level.reserved) == ledger.get(key, (0, 0)), key
        assert level.reserved == held.get(key, 0), key
    keys = {(row[0], row[1]) for row in session.execute(select(StockLevel.variant_id, StockLevel.location_id))}
    assert set(ledger) <= keys


def level(session: Session, variant_id: int, location_id: int) -> tuple[int, int]:
    """(on_hand, reserved) as committed now."""
    session.rollback()
    row = session.execute(select(StockLevel.on_hand, StockLevel.reserved).where(
        StockLevel.variant_id == variant_id, StockLevel.location_id == location_id)).first()
    return (row[0], row[1]) if row else (0, 0)
