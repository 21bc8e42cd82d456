"""Where reservations are taken from, what each channel may offer, and the staff's moves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from tests.commerce.stock.checks import assert_consistent, level
from tests.commerce.stock.conftest import make_location, make_variants
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import buffers, locations, moves, service
from xuyen.commerce.stock.models import LocationKind, MovementKind, TransferStatus
from xuyen.commerce.stock.service import OutOfStock, StockLine, allocate
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

HANOI = (21.0285, 105.8542)
DA_NANG = (16.0544, 108.2022)
SAIGON = (10.7769, 106.7009)


def _reserve(session: Session, reference: str, lines: list[StockLine], *, near: tuple[float, float] | None = None,
             location_id: int | None = None) -> list[tuple[int, int, int]]:
    made = service.reserve(session, reference=reference, lines=lines, channel=SalesChannel.web, actor="t",
                           expires_at=None, near=near, location_id=location_id)
    session.commit()
    return sorted((r.variant_id, r.location_id, r.quantity) for r in made)


def test_the_warehouse_goes_first_then_the_nearest_store(session: Session) -> None:
    shirt, = make_variants(session)
    warehouse = make_location(session, kind=LocationKind.warehouse, priority=10, latitude=SAIGON[0],
                              longitude=SAIGON[1])
    hanoi = make_location(session, priority=50, latitude=HANOI[0], longitude=HANOI[1])
    da_nang = make_location(session, priority=50, latitude=DA_NANG[0], longitude=DA_NANG[1])
    for place in (warehouse, hanoi, da_nang):
        moves.receive(session, location_id=place.id, lines=[StockLine(shirt.id, 2)], actor="t")
    assert _reserve(session, "A", [StockLine(shirt.id, 2)], near=HANOI) == [(shirt.id, warehouse.id, 2)]
    assert _reserve(session, "B", [StockLine(shirt.id, 1)], near=(16.07, 108.22)) == [(shirt.id, da_nang.id, 1)]
    assert _reserve(session, "C", [StockLine(shirt.id, 2)], near=(16.07, 108.22)) == [(shirt.id, hanoi.id, 2)]
    assert _reserve(session, "D", [StockLine(shirt.id, 1)], location_id=da_nang.id) == [(shirt.id, da_nang.id, 1)]
    with pytest.raises(OutOfStock) as caught:
        _reserve(session, "E", [StockLine(shirt.id, 1)], location_id=da_nang.id)
    assert caught.value.shortages == {shirt.id: 0}
    session.rollback()
    assert_consistent(session)


def test_a_line_is_split_only_when_no_single_location_holds_it() -> None:
    plan, short = allocate({1: 3, 2: 1}, [10, 20], {(1, 10): 2, (2, 10): 1, (1, 20): 3, (2, 20): 1})
    assert (plan, short) == ({(1, 20): 3, (2, 20): 1}, {})  # one location holds the whole order
    plan, short = allocate({1: 3, 2: 1}, [10, 20], {(1, 10): 2, (2, 10): 1, (1, 20): 2})
    assert (plan, short) == ({(1, 10): 2, (1, 20): 1, (2, 10): 1}, {})
    plan, short = allocate({1: 5}, [10, 20], {(1, 10): 2, (1, 20): 2})
    assert short == {1: 4}


def test_marketplaces_see_the_shipping_locations_minus_their_buffer(session: Session) -> None:
    shirt, cap = make_variants(session, 2)
    warehouse = make_location(session, kind=LocationKind.warehouse, priority=10)
    store = make_location(session, ships=False)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(shirt.id, 5), StockLine(cap.id, 1)], actor="t")
    moves.receive(session, location_id=store.id, lines=[StockLine(shirt.id, 7)], actor="t")
    buffers.set_buffer(session, channel=SalesChannel.shopee, quantity=2, actor="t")
    buffers.set_buffer(session, channel=SalesChannel.shopee, quantity=0, variant_id=cap.id, actor="t")
    ids = [shirt.id, cap.id]
    assert service.available_for_channel(session, channel=SalesChannel.shopee, variant_ids=ids) == {shirt.id: 3,
                                                                                                  cap.id: 1}
    assert service.available_for_channel(session, channel=SalesChannel.web, variant_ids=ids) == {shirt.id: 5, cap.id: 1}
    assert service.available_for_channel(session, channel=SalesChannel.pos, variant_ids=ids) == {shirt.id: 7, cap.id: 0}
    buffers.set_buffer(session, channel=SalesChannel.lazada, quantity=9, actor="t")
    assert service.available_for_channel(session, channel=SalesChannel.lazada, variant_ids=ids) == {shirt.id: 0,
                                                                                                  cap.id: 0}
    locations.set_channel_locations(session, channel=SalesChannel.web, location_ids=[store.id])
    assert service.available_for_channel(session, channel=SalesChannel.web, variant_ids=ids) == {shirt.id: 7, cap.id: 0}
    with pytest.raises(ValidationFailed):
        buffers.set_buffer(session, channel=SalesChannel.web, quantity=-1, actor="t")
    with pytest.raises(NotFound):
        buffers.set_buffer(session, channel=SalesChannel.web, quantity=1, variant_id=999_999, actor="t")
    session.rollback()
    assert [(b.channel, b.variant_id, b.quantity) for b in buffers.list_buffers(session)] == [
        ("lazada", None, 9), ("shopee", None, 2), ("shopee", cap.id, 0)]


def test_adjust_count_and_transfer(session: Session) -> None:
    shirt, = make_variants(session)
    warehouse = make_location(session, kind=LocationKind.warehouse, priority=10)
    store = make_location(session)
    moves.receive(session, location_id=warehouse.id, lines=[StockLine(shirt.id, 10)], actor="t", reference="PN-7")
    service.reserve(session, reference="SO-1", lines=[StockLine(shirt.id, 4)], channel=SalesChannel.web, actor="t",
                    expires_at=None)
    session.commit()
    with pytest.raises(Conflict):
        moves.adjust(session, location_id=warehouse.id, variant_id=shirt.id, delta=-7, actor="t", reason="damaged")
    session.rollback()
    with pytest.raises(ValidationFailed):
        moves.adjust(session, location_id=warehouse.id, variant_id=shirt.id, delta=-1, actor="t", reason=" ")
    session.rollback()
    moves.adjust(session, location_id=warehouse.id, variant_id=shirt.id, delta=-1, actor="t", reason="damaged")
    assert moves.count(session, location_id=warehouse.id, variant_id=shirt.id, counted=8, actor="t") is not None
    assert moves.count(session, location_id=warehouse.id, variant_id=shirt.id, counted=8, actor="t") is None
    assert level(session, shirt.id, warehouse.id) == (8, 4)
    with pytest.raises(OutOfStock):
        moves.transfer(session, from_location_id=warehouse.id, to_location_id=store.id,
                       lines=[StockLine(shirt.id, 5)], actor="t")
    session.rollback()
    sent = moves.transfer(session, from_location_id=warehouse.id, to_location_id=store.id,
                          lines=[StockLine(shirt.id, 3)], actor="t", reason="restock")
    assert sent.status is TransferStatus.in_transit
    assert level(session, shirt.id, store.id) == (0, 0)
    moves.receive_transfer(session, transfer_id=sent.id, actor="t")
    with pytest.raises(Conflict):
        moves.receive_transfer(session, transfer_id=sent.id, actor="t")
    session.rollback()
    assert level(session, shirt.id, store.id) == (3, 0)
    assert [m.kind for m in service.movements_of(session, reference=f"transfer:{sent.id}")] == [
        MovementKind.transfer_out, MovementKind.transfer_in]
    both = moves.transfer(session, from_location_id=store.id, to_location_id=warehouse.id,
                          lines=[StockLine(shirt.id, 1)], actor="t", received=True)
    assert both.status is TransferStatus.received
    assert level(session, shirt.id, warehouse.id) == (6, 4)
    assert_consistent(session)


def test_store_staff_move_only_their_store_stock(session: Session) -> None:
    from tests.factories import make_store

    shirt, = make_variants(session)
    mine_store, other_store = make_store(session), make_store(session)
    mine = make_location(session, store_id=mine_store.id)
    other = make_location(session, store_id=other_store.id)
    moves.receive(session, location_id=mine.id, lines=[StockLine(shirt.id, 1)], actor="t",
                  scope_store_id=mine_store.id)
    with pytest.raises(PermissionDenied):
        moves.receive(session, location_id=other.id, lines=[StockLine(shirt.id, 1)], actor="t",
                      scope_store_id=mine_store.id)
    session.rollback()
    assert locations.location_of_store(session, store_id=mine_store.id).id == mine.id
    with pytest.raises(NotFound):
        moves.receive(session, location_id=mine.id, lines=[StockLine(999_999, 1)], actor="t")
    session.rollback()
    assert_consistent(session)


@given(wanted=st.dictionaries(st.integers(1, 4), st.integers(1, 9), min_size=1, max_size=4),
       available=st.dictionaries(st.tuples(st.integers(1, 4), st.integers(1, 3)), st.integers(-2, 9)))
def test_allocation_never_takes_more_than_a_location_has(wanted: dict[int, int],
                                                         available: dict[tuple[int, int], int]) -> None:
    order = [3, 1, 2]
    plan, short = allocate(wanted, order, available)
    for (variant_id, location_id), quantity in plan.items():
        assert 0 < quantity <= available.get((variant_id, location_id), 0)
    for variant_id, quantity in wanted.items():
        total = sum(max(available.get((variant_id, location_id), 0), 0) for location_id in order)
        if variant_id in short:
            assert short[variant_id] == total < quantity
        else:
            assert sum(q for (v, _loc), q in plan.items() if v == variant_id) == quantity
    assert not short or all(v not in short for v, _loc in plan)
