"""Returns and exchanges at any location: goods come back where the customer brings them, restocked there or
written off, and the money goes back as it was paid (discounts allocated) or to the customer's stored value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce import journal
from xuyen.commerce.orders import parts
from xuyen.commerce.orders.building import Customer, LineIn, PaymentIn
from xuyen.commerce.orders.lifecycle import add_refund
from xuyen.commerce.orders.models import (
    Order,
    OrderLine,
    OrderReturn,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
    RefundTo,
    ReturnCondition,
    ReturnLine,
)
from xuyen.commerce.orders.records import RETURNED, EventLine, emit, journal_event, lines_of, payments_of
from xuyen.commerce.stock.models import Location
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

RETURNABLE = frozenset({OrderStatus.shipped, OrderStatus.completed})


@dataclass(frozen=True)
class ReturnLineIn:
    """How many of one order line come back, and in what state."""

    order_line_id: int
    quantity: int
    condition: ReturnCondition = ReturnCondition.restock


def paid_for(line: OrderLine, units: int) -> int:
    """What the customer paid for the first ``units`` of a line (its discounts spread over its units, the
    rounding left on the last one, so that returning every unit gives back exactly the line's total)."""
    return line.total * units // line.quantity if line.quantity else 0


def _check_lines(session: Session, order: Order, lines: Sequence[ReturnLineIn]) -> list[tuple[OrderLine,
                                                                                              ReturnLineIn]]:
    if not lines:
        raise ValidationFailed("Name at least one line of the order and how many came back.", code="no_lines")
    own = {line.id: line for line in lines_of(session, order.id)}
    seen: set[int] = set()
    checked = []
    for asked in lines:
        line = own.get(asked.order_line_id)
        if line is None:
            raise ValidationFailed(f"Order {order.number} has no line {asked.order_line_id}.",
                                   code="unknown_order_line")
        if asked.order_line_id in seen:
            raise ValidationFailed(f"Line {asked.order_line_id} is named twice; give it once.",
                                   code="duplicate_line")
        seen.add(asked.order_line_id)
        left = line.quantity - line.returned_quantity
        if not 1 <= asked.quantity <= left:
            raise ValidationFailed(f"{line.sku}: {asked.quantity} cannot come back; {left} of {line.quantity} "
                                   "bought are not returned yet.", code="too_many_returned",
                                   details={"order_line_id": line.id, "returnable": left})
        checked.append((line, asked))
    return checked


def _location(session: Session, location_id: int) -> Location:
    location = parts.get_location(session, location_id=location_id)
    if not location.is_active:
        raise NotFound(f"There is no active stock location {location_id}.", code="location_not_found")
    return location


def record_return(session: Session, order: Order, *, lines: Sequence[ReturnLineIn], location_id: int | None,
                  actor: str, reason: str, refund_to: RefundTo | None, at: datetime | None = None) -> OrderReturn:
    """Take goods back (helper: no commit): restock them where they came back, and refund them unless
    ``refund_to`` is None (an exchange settles the money itself)."""
    if order.status not in RETURNABLE:
        raise Conflict(f"Order {order.number} is {order.status.value}: only shipped or completed orders take "
                       "returns (cancel it instead).", code="not_returnable")
    checked = _check_lines(session, order, lines)
    if location_id is not None:
        _location(session, location_id)
    returned = OrderReturn(order_id=order.id, location_id=location_id, refund_to=refund_to or RefundTo.original,
                           reason=reason, actor=actor, created_at=at or utcnow())
    session.add(returned)
    session.flush()
    returned.number = f"RET-{returned.id:06d}"
    event_lines = []
    for line, asked in checked:
        amount = paid_for(line, line.returned_quantity + asked.quantity) - paid_for(line, line.returned_quantity)
        line.returned_quantity += asked.quantity
        session.add(ReturnLine(return_id=returned.id, order_line_id=line.id, quantity=asked.quantity,
                               amount=amount, condition=asked.condition))
        event_lines.append(EventLine(variant_id=line.variant_id, product_id=line.product_id,
                                     category_id=line.category_id, sku=line.sku, name=line.name,
                                     quantity=asked.quantity, amount=amount))
    returned.amount = sum(line.amount for line in event_lines)
    _restock(session, order, returned, checked, actor=actor)
    if refund_to is not None:
        refund(session, order, returned, amount=returned.amount, refund_to=refund_to, actor=actor, at=at)
    now = at or utcnow()
    emit(session, order, topic=RETURNED, at=now, lines=event_lines, total=returned.amount,
         extra={"return_id": returned.id})
    journal_event(session, order, event=journal.ORDER_REFUNDED, key=f"return:{returned.id}", at=now,
                  lines=event_lines, total=returned.amount)
    session.flush()
    return returned


def _restock(session: Session, order: Order, returned: OrderReturn,
             checked: Sequence[tuple[OrderLine, ReturnLineIn]], *, actor: str) -> None:
    wants = [parts.Want(variant_id=line.variant_id, quantity=asked.quantity) for line, asked in checked
             if asked.condition is ReturnCondition.restock and line.variant_id is not None]
    if wants and returned.location_id is None:
        raise ValidationFailed("Say at which location the goods came back, so they go back on its shelf.",
                               code="location_required")
    if wants and returned.location_id is not None:
        parts.return_to_stock(session, reference=returned.number or f"return:{returned.id}", wants=wants,
                              location_id=returned.location_id, actor=actor,
                              reason=f"return of order {order.number}")


def refund(session: Session, order: Order, returned: OrderReturn, *, amount: int, refund_to: RefundTo,
           actor: str, at: datetime | None = None) -> list[Payment]:
    """Give ``amount`` back: to stored value, or over the order's payments, the latest first (helper)."""
    if amount <= 0:
        return []
    key = f"return:{returned.id}"
    if refund_to is RefundTo.stored_value:
        if order.profile_id is None:
            raise Conflict("A refund to stored value needs a known customer; refund the original payment instead.",
                           code="customer_required")
        return [add_refund(session, order, method=PaymentMethod.stored_value, amount=amount, actor=actor, key=key,
                           return_id=returned.id, at=at)]
    made = []
    left = amount
    for payment, room in reversed(_refundable(session, order)):
        share = min(room, left)
        if share <= 0:
            continue
        made.append(add_refund(session, order, method=payment.method, amount=share, actor=actor,
                               key=f"{key}:{payment.id}", return_id=returned.id, at=at))
        made[-1].details = {**made[-1].details, "payment_id": payment.id}
        left -= share
    if left > 0:  # paid less than the goods are worth (e.g. a marketplace voucher): the rest as the last method
        method = made[-1].method if made else PaymentMethod.cash
        made.append(add_refund(session, order, method=method, amount=left, actor=actor, key=f"{key}:rest",
                               return_id=returned.id, at=at))
    return made


def _refundable(session: Session, order: Order) -> list[tuple[Payment, int]]:
    """Each received payment with what can still go back on it."""
    payments = payments_of(session, order.id)
    received = [p for p in payments if p.kind is PaymentKind.payment
                and p.status in (PaymentStatus.paid, PaymentStatus.authorised)]
    refunded: dict[int, int] = {}
    for p in payments:
        if p.kind is PaymentKind.refund and p.details.get("payment_id") is not None:
            refunded[int(p.details["payment_id"])] = refunded.get(int(p.details["payment_id"]), 0) + p.amount
    return [(p, p.amount - refunded.get(p.id, 0)) for p in received]


def return_everything(session: Session, order: Order, *, actor: str, reason: str) -> OrderReturn | None:
    """The marketplace returned the whole order: what is not back yet comes back where it was held, and the
    platform refunds the buyer (helper)."""
    lines = [ReturnLineIn(order_line_id=line.id, quantity=line.quantity - line.returned_quantity)
             for line in lines_of(session, order.id) if line.quantity > line.returned_quantity]
    if not lines:
        return None
    returned = record_return(session, order, lines=lines, location_id=order.location_id, actor=actor, reason=reason,
                             refund_to=RefundTo.original)
    for payment in session.scalars(select(Payment).where(Payment.return_id == returned.id)):
        payment.status = PaymentStatus.paid
        payment.details = {**payment.details, "paid_by": order.channel.value}
    return returned


def check_scope(session: Session, *, location_id: int | None, scope_store_id: int | None) -> None:
    """Staff tied to a store take returns only at their store's location."""
    if scope_store_id is None:
        return
    if location_id is None or _location(session, location_id).store_id != scope_store_id:
        raise PermissionDenied("You work for another store: take returns at your own store.", code="other_store")


def create_return(session: Session, *, order_id: int, lines: Sequence[ReturnLineIn], location_id: int | None,
                  actor: str, reason: str = "", refund_to: RefundTo = RefundTo.original,
                  scope_store_id: int | None = None) -> OrderReturn:
    """Take goods of an order back at a location and refund them (partial returns welcome; never more than was
    bought); ``scope_store_id`` keeps a store's staff to their store."""
    check_scope(session, location_id=location_id, scope_store_id=scope_store_id)
    order = _locked_order(session, order_id)
    returned = record_return(session, order, lines=lines, location_id=location_id, actor=actor, reason=reason,
                             refund_to=refund_to)
    session.commit()
    return returned


def _locked_order(session: Session, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound(f"There is no order {order_id}.", code="order_not_found")
    session.refresh(order)
    return order


def create_exchange(session: Session, *, order_id: int, lines: Sequence[ReturnLineIn], location_id: int,
                    new_lines: Sequence[LineIn], payments: Sequence[PaymentIn], actor: str, reason: str = "",
                    refund_to: RefundTo = RefundTo.original,
                    scope_store_id: int | None = None) -> tuple[OrderReturn, Order]:
    """Swap goods at a store: a return, and a new sale at the same store paid first by what came back; the
    customer pays the difference (``payments``) or gets the surplus back (``refund_to``)."""
    from xuyen.commerce.orders.pos import sell_at_till

    check_scope(session, location_id=location_id, scope_store_id=scope_store_id)
    order = _locked_order(session, order_id)
    location = _location(session, location_id)
    if location.store_id is None:
        raise ValidationFailed("Exchanges happen in a store: choose a store's location.", code="store_required")
    returned = record_return(session, order, lines=lines, location_id=location_id, actor=actor, reason=reason,
                             refund_to=None)
    customer = Customer(name=order.contact_name, phone=order.contact_phone, email=order.contact_email,
                        identifiers=[(str(k), str(v), s) for k, v, s in order.identifiers],
                        profile_id=order.profile_id)
    new_order = sell_at_till(session, store_id=location.store_id, lines=new_lines, customer=customer, actor=actor,
                             payments=payments, credit=returned.amount, credit_reference=returned.number or "")
    surplus = returned.amount - new_order.total
    if surplus > 0:
        refund(session, order, returned, amount=surplus, refund_to=refund_to, actor=actor)
    returned.exchange_order_id = new_order.id
    session.commit()
    return returned, new_order


def mark_refund_paid(session: Session, *, payment_id: int, provider_reference: str, actor: str) -> Payment:
    """Record that a refund waiting to be paid out (cash, card, bank, e-wallet) was paid to the customer."""
    refund_row = session.get(Payment, payment_id)
    if refund_row is None or refund_row.kind is not PaymentKind.refund:
        raise NotFound(f"There is no refund {payment_id}.", code="refund_not_found")
    if refund_row.status is PaymentStatus.paid:
        return refund_row
    refund_row.status, refund_row.updated_at = PaymentStatus.paid, utcnow()
    refund_row.provider_reference = provider_reference
    refund_row.details = {**refund_row.details, "paid_by": actor}
    session.commit()
    return refund_row
