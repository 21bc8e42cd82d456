"""Order services: checkout on the web and in chat, payment confirmation, fulfilment moves, cancellation,
expiry of unpaid orders, and reading orders. The till (``pos``), returns (``returns``) and marketplace orders
(``marketplace``) have modules of their own; their public functions are re-exported here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce import journal
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import lifecycle, parts
from xuyen.commerce.orders.building import (
    Customer,
    Draft,
    LineIn,
    PaymentIn,
    check_coupons,
    check_shipping_fee,
    merged_lines,
    new_order,
    planned_payments,
    take_payments,
    wants_of,
)
from xuyen.commerce.orders.marketplace import upsert_external_order
from xuyen.commerce.orders.models import (
    Fulfilment,
    Order,
    OrderLine,
    OrderReturn,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    ReturnLine,
    StatusChange,
)
from xuyen.commerce.orders.pos import pos_sale
from xuyen.commerce.orders.records import journal_event, lines_of, payments_of, reference
from xuyen.commerce.orders.returns import create_exchange, create_return, mark_refund_paid
from xuyen.commerce.orders.states import check_move
from xuyen.errors import Conflict, NotFound, ValidationFailed

__all__ = [
    "Customer", "LineIn", "PaymentIn", "cancel_order", "confirm_payment", "create_chat_order", "create_exchange",
    "create_return", "expire_unpaid", "get_order", "get_order_by_number", "list_orders", "mark_refund_paid",
    "move_order", "order_detail", "pos_sale", "start_checkout", "upsert_external_order",
]

DEFAULT_HOLD = timedelta(minutes=30)
MAX_HOLD = timedelta(days=3)
STAFF_MOVES = frozenset({OrderStatus.fulfilling, OrderStatus.ready_for_pickup, OrderStatus.shipped,
                         OrderStatus.completed})


def get_order(session: Session, *, order_id: int) -> Order:
    """The order with ``order_id``; NotFound ``order_not_found`` otherwise."""
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"There is no order {order_id}.", code="order_not_found")
    return order


def get_order_by_number(session: Session, *, number: str) -> Order:
    """The order with this number (``WEB-000123``), any case."""
    order = session.scalar(select(Order).where(Order.number == number.strip().upper()))
    if order is None:
        raise NotFound(f"There is no order numbered {number!r}.", code="order_not_found")
    return order


def _locked(session: Session, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise NotFound(f"There is no order {order_id}.", code="order_not_found")
    session.refresh(order)
    return order


@dataclass(frozen=True)
class OrderDetail:
    """An order with everything shown on its page."""

    order: Order
    lines: list[OrderLine]
    payments: list[Payment]
    history: list[StatusChange]
    returns: list[tuple[OrderReturn, list[ReturnLine]]]


def order_detail(session: Session, *, order_id: int) -> OrderDetail:
    """The order with its lines, payments and refunds, status history and returns."""
    order = get_order(session, order_id=order_id)
    history = list(session.scalars(select(StatusChange).where(StatusChange.order_id == order_id)
                                   .order_by(StatusChange.id)))
    returns = list(session.scalars(select(OrderReturn).where(OrderReturn.order_id == order_id)
                                   .order_by(OrderReturn.id)))
    return OrderDetail(order=order, lines=lines_of(session, order_id), payments=payments_of(session, order_id),
                       history=history, returns=[(r, list(session.scalars(
                           select(ReturnLine).where(ReturnLine.return_id == r.id).order_by(ReturnLine.id))))
                           for r in returns])


def list_orders(session: Session, *, channel: SalesChannel | None = None, status: OrderStatus | None = None,
                store_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
                profile_ids: Sequence[int] | None = None, needs_attention: bool | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[Order], int]:
    """Orders matching the filters, newest first, one page of them, and how many match in all."""
    conditions: list[Any] = []
    if channel is not None:
        conditions.append(Order.channel == channel)
    if status is not None:
        conditions.append(Order.status == status)
    if store_id is not None:
        conditions.append(Order.store_id == store_id)
    if since is not None:
        conditions.append(Order.created_at >= since)
    if until is not None:
        conditions.append(Order.created_at < until)
    if profile_ids is not None:
        conditions.append(Order.profile_id.in_(list(profile_ids)))
    if needs_attention is not None:
        conditions.append(Order.needs_attention.is_(needs_attention))
    total = session.scalar(select(func.count()).select_from(Order).where(*conditions)) or 0
    rows = session.scalars(select(Order).where(*conditions).order_by(Order.created_at.desc(), Order.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), int(total)


def checkout(session: Session, draft: Draft, *, lines: Sequence[LineIn], payments: Sequence[PaymentIn],
              coupon_codes: Sequence[str], near: tuple[float, float] | None, hold: timedelta) -> Order:
    """Quote, write, reserve and take the payments of a new order as of ``draft.at`` (helper: no commit)."""
    check_shipping_fee(draft.shipping_fee)
    if not timedelta(minutes=1) <= hold <= MAX_HOLD:
        raise ValidationFailed("Stock can be held between a minute and three days.", code="invalid_hold")
    asked = merged_lines(lines)
    if draft.fulfilment is Fulfilment.pickup:
        if draft.store_id is None:
            raise ValidationFailed("A pickup order needs the store the customer collects it from.",
                                   code="pickup_store_required")
        location = parts.location_of_store(session, store_id=draft.store_id)
        if not getattr(location, "pickup", False):
            raise ValidationFailed(f"Store {draft.store_id} does not hand over pickup orders; choose another.",
                                   code="no_pickup_here")
        draft.location_id = int(location.id)
    now = draft.at
    quoted = parts.quote(session, channel=draft.channel, lines=asked, store_id=draft.store_id,
                         profile_id=draft.customer.profile_id, coupon_codes=list(coupon_codes), at=now)
    coupons = check_coupons(quoted)
    total = int(quoted.total) + draft.shipping_fee
    planned = planned_payments(payments, total=total)
    waits = any(p.method.is_online for p in planned)
    status = OrderStatus.pending_payment if waits else OrderStatus.placed
    order = new_order(session, draft, status=status, quoted=quoted, coupon_codes=coupons)
    order.expires_at = now + hold if waits else None
    journal_event(session, order, event=journal.CHECKOUT_STARTED, key="checkout", at=now)
    parts.reserve(session, reference=reference(order), wants=wants_of(lines_of(session, order.id)),
                  channel=draft.channel, actor=draft.actor, expires_at=order.expires_at,
                  location_id=draft.location_id, near=near)
    if draft.location_id is None:
        order.location_id = parts.held_at(session, reference=reference(order))
    parts.redeem_coupons(session, codes=coupons, profile_id=order.profile_id, reference=reference(order), at=now)
    take_payments(session, order, planned, actor=draft.actor, at=now)
    if status is OrderStatus.placed:
        lifecycle.announce_placed(session, order, at=now)
    return order


def start_checkout(session: Session, *, channel: SalesChannel = SalesChannel.web, lines: Sequence[LineIn],
                   customer: Customer, payments: Sequence[PaymentIn], actor: str,
                   fulfilment: Fulfilment = Fulfilment.ship, pickup_store_id: int | None = None,
                   shipping_address: dict[str, Any] | None = None, shipping_fee: int = 0,
                   coupon_codes: Sequence[str] = (), near: tuple[float, float] | None = None,
                   hold: timedelta = DEFAULT_HOLD, note: str = "") -> Order:
    """Check out a web or app cart: quote it, hold the stock, and wait for the payment (or place it at once
    when paid on delivery or from the customer's balance)."""
    if channel not in (SalesChannel.web, SalesChannel.app):
        raise ValidationFailed("Checkout is for the website and the app; the till and chat have their own.",
                               code="invalid_channel")
    if fulfilment is Fulfilment.counter:
        raise ValidationFailed("A web order is shipped or picked up.", code="invalid_fulfilment")
    if not customer.all_identifiers():
        raise ValidationFailed("Give the customer's phone or e-mail so they can be told about the order.",
                               code="customer_required")
    draft = Draft(channel=channel, customer=customer, actor=actor, fulfilment=fulfilment, store_id=pickup_store_id,
                  shipping_address=shipping_address or {}, shipping_fee=shipping_fee, note=note)
    order = checkout(session, draft, lines=lines, payments=payments, coupon_codes=coupon_codes, near=near,
                      hold=hold)
    session.commit()
    return order


def _conversation_customer(session: Session, conversation_id: int, customer: Customer) -> tuple[Customer, int]:
    """The conversation's customer, with the identifiers that find their profile (read through the inbox and
    identity services)."""
    from xuyen.identity.service import get_profile_view
    from xuyen.inbox.service import get_live_conversation

    conversation = get_live_conversation(session, conversation_id=conversation_id)
    view = get_profile_view(session, profile_id=conversation.profile_id)
    known = [(i.type, i.value, i.scope or None) for i in view.identifiers][:1]
    return Customer(name=customer.name, phone=customer.phone, email=customer.email,
                    identifiers=[*known, *customer.identifiers], profile_id=view.profile.id), view.profile.id


def chat_draft(session: Session, *, conversation_id: int, actor: str, customer: Customer = Customer(),
               fulfilment: Fulfilment = Fulfilment.ship, pickup_store_id: int | None = None,
               shipping_address: dict[str, Any] | None = None, shipping_fee: int = 0, note: str = "",
               at: datetime | None = None) -> Draft:
    """The draft of an order taken in a conversation, for the conversation's customer (helper: reads only)."""
    if fulfilment is Fulfilment.counter:
        raise ValidationFailed("A chat order is shipped or picked up.", code="invalid_fulfilment")
    who, _profile_id = _conversation_customer(session, conversation_id, customer)
    return Draft(channel=SalesChannel.chat, customer=who, actor=actor, fulfilment=fulfilment,
                 store_id=pickup_store_id, conversation_id=conversation_id, shipping_address=shipping_address or {},
                 shipping_fee=shipping_fee, note=note, at=at or utcnow())


def create_chat_order(session: Session, *, conversation_id: int, lines: Sequence[LineIn], payments: Sequence[PaymentIn],
                      actor: str, customer: Customer = Customer(), fulfilment: Fulfilment = Fulfilment.ship,
                      pickup_store_id: int | None = None, shipping_address: dict[str, Any] | None = None,
                      shipping_fee: int = 0, coupon_codes: Sequence[str] = (),
                      hold: timedelta = timedelta(hours=24), note: str = "") -> Order:
    """An agent takes an order in a conversation, for the conversation's customer."""
    draft = chat_draft(session, conversation_id=conversation_id, actor=actor, customer=customer,
                       fulfilment=fulfilment, pickup_store_id=pickup_store_id, shipping_address=shipping_address,
                       shipping_fee=shipping_fee, note=note)
    order = checkout(session, draft, lines=lines, payments=payments, coupon_codes=coupon_codes, near=None,
                     hold=hold)
    session.commit()
    return order


def confirm_payment(session: Session, *, order_id: int, provider_reference: str, actor: str,
                    amount: int | None = None, payment_id: int | None = None) -> Order:
    """A waiting payment is confirmed (by the gateway, or by staff who saw the transfer); a pending order whose
    payments are all in is placed. Confirming the same payment again changes nothing."""
    order = _locked(session, order_id)
    if order.status is OrderStatus.cancelled:
        raise Conflict(f"Order {order.number} was cancelled before its payment came in; refund the customer.",
                       code="order_cancelled")
    payment = _waiting_payment(session, order, payment_id=payment_id)
    if payment is None:
        session.rollback()
        return order
    if amount is not None and amount != payment.amount:
        raise ValidationFailed(f"The payment is {payment.amount:,} đồng, not {amount:,} đồng; check the transfer.",
                               code="amount_mismatch", details={"expected": payment.amount, "given": amount})
    lifecycle.settle_payment(session, order, payment, provider_reference=provider_reference, actor=actor)
    session.commit()
    return order


def _waiting_payment(session: Session, order: Order, *, payment_id: int | None) -> Payment | None:
    payments = [p for p in payments_of(session, order.id) if p.kind is PaymentKind.payment]
    if payment_id is not None:
        chosen = next((p for p in payments if p.id == payment_id), None)
        if chosen is None:
            raise NotFound(f"Order {order.number} has no payment {payment_id}.", code="payment_not_found")
        return chosen if chosen.status is PaymentStatus.pending else None
    waiting = [p for p in payments if p.status is PaymentStatus.pending and p.method.is_online]
    if not waiting:
        return None
    return waiting[0]


def move_order(session: Session, *, order_id: int, status: OrderStatus, actor: str, note: str = "") -> Order:
    """Staff move an order along its fulfilment; a move the state machine forbids is refused (409)."""
    if status not in STAFF_MOVES:
        raise ValidationFailed(f"Staff can move an order to {', '.join(sorted(STAFF_MOVES))}; to cancel it, "
                               "cancel it.", code="invalid_status")
    order = _locked(session, order_id)
    if order.channel.is_marketplace:
        raise Conflict(f"Order {order.number} follows {order.channel.value}: its status comes from the "
                       "marketplace.", code="marketplace_order")
    if status is OrderStatus.ready_for_pickup and order.fulfilment is not Fulfilment.pickup:
        raise Conflict(f"Order {order.number} is shipped, not picked up.", code="not_a_pickup")
    if status is OrderStatus.shipped and order.fulfilment is Fulfilment.pickup:
        raise Conflict(f"Order {order.number} is picked up in store, not shipped.", code="not_shipped")
    lifecycle.advance(session, order, status=status, actor=actor, note=note)
    session.commit()
    return order


def cancel_order(session: Session, *, order_id: int, actor: str, reason: str) -> Order:
    """Cancel an order not yet shipped: its stock and coupons are let go and what was paid is given back."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise ValidationFailed("Say why the order is cancelled (up to 500 characters).", code="reason_required")
    order = _locked(session, order_id)
    check_move(order.status, OrderStatus.cancelled, number=order.number or str(order.id))
    lifecycle.cancel(session, order, actor=actor, reason=reason)
    session.commit()
    return order


def expire_unpaid(session: Session, *, now: datetime | None = None) -> int:
    """Cancel the orders whose payment did not come in while their stock was held; how many were."""
    expired = lifecycle.expired_orders(session, now=now or utcnow())
    for order in expired:
        lifecycle.cancel(session, order, actor=lifecycle.SYSTEM, reason="payment not received in time")
    session.commit()
    return len(expired)
