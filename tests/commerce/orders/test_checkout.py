"""Web and app checkout end to end: quoted, stock held (with an expiry while the payment is awaited), paid,
moved along, completed; unpaid orders expire; illegal moves are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from tests.commerce.orders.support import (
    LAN,
    journal_events,
    level,
    make_shop,
    payload,
    topics,
)
from xuyen.clock import utcnow
from xuyen.commerce.orders import service
from xuyen.commerce.orders.building import LineIn, PaymentIn
from xuyen.commerce.orders.models import Fulfilment, OrderStatus, PaymentMethod, PaymentStatus
from xuyen.commerce.orders.records import payments_of
from xuyen.commerce.stock import service as stock
from xuyen.errors import Conflict

M = PaymentMethod


def test_a_cash_on_delivery_order_is_placed_and_holds_warehouse_stock(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("AO-DEN-M", 2), LineIn("SACH-1", 1)], customer=LAN,
                                   payments=[PaymentIn(M.cod)], actor="web", shipping_fee=30_000,
                                   shipping_address={"address": "12 Lê Lợi, Quận 1"})
    assert order.number == f"WEB-{order.id:06d}"
    assert order.status is OrderStatus.placed and order.expires_at is None
    assert order.total == 2 * 199_000 + 120_000 + 30_000
    assert order.location_id == shop.warehouse
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 2)
    assert topics(session, order_id=order.id) == ["order.placed"]
    placed = payload(session, "order.placed", order_id=order.id)
    assert placed["profile_id"] == order.profile_id is not None
    assert [(line["sku"], line["quantity"], line["amount"]) for line in placed["lines"]] == [
        ("AO-DEN-M", 2, 398_000), ("SACH-1", 1, 120_000)]
    assert placed["payments"] == [{"method": "cod", "amount": order.total}]
    assert journal_events(session, number=order.number or "") == ["Checkout Started", "Order Completed"]


def test_an_online_payment_is_awaited_then_places_the_order_once(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN,
                                   payments=[PaymentIn(M.vnpay)], actor="web", hold=timedelta(minutes=15))
    assert order.status is OrderStatus.pending_payment and order.expires_at is not None
    assert topics(session, order_id=order.id) == []
    for _ in range(2):
        service.confirm_payment(session, order_id=order.id, provider_reference="VNP-14226112", actor="vnpay",
                                amount=349_000)
    order = service.get_order(session, order_id=order.id)
    assert order.status is OrderStatus.placed and order.paid_at is not None and order.expires_at is None
    assert topics(session, order_id=order.id) == ["order.placed", "order.paid"]
    assert [p.status for p in payments_of(session, order.id)] == [PaymentStatus.paid]
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.warehouse) == (10, 1)


def test_a_wrong_amount_does_not_confirm_the_payment(session: Session) -> None:
    make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 1)], customer=LAN,
                                   payments=[PaymentIn(M.momo)], actor="web")
    with pytest.raises(Exception) as refused:
        service.confirm_payment(session, order_id=order.id, provider_reference="MM1", actor="momo", amount=1_000)
    assert getattr(refused.value, "code", "") == "amount_mismatch"
    session.rollback()
    assert service.get_order(session, order_id=order.id).status is OrderStatus.pending_payment


def test_unpaid_orders_expire_and_let_their_stock_go(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("AO-DEN-M", 3)], customer=LAN,
                                   payments=[PaymentIn(M.zalopay)], actor="web", hold=timedelta(minutes=10))
    assert service.expire_unpaid(session, now=utcnow() + timedelta(minutes=5)) == 0
    assert service.expire_unpaid(session, now=utcnow() + timedelta(minutes=11)) == 1
    order = service.get_order(session, order_id=order.id)
    assert order.status is OrderStatus.cancelled
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)
    assert topics(session, order_id=order.id) == ["order.cancelled"]
    assert [p.status for p in payments_of(session, order.id)] == [PaymentStatus.failed]
    with pytest.raises(Conflict) as late:
        service.confirm_payment(session, order_id=order.id, provider_reference="ZP-late", actor="zalopay")
    assert late.value.code == "order_cancelled"


def test_a_pickup_order_is_held_in_the_chosen_store_and_handed_over(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("AO-DEN-M", 1)], customer=LAN,
                                   payments=[PaymentIn(M.cod)], actor="web", fulfilment=Fulfilment.pickup,
                                   pickup_store_id=shop.hanoi_store)
    assert order.location_id == shop.hanoi
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (3, 1)
    with pytest.raises(Conflict) as refused:
        service.move_order(session, order_id=order.id, status=OrderStatus.shipped, actor="staff")
    assert refused.value.code == "not_shipped"
    session.rollback()
    for status in (OrderStatus.fulfilling, OrderStatus.ready_for_pickup, OrderStatus.completed):
        service.move_order(session, order_id=order.id, status=status, actor="Hà (HN)")
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.hanoi) == (2, 0)
    order = service.get_order(session, order_id=order.id)
    assert order.paid_at is not None and order.completed_at is not None
    assert topics(session, order_id=order.id) == ["order.placed", "order.paid", "order.completed"]
    assert [p.status for p in payments_of(session, order.id)] == [PaymentStatus.paid]


def test_a_shipped_order_cannot_be_cancelled_and_completed_is_final(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 2)], customer=LAN,
                                   payments=[PaymentIn(M.cod)], actor="web")
    service.move_order(session, order_id=order.id, status=OrderStatus.shipped, actor="kho")
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.warehouse) == (8, 0)
    with pytest.raises(Conflict) as refused:
        service.cancel_order(session, order_id=order.id, actor="staff", reason="khách đổi ý")
    assert refused.value.code == "illegal_transition"
    session.rollback()
    service.move_order(session, order_id=order.id, status=OrderStatus.completed, actor="giao hàng")
    with pytest.raises(Conflict):
        service.move_order(session, order_id=order.id, status=OrderStatus.fulfilling, actor="staff")
    session.rollback()
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.warehouse) == (8, 0)


def test_cancelling_lets_the_stock_go(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("AO-DEN-M", 4)], customer=LAN,
                                   payments=[PaymentIn(M.cod)], actor="web")
    service.cancel_order(session, order_id=order.id, actor="Minh", reason="khách huỷ qua điện thoại")
    order = service.get_order(session, order_id=order.id)
    assert order.status is OrderStatus.cancelled and order.cancel_reason == "khách huỷ qua điện thoại"
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (10, 0)
    assert topics(session, order_id=order.id) == ["order.placed", "order.cancelled"]
    assert journal_events(session, number=order.number or "")[-1] == "Order Cancelled"


def test_a_paid_order_keeps_its_stock_after_the_payment_hold_would_have_run_out(session: Session) -> None:
    shop = make_shop(session)
    order = service.start_checkout(session, lines=[LineIn("SOMI-M", 2)], customer=LAN,
                                   payments=[PaymentIn(M.bank_transfer)], actor="web", hold=timedelta(minutes=10))
    service.confirm_payment(session, order_id=order.id, provider_reference="FT2632", actor="kế toán")
    stock.release_expired(session, now=utcnow() + timedelta(days=1))
    session.commit()
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.warehouse) == (10, 2)


def test_a_payment_confirmed_after_the_hold_ran_out_takes_the_stock_again_or_flags(session: Session) -> None:
    shop = make_shop(session, stock=2, hanoi_stock=0)
    late = service.start_checkout(session, lines=[LineIn("SOMI-M", 2)], customer=LAN,
                                  payments=[PaymentIn(M.bank_transfer)], actor="web", hold=timedelta(minutes=10))
    stock.release_expired(session, now=utcnow() + timedelta(minutes=11))
    session.commit()
    service.confirm_payment(session, order_id=late.id, provider_reference="FT1", actor="kế toán")
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.warehouse) == (2, 2)
    later = service.start_checkout(session, lines=[LineIn("SACH-1", 2)], customer=LAN,
                                   payments=[PaymentIn(M.bank_transfer)], actor="web", hold=timedelta(minutes=10))
    stock.release_expired(session, now=utcnow() + timedelta(minutes=11))
    session.commit()
    service.start_checkout(session, lines=[LineIn("SACH-1", 2)], customer=LAN, payments=[PaymentIn(M.cod)],
                           actor="web")
    service.confirm_payment(session, order_id=later.id, provider_reference="FT2", actor="kế toán")
    later = service.get_order(session, order_id=later.id)
    assert later.status is OrderStatus.placed and later.needs_attention
