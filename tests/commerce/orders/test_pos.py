"""Sales at a store's till: scanned barcodes or SKUs priced for the store, paid on the spot (cash with change,
card, stored value), sold from the store's shelf at once; exchanges at the till."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.commerce.orders.support import (
    LAN,
    barcode_of,
    level,
    make_shop,
    profile_of,
    stored_value,
    top_up,
    topics,
)
from xuyen.commerce.orders import service
from xuyen.commerce.orders.building import Customer, LineIn, PaymentIn
from xuyen.commerce.orders.models import Fulfilment, OrderStatus, PaymentKind, PaymentMethod, PaymentStatus
from xuyen.commerce.orders.records import lines_of, payments_of
from xuyen.commerce.orders.returns import ReturnLineIn
from xuyen.errors import NotFound

M = PaymentMethod


def test_a_walk_in_sale_paid_in_cash_is_sold_from_the_store_at_once(session: Session) -> None:
    shop = make_shop(session)
    order = service.pos_sale(session, store_id=shop.hanoi_store, actor="Thu ngân HN",
                             lines=[LineIn(barcode_of(session, shop.variants["AO-DEN-M"]), 1), LineIn("sach-1", 1)],
                             payments=[PaymentIn(M.cash, 500_000)])
    assert order.number == f"POS-{order.id:06d}"
    assert (order.status, order.fulfilment, order.location_id) == (OrderStatus.completed, Fulfilment.counter,
                                                                   shop.hanoi)
    assert order.total == 319_000 and order.profile_id is None
    (cash,) = payments_of(session, order.id)
    assert (cash.amount, cash.status, cash.details) == (319_000, PaymentStatus.paid,
                                                        {"tendered": 500_000, "change": 181_000})
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (2, 0)
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)
    assert topics(session, order_id=order.id) == ["order.placed", "order.paid", "order.completed"]


def test_a_member_pays_with_stored_value_and_card(session: Session) -> None:
    shop = make_shop(session)
    profile_id = profile_of(session, LAN)
    top_up(session, profile_id=profile_id, amount=100_000)
    order = service.pos_sale(session, store_id=shop.hanoi_store, actor="Thu ngân HN", customer=LAN,
                             lines=[LineIn("SOMI-M", 1)],
                             payments=[PaymentIn(M.stored_value, 100_000), PaymentIn(M.card, 0, "POS-TID-1")])
    assert order.profile_id == profile_id
    assert stored_value(session, profile_id=profile_id) == 0
    assert [(p.method, p.amount, p.status) for p in payments_of(session, order.id)] == [
        (M.stored_value, 100_000, PaymentStatus.paid), (M.card, 249_000, PaymentStatus.paid)]


def test_an_unknown_code_or_an_empty_shelf_sells_nothing(session: Session) -> None:
    shop = make_shop(session, hanoi_stock=0)
    with pytest.raises(NotFound) as unknown:
        service.pos_sale(session, store_id=shop.hanoi_store, actor="HN", lines=[LineIn("0000000000000", 1)],
                         payments=[PaymentIn(M.cash)])
    assert unknown.value.code == "variant_not_found"
    session.rollback()
    with pytest.raises(Exception) as short:
        service.pos_sale(session, store_id=shop.hanoi_store, actor="HN", lines=[LineIn("SOMI-M", 1)],
                         payments=[PaymentIn(M.cash)])
    assert getattr(short.value, "code", "") == "out_of_stock"
    session.rollback()
    assert service.list_orders(session)[1] == 0


def test_an_exchange_at_the_till_pays_the_new_goods_with_the_returned_ones(session: Session) -> None:
    shop = make_shop(session)
    bought = service.pos_sale(session, store_id=shop.hanoi_store, actor="HN", customer=Customer(phone="0987654321"),
                              lines=[LineIn("SOMI-M", 1)], payments=[PaymentIn(M.cash)])
    (line,) = lines_of(session, bought.id)
    returned, new_order = service.create_exchange(
        session, order_id=bought.id, lines=[ReturnLineIn(line.id, 1)], location_id=shop.hanoi,
        new_lines=[LineIn("AO-DEN-M", 2)], payments=[PaymentIn(M.cash)], actor="HN")
    assert returned.amount == 349_000 and returned.exchange_order_id == new_order.id
    assert [(p.method, p.amount) for p in payments_of(session, new_order.id)] == [(M.exchange, 349_000),
                                                                                  (M.cash, 49_000)]
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.hanoi) == (3, 0)
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (1, 0)
    cheaper_line = lines_of(session, new_order.id)[0]
    _back, cheaper = service.create_exchange(
        session, order_id=new_order.id, lines=[ReturnLineIn(cheaper_line.id, 2)], location_id=shop.hanoi,
        new_lines=[LineIn("SACH-1", 1)], payments=[], actor="HN")
    refunds = [p for p in payments_of(session, new_order.id) if p.kind is PaymentKind.refund]
    assert cheaper.total == 120_000 and sum(p.amount for p in refunds) == 398_000 - 120_000


def test_the_till_api_refuses_a_store_it_does_not_know(agent: Browser, session: Session) -> None:
    make_shop(session)
    body = {"store_id": 999_999, "lines": [{"sku": "SOMI-M", "quantity": 1}], "payments": [{"method": "cash"}]}
    assert_problem(agent.request("POST", "/pos/sales", json=body), 404, "store_location_not_found")
