"""Reservations, sales and returns: the helpers orders and marketplaces call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tests.commerce.stock.checks import assert_consistent, level
from tests.commerce.stock.conftest import make_location, make_variants
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import handlers, moves, service
from xuyen.commerce.stock.models import LocationKind, MovementKind, Reservation, ReservationStatus
from xuyen.commerce.stock.service import OutOfStock, StockLine
from xuyen.errors import Conflict, ValidationFailed
from xuyen.outbox import OutboxEvent
from xuyen.worker import Worker


def _stocked(session: Session, quantity: int = 10, variants: int = 2):  # type: ignore[no-untyped-def]
    found = make_variants(session, variants)
    warehouse = make_location(session, kind=LocationKind.warehouse, priority=10)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(v.id, quantity) for v in found],
                  actor="kho@shop.vn", reference="PN-1")
    return found, warehouse


def _changed_events(session: Session) -> list[list[int]]:
    session.rollback()
    return [event.payload["variant_ids"] for event in session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == "stock.available_changed").order_by(OutboxEvent.id))]


def test_reserve_then_fulfil_takes_the_stock_out(session: Session) -> None:
    (shirt, trousers), warehouse = _stocked(session)
    made = service.reserve(session, reference="SO-1", lines=[StockLine(shirt.id, 3), StockLine(trousers.id, 1)],
                           channel=SalesChannel.web, actor="system", expires_at=utcnow() + timedelta(minutes=15))
    session.commit()
    assert sorted((r.variant_id, r.location_id, r.quantity) for r in made) == [
        (shirt.id, warehouse.id, 3), (trousers.id, warehouse.id, 1)]
    assert all(session.get(Reservation, r.id) is r for r in made)  # in the session, as loaded rows are
    assert {(r.status, r.channel, r.actor) for r in made} == {(ReservationStatus.active, "web", "system")}
    assert level(session, shirt.id, warehouse.id) == (10, 3)
    assert service.available_for_channel(session, channel=SalesChannel.web, variant_ids=[shirt.id]) == {shirt.id: 7}
    sales = service.fulfil(session, reference="SO-1", actor="system")
    session.commit()
    assert sorted((m.variant_id, m.on_hand_delta, m.reserved_delta) for m in sales) == [
        (shirt.id, -3, -3), (trousers.id, -1, -1)]
    assert level(session, shirt.id, warehouse.id) == (7, 0)
    assert service.reservations_of(session, reference="SO-1") == []
    assert [r.status for r in service.reservations_of(session, reference="SO-1", statuses=())] == [
        ReservationStatus.fulfilled] * 2
    assert_consistent(session)


def test_reserving_again_for_the_same_reference_returns_the_same_reservations(session: Session) -> None:
    (shirt, _), _warehouse = _stocked(session)
    first = service.reserve(session, reference="SO-2", lines=[StockLine(shirt.id, 2)], channel=SalesChannel.web,
                            actor="system", expires_at=None)
    session.commit()
    again = service.reserve(session, reference="SO-2", lines=[StockLine(shirt.id, 2)], channel=SalesChannel.web,
                            actor="system", expires_at=None)
    session.commit()
    assert [r.id for r in again] == [r.id for r in first]
    assert service.available_for_channel(session, channel=SalesChannel.web, variant_ids=[shirt.id]) == {shirt.id: 8}
    assert_consistent(session)


def test_a_shortage_reserves_nothing_and_says_what_is_available(session: Session) -> None:
    (shirt, trousers), warehouse = _stocked(session, quantity=2)
    with pytest.raises(OutOfStock) as caught:
        service.reserve(session, reference="SO-3", lines=[StockLine(shirt.id, 1), StockLine(trousers.id, 3)],
                        channel=SalesChannel.shopee, actor="shopee", expires_at=None)
    session.rollback()
    assert caught.value.shortages == {trousers.id: 2}
    assert caught.value.code == "out_of_stock" and isinstance(caught.value, Conflict)
    assert level(session, shirt.id, warehouse.id) == (2, 0)
    assert_consistent(session)


def test_release_gives_the_stock_back_once(session: Session) -> None:
    (shirt, _), warehouse = _stocked(session)
    service.reserve(session, reference="SO-4", lines=[StockLine(shirt.id, 4)], channel=SalesChannel.lazada,
                    actor="lazada", expires_at=None)
    session.commit()
    assert service.release(session, reference="SO-4", actor="lazada", reason="cancelled by buyer") == 1
    assert service.release(session, reference="SO-4", actor="lazada", reason="cancelled by buyer") == 0
    session.commit()
    assert level(session, shirt.id, warehouse.id) == (10, 0)
    kinds = [m.kind for m in service.movements_of(session, reference="SO-4")]
    assert kinds == [MovementKind.reservation, MovementKind.release]
    assert_consistent(session)


def test_one_availability_event_per_transaction_names_every_variant(session: Session) -> None:
    (shirt, trousers), _warehouse = _stocked(session)
    assert _changed_events(session) == [[shirt.id, trousers.id]]
    service.reserve(session, reference="A", lines=[StockLine(shirt.id, 1)], channel=SalesChannel.web,
                    actor="system", expires_at=None)
    service.reserve(session, reference="B", lines=[StockLine(trousers.id, 1)], channel=SalesChannel.web,
                    actor="system", expires_at=None)
    service.fulfil(session, reference="A", actor="system")
    session.commit()
    assert _changed_events(session)[1:] == [[shirt.id, trousers.id]]
    service.fulfil(session, reference="B", actor="system")  # a sale of reserved stock changes no availability
    session.commit()
    assert len(_changed_events(session)) == 2


@pytest.mark.postgres_only
def test_postgresql_plans_the_reservation_statements_once(session: Session) -> None:
    """The statements a reservation runs each time are planned once for the connection, not at every run."""
    (shirt, _), _warehouse = _stocked(session, quantity=50)
    for number in range(12):
        service.reserve(session, reference=f"PLAN-{number}", lines=[StockLine(shirt.id, 1)],
                        channel=SalesChannel.web, actor="system", expires_at=None)
    assert session.scalar(text("SHOW plan_cache_mode")) == "force_generic_plan"
    plans = session.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                 "WHERE statement LIKE '%stock_reservations%'")).all()
    assert plans and all(generic >= 1 and custom == 0 for generic, custom in plans), plans
    session.commit()
    assert session.scalar(text("SHOW plan_cache_mode")) == "auto"  # for this transaction only


def test_a_rolled_back_reservation_leaves_no_event(session: Session) -> None:
    (shirt, _), _warehouse = _stocked(session)
    service.reserve(session, reference="C", lines=[StockLine(shirt.id, 1)], channel=SalesChannel.web,
                    actor="system", expires_at=None)
    session.rollback()
    service.reserve(session, reference="D", lines=[StockLine(shirt.id, 2)], channel=SalesChannel.web,
                    actor="system", expires_at=None)
    session.commit()
    assert len(_changed_events(session)) == 2
    assert_consistent(session)


def test_expired_reservations_are_released(session: Session) -> None:
    (shirt, _), warehouse = _stocked(session)
    service.reserve(session, reference="cart-1", lines=[StockLine(shirt.id, 5)], channel=SalesChannel.web,
                    actor="system", expires_at=utcnow() - timedelta(seconds=1))
    service.reserve(session, reference="cart-2", lines=[StockLine(shirt.id, 1)], channel=SalesChannel.web,
                    actor="system", expires_at=utcnow() + timedelta(hours=1))
    session.commit()
    before = len(_changed_events(session))
    assert service.release_expired(session) == 1
    session.commit()
    assert _changed_events(session)[before:] == [[shirt.id]]
    assert level(session, shirt.id, warehouse.id) == (10, 1)
    assert [r.status for r in service.reservations_of(session, reference="cart-1", statuses=())] == [
        ReservationStatus.expired]
    last = service.movements_of(session, reference="cart-1")[-1]
    assert (last.kind, last.actor, last.reason) == (MovementKind.release, "system", "expired")
    assert_consistent(session)


def test_sell_over_the_counter_and_take_a_return_back(session: Session) -> None:
    shirt, = make_variants(session)
    store = make_location(session, kind=LocationKind.store, ships=False)
    other = make_location(session, kind=LocationKind.store, ships=False)
    moves.receive(session, location_id=store.id, lines=[StockLine(shirt.id, 3)], actor="cuahang@shop.vn")
    service.sell(session, reference="POS-1", lines=[StockLine(shirt.id, 2)], location_id=store.id, actor="thu ngân")
    session.commit()
    service.sell(session, reference="POS-1", lines=[StockLine(shirt.id, 2)], location_id=store.id, actor="thu ngân")
    session.commit()
    assert level(session, shirt.id, store.id) == (1, 0)
    with pytest.raises(OutOfStock):
        service.sell(session, reference="POS-2", lines=[StockLine(shirt.id, 2)], location_id=store.id, actor="x")
    session.rollback()
    service.return_to_stock(session, reference="RT-1", lines=[StockLine(shirt.id, 1)], location_id=other.id,
                            actor="cuahang2@shop.vn", reason="wrong size")
    service.return_to_stock(session, reference="RT-1", lines=[StockLine(shirt.id, 1)], location_id=other.id,
                            actor="cuahang2@shop.vn", reason="wrong size")
    session.commit()
    assert level(session, shirt.id, other.id) == (1, 0)
    assert service.available_for_channel(session, channel=SalesChannel.pos, variant_ids=[shirt.id]) == {shirt.id: 2}
    assert service.available_for_channel(session, channel=SalesChannel.web, variant_ids=[shirt.id]) == {shirt.id: 0}
    assert_consistent(session)


@pytest.mark.parametrize(("reference", "quantity"), [("", 1), ("x" * 101, 1), ("SO-9", 0), ("SO-9", -2),
                                                     ("SO-9", 10**7)])
def test_bad_reservations_are_refused(session: Session, reference: str, quantity: int) -> None:
    (shirt, _), _warehouse = _stocked(session)
    with pytest.raises(ValidationFailed):
        service.reserve(session, reference=reference, lines=[StockLine(shirt.id, quantity)],
                        channel=SalesChannel.web, actor="system", expires_at=None)
    session.rollback()
    with pytest.raises(ValidationFailed):
        service.reserve(session, reference="SO-10", lines=[], channel=SalesChannel.web, actor="system",
                        expires_at=None)
    session.rollback()
    assert_consistent(session)


def test_the_worker_releases_expired_reservations_and_a_paid_order_keeps_its_stock(engine: Engine,
                                                                                  session: Session) -> None:
    (shirt, _), warehouse = _stocked(session)
    past = utcnow() - timedelta(minutes=1)
    for reference in ("cart-a", "cart-b", "SO-paid"):
        service.reserve(session, reference=reference, lines=[StockLine(shirt.id, 2)], channel=SalesChannel.web,
                        actor="system", expires_at=past)
    assert service.set_expiry(session, reference="SO-paid", expires_at=None) == 1
    session.commit()
    Worker(engine=engine).run_until_idle()
    assert level(session, shirt.id, warehouse.id) == (10, 2)
    assert [r.reference for r in service.reservations_of(session, reference="SO-paid")] == ["SO-paid"]
    assert_consistent(session)


def test_one_run_of_the_expiry_job_releases_batch_after_batch(session: Session) -> None:
    (shirt, _), warehouse = _stocked(session)
    for number in range(3):
        service.reserve(session, reference=f"cart-{number}", lines=[StockLine(shirt.id, 1)],
                        channel=SalesChannel.web, actor="system", expires_at=utcnow() - timedelta(seconds=5))
    session.commit()
    handlers.release_expired(session, {"limit": 1})
    session.commit()
    assert level(session, shirt.id, warehouse.id) == (10, 0)
    assert_consistent(session)
