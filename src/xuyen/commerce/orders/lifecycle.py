"""What happens to stock, coupons, payments, the outbox and the event log when an order moves. Helpers: no
commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce import journal
from xuyen.commerce.orders import parts
from xuyen.commerce.orders.building import loyalty_account, wants_of
from xuyen.commerce.orders.models import (
    Fulfilment,
    Order,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from xuyen.commerce.orders.records import (
    CANCELLED,
    COMPLETED,
    PAID,
    PLACED,
    emit,
    flag,
    journal_event,
    lines_of,
    paid_amount,
    payments_of,
    record_status,
    reference,
)
from xuyen.commerce.orders.states import HOLDS_STOCK
from xuyen.errors import Conflict

SYSTEM = "system"


def announce_placed(session: Session, order: Order, *, at: datetime) -> None:
    """Tell the outbox and the event log that the customer placed the order (and paid it, when they have)."""
    emit(session, order, topic=PLACED, at=at)
    journal_event(session, order, event=journal.ORDER_COMPLETED, key="placed", at=at)
    mark_paid_if_settled(session, order, at=at)


def mark_paid_if_settled(session: Session, order: Order, *, at: datetime) -> bool:
    """Once the payments received cover the total, note it and emit ``order.paid`` (once)."""
    if order.paid_at is not None or paid_amount(session, order.id) < order.total:
        return False
    order.paid_at = at
    emit(session, order, topic=PAID, at=at)
    return True


def settle_payment(session: Session, order: Order, payment: Payment, *, provider_reference: str,
                   actor: str, at: datetime | None = None) -> None:
    """A waiting payment came in: it is paid, and a pending order whose online payments are all in is placed."""
    when = at or utcnow()
    payment.status, payment.updated_at = PaymentStatus.paid, when
    payment.provider_reference = provider_reference or payment.provider_reference
    session.flush()
    still_waiting = any(p.kind is PaymentKind.payment and p.status is PaymentStatus.pending and p.method.is_online
                        for p in payments_of(session, order.id))
    if order.status is OrderStatus.pending_payment and not still_waiting:
        place(session, order, actor=actor, note=f"payment {provider_reference}".strip(), at=when)
    else:
        mark_paid_if_settled(session, order, at=when)


def place(session: Session, order: Order, *, actor: str, note: str = "", at: datetime | None = None) -> None:
    """A pending order's payment is confirmed: it is placed and its stock is held without expiry."""
    when = at or utcnow()
    record_status(session, order, status=OrderStatus.placed, actor=actor, note=note, at=when)
    if order.expires_at is not None:
        hold_until_shipped(session, order, actor=actor)
    order.expires_at = None
    announce_placed(session, order, at=when)


def hold_until_shipped(session: Session, order: Order, *, actor: str) -> None:
    """Hold the order's stock with no expiry from now on: the hold made while the payment was awaited lasts (or,
    when it had already run out, the stock is taken again); a paid order whose stock is gone meanwhile is kept
    and flagged."""
    if parts.keep_held(session, reference=reference(order)):
        return
    location_id = order.location_id if order.fulfilment is Fulfilment.pickup else None
    try:
        with session.begin_nested():
            parts.reserve(session, reference=reference(order), wants=wants_of(lines_of(session, order.id)),
                          channel=order.channel, actor=actor, expires_at=None, location_id=location_id)
    except Conflict as error:
        if not parts.is_out_of_stock(error):
            raise
        flag(order, f"Paid after its stock hold ran out, and the stock is gone: {error.message}")


def advance(session: Session, order: Order, *, status: OrderStatus, actor: str, note: str = "",
            at: datetime | None = None) -> None:
    """Move the order along its fulfilment (fulfilling, ready for pickup, shipped, completed)."""
    when = at or utcnow()
    before = order.status
    record_status(session, order, status=status, actor=actor, note=note, at=when)
    if status is OrderStatus.shipped or (status is OrderStatus.completed and before in HOLDS_STOCK):
        parts.fulfil(session, reference=reference(order), actor=actor)
    if status is OrderStatus.completed:
        complete(session, order, at=when)
    else:
        journal_event(session, order, event=journal.ORDER_UPDATED, key=status.value, at=when)


def complete(session: Session, order: Order, *, at: datetime) -> None:
    """The goods reached the customer: cash on delivery counts as collected; ``order.completed`` goes out."""
    for payment in payments_of(session, order.id):
        if payment.kind is PaymentKind.payment and payment.method is PaymentMethod.cod \
                and payment.status is PaymentStatus.pending:
            payment.status, payment.updated_at = PaymentStatus.paid, at
    session.flush()
    mark_paid_if_settled(session, order, at=at)
    emit(session, order, topic=COMPLETED, at=at)
    journal_event(session, order, event=journal.ORDER_UPDATED, key="completed", at=at)


def cancel(session: Session, order: Order, *, actor: str, reason: str, at: datetime | None = None) -> None:
    """Cancel the order: its stock and coupons are let go, what was paid is given back."""
    when = at or utcnow()
    record_status(session, order, status=OrderStatus.cancelled, actor=actor, note=reason, at=when)
    order.cancel_reason = reason
    order.expires_at = None
    parts.release(session, reference=reference(order), actor=actor, reason=reason or "cancelled")
    if order.coupon_codes:
        parts.release_coupons(session, reference=reference(order))
    refund_payments(session, order, actor=actor, at=when)
    emit(session, order, topic=CANCELLED, at=when)
    journal_event(session, order, event=journal.ORDER_CANCELLED, key="cancelled", at=when)


def refund_payments(session: Session, order: Order, *, actor: str, at: datetime) -> None:
    """Give back every payment received: stored value and points at once, the rest as refunds to pay out;
    payments still waiting will not be taken."""
    for payment in payments_of(session, order.id):
        if payment.kind is not PaymentKind.payment:
            continue
        if payment.status is PaymentStatus.pending:
            payment.status, payment.updated_at = PaymentStatus.failed, at
            payment.details = {**payment.details, "reason": "order cancelled"}
            continue
        if payment.status not in (PaymentStatus.paid, PaymentStatus.authorised):
            continue
        add_refund(session, order, method=payment.method, amount=payment.amount, actor=actor,
                   key=f"cancel:{payment.id}", undo_spend=True, at=at)
        payment.status, payment.updated_at = PaymentStatus.refunded, at


def add_refund(session: Session, order: Order, *, method: PaymentMethod, amount: int, actor: str, key: str,
               return_id: int | None = None, undo_spend: bool = False, at: datetime | None = None) -> Payment:
    """Record money going back to the customer; stored value and points go back to their balance at once
    (``undo_spend``: under the order's own reference, so the ledger gives back what the order took)."""
    status = PaymentStatus.pending
    if method.is_loyalty and order.profile_id is not None:
        parts.refund(session, profile_id=order.profile_id, account=loyalty_account(method), amount=amount,
                     reference=reference(order) if undo_spend else f"{reference(order)}:{key}", actor=actor)
        status = PaymentStatus.paid
    refund = Payment(order_id=order.id, return_id=return_id, kind=PaymentKind.refund, method=method, amount=amount,
                     status=status, details={"key": key}, created_at=at or utcnow(), updated_at=at or utcnow())
    session.add(refund)
    session.flush()
    return refund


def expired_orders(session: Session, *, now: datetime, limit: int = 200) -> list[Order]:
    """Orders still waiting for their payment after their hold ran out, oldest first."""
    return list(session.scalars(select(Order).where(Order.status == OrderStatus.pending_payment,
                                                    Order.expires_at.is_not(None), Order.expires_at <= now)
                                .order_by(Order.expires_at).limit(limit)))
