"""Returns at any location and refunds: goods come back where the customer brings them, damaged goods are not
restocked, money goes back as it was paid or to stored value, never more than was bought; cancellations give
stored value back; an exchange pays the new goods with the returned ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.commerce.orders.support import (
    LAN,
    level,
    make_shop,
    payload,
    profile_of,
    stored_value,
    top_up,
    topics,
)
from tests.factories import make_user
from xuyen.auth.models import Role, User
from xuyen.commerce.orders import service
from xuyen.commerce.orders.building import LineIn, PaymentIn
from xuyen.commerce.orders.models import OrderStatus, PaymentKind, PaymentMethod, PaymentStatus, RefundTo
from xuyen.commerce.orders.models import ReturnCondition as C
from xuyen.commerce.orders.records import lines_of, payments_of
from xuyen.commerce.orders.returns import ReturnLineIn
from xuyen.errors import Conflict, ValidationFailed
from xuyen.stores.models import Store

M = PaymentMethod


def _delivered(session: Session, *lines: LineIn, payments: list[PaymentIn] | None = None) -> int:
    order = service.start_checkout(session, lines=list(lines), customer=LAN, payments=payments or [PaymentIn(M.cod)],
                                   actor="web")
    service.move_order(session, order_id=order.id, status=OrderStatus.shipped, actor="kho")
    service.move_order(session, order_id=order.id, status=OrderStatus.completed, actor="giao hàng")
    return order.id


def test_an_online_order_returned_in_the_hanoi_store_goes_back_on_its_shelf(session: Session) -> None:
    shop = make_shop(session)
    order_id = _delivered(session, LineIn("AO-DEN-M", 2), LineIn("SOMI-M", 1))
    shirt, blouse = lines_of(session, order_id)
    returned = service.create_return(session, order_id=order_id, location_id=shop.hanoi, actor="Hà (HN)",
                                     lines=[ReturnLineIn(shirt.id, 1), ReturnLineIn(blouse.id, 1, C.damaged)],
                                     refund_to=RefundTo.stored_value, reason="không vừa")
    assert returned.amount == 199_000 + 349_000
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (4, 0)
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.hanoi) == (3, 0)
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (8, 0)
    order = service.get_order(session, order_id=order_id)
    assert order.profile_id is not None
    assert stored_value(session, profile_id=order.profile_id) == 548_000
    assert topics(session, order_id=order_id)[-1] == "order.returned"
    event = payload(session, "order.returned", order_id=order_id)
    assert event["return_id"] == returned.id and event["total"] == 548_000
    assert [(line["sku"], line["quantity"], line["amount"]) for line in event["lines"]] == [
        ("AO-DEN-M", 1, 199_000), ("SOMI-M", 1, 349_000)]


def test_never_more_comes_back_than_was_bought(session: Session) -> None:
    shop = make_shop(session)
    order_id = _delivered(session, LineIn("AO-DEN-M", 2))
    (line,) = lines_of(session, order_id)
    service.create_return(session, order_id=order_id, location_id=shop.warehouse, actor="kho",
                          lines=[ReturnLineIn(line.id, 1)])
    with pytest.raises(ValidationFailed) as refused:
        service.create_return(session, order_id=order_id, location_id=shop.warehouse, actor="kho",
                              lines=[ReturnLineIn(line.id, 2)])
    assert refused.value.code == "too_many_returned" and refused.value.details["returnable"] == 1
    session.rollback()
    service.create_return(session, order_id=order_id, location_id=shop.warehouse, actor="kho",
                          lines=[ReturnLineIn(line.id, 1)])
    refunds = [p for p in payments_of(session, order_id) if p.kind is PaymentKind.refund]
    assert [(p.method, p.amount, p.status) for p in refunds] == [(M.cod, 199_000, PaymentStatus.pending)] * 2
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)


def test_a_refund_to_be_paid_out_is_recorded_paid_once(session: Session) -> None:
    shop = make_shop(session)
    order_id = _delivered(session, LineIn("SACH-1", 1))
    (line,) = lines_of(session, order_id)
    service.create_return(session, order_id=order_id, location_id=shop.saigon, actor="SG",
                          lines=[ReturnLineIn(line.id, 1)])
    (refund,) = [p for p in payments_of(session, order_id) if p.kind is PaymentKind.refund]
    paid = service.mark_refund_paid(session, payment_id=refund.id, provider_reference="TM-01", actor="Quản lý")
    again = service.mark_refund_paid(session, payment_id=refund.id, provider_reference="TM-02", actor="Quản lý")
    assert paid.status is PaymentStatus.paid and again.provider_reference == "TM-01"


def test_an_order_not_delivered_takes_no_return(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SACH-1", 1)], customer=LAN,
                                   payments=[PaymentIn(M.cod)], actor="web")
    (line,) = lines_of(session, order.id)
    with pytest.raises(Conflict) as refused:
        service.create_return(session, order_id=order.id, location_id=shop.warehouse, actor="kho",
                              lines=[ReturnLineIn(line.id, 1)])
    assert refused.value.code == "not_returnable"


def test_stored_value_paid_comes_back_when_the_order_is_cancelled(session: Session) -> None:
    make_shop(session)
    profile_id = profile_of(session, LAN)
    top_up(session, profile_id=profile_id, amount=500_000)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN, actor="web",
                                   payments=[PaymentIn(M.stored_value, 300_000), PaymentIn(M.vnpay)])
    assert stored_value(session, profile_id=profile_id) == 200_000
    assert order.status is OrderStatus.pending_payment
    service.cancel_order(session, order_id=order.id, actor="Lan", reason="đặt nhầm")
    assert stored_value(session, profile_id=profile_id) == 500_000
    kinds = [(p.kind, p.method, p.status) for p in payments_of(session, order.id)]
    assert kinds == [(PaymentKind.payment, M.stored_value, PaymentStatus.refunded),
                     (PaymentKind.payment, M.vnpay, PaymentStatus.failed),
                     (PaymentKind.refund, M.stored_value, PaymentStatus.paid)]


def test_a_customer_short_of_stored_value_is_refused_and_nothing_is_written(session: Session) -> None:
    shop = make_shop(session)
    profile_id = profile_of(session, LAN)
    top_up(session, profile_id=profile_id, amount=100_000)
    with pytest.raises(Conflict) as refused:
        service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN, actor="web",
                               payments=[PaymentIn(M.stored_value)])
    assert refused.value.code == "insufficient_balance"
    session.rollback()
    assert service.list_orders(session)[1] == 0
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.warehouse) == (10, 0)
    assert stored_value(session, profile_id=profile_id) == 100_000


def test_store_staff_take_returns_only_in_their_store(session: Session,
                                                      browser_for: Callable[[User], Browser]) -> None:
    shop = make_shop(session)
    order_id = _delivered(session, LineIn("AO-DEN-M", 1))
    (line,) = lines_of(session, order_id)
    hanoi_store = session.get(Store, shop.hanoi_store)
    clerk = browser_for(make_user(session, role=Role.agent, store=hanoi_store))
    body = {"lines": [{"order_line_id": line.id, "quantity": 1}], "location_id": shop.saigon}
    assert_problem(clerk.request("POST", f"/orders/{order_id}/returns", json=body), 403, "other_store")
    taken = clerk.request("POST", f"/orders/{order_id}/returns", json={**body, "location_id": shop.hanoi})
    assert taken.status_code == 201, taken.text
    assert taken.json()["amount"] == 199_000 and taken.json()["location_id"] == shop.hanoi
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (4, 0)
