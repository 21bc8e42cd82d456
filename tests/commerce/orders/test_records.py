"""What every order change writes: its number, its history, the outbox payload of the contract, and the
Segment e-commerce event on the customer's timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.commerce import journal
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    StatusChange,
)
from xuyen.commerce.orders.records import PLACED, assign_number, emit, journal_event, record_status
from xuyen.events.models import Event
from xuyen.outbox import OutboxEvent

WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def _order(session: Session) -> Order:
    order = Order(channel=SalesChannel.web, status=OrderStatus.pending_payment, total=380_000, subtotal=400_000,
                  discount_total=50_000, shipping_fee=30_000, vat_total=25_926, coupon_codes=["CHAO50"],
                  identifiers=[["phone", "0912 345 678", None]], contact_name="Nguyễn Thị Lan")
    session.add(order)
    assign_number(session, order)
    record_status(session, order, status=OrderStatus.pending_payment, actor="web", first=True)
    session.add(OrderLine(order_id=order.id, position=0, variant_id=None, product_id=7, category_id=3,
                          sku="AO-DEN-M", name="Áo thun Đen / M", quantity=2, list_price=200_000,
                          unit_price=175_000, discount=50_000, total=350_000, vat_rate="8", vat_amount=25_926,
                          net_amount=324_074))
    session.add(Payment(order_id=order.id, method=PaymentMethod.vnpay, amount=380_000,
                        status=PaymentStatus.pending))
    session.flush()
    return order


def test_an_order_is_numbered_by_its_channel(session: Session) -> None:
    order = _order(session)
    assert order.number == f"WEB-{order.id:06d}"


def test_each_move_is_kept_with_who_made_it(session: Session) -> None:
    order = _order(session)
    record_status(session, order, status=OrderStatus.placed, actor="vnpay", note="paid", at=WHEN)
    session.commit()
    moves = session.execute(select(StatusChange.from_status, StatusChange.to_status, StatusChange.actor)
                            .order_by(StatusChange.id)).all()
    assert [tuple(m) for m in moves] == [(None, "pending_payment", "web"), ("pending_payment", "placed", "vnpay")]
    assert order.placed_at == WHEN


def test_the_outbox_payload_is_the_contract(session: Session) -> None:
    order = _order(session)
    emit(session, order, topic=PLACED, at=WHEN)
    session.commit()
    event = session.scalars(select(OutboxEvent)).one()
    assert (event.topic, event.aggregate_type, event.aggregate_id) == ("order.placed", "order", str(order.id))
    assert event.payload == {
        "order_id": order.id, "number": order.number, "channel": "web", "profile_id": None, "total": 380_000,
        "lines": [{"variant_id": None, "product_id": 7, "category_id": 3, "sku": "AO-DEN-M", "quantity": 2,
                   "amount": 350_000}],
        "payments": [{"method": "vnpay", "amount": 380_000}], "at": WHEN.isoformat()}


def test_the_event_log_gets_the_segment_event_and_the_order_its_customer(session: Session) -> None:
    order = _order(session)
    journal_event(session, order, event=journal.ORDER_COMPLETED, key="placed", at=WHEN)
    journal_event(session, order, event=journal.ORDER_COMPLETED, key="placed", at=WHEN)
    session.commit()
    event = session.scalars(select(Event)).one()
    assert order.profile_id is not None and event.profile_id == order.profile_id
    assert event.event == "Order Completed"
    props = event.properties
    assert (props["order_id"], props["total"], props["shipping"], props["tax"], props["discount"]) == (
        order.number, 380_000, 30_000, 25_926, 50_000)
    assert props["revenue"] == 380_000 - 30_000 - 25_926
    assert (props["currency"], props["coupon"]) == ("VND", "CHAO50")
    assert props["products"] == [{"product_id": 7, "sku": "AO-DEN-M", "name": "Áo thun Đen / M",
                                  "price": 175_000, "quantity": 2, "category": 3}]
