"""The bookkeeping every order change shares: numbers, status moves with their history, outbox events and the
event-log entries on the customer's timeline. Everything here is a helper: no commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import outbox
from xuyen.clock import utcnow
from xuyen.commerce import journal
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentStatus,
    StatusChange,
)
from xuyen.commerce.orders.states import check_move

PREFIXES: dict[SalesChannel, str] = {
    SalesChannel.web: "WEB",
    SalesChannel.app: "APP",
    SalesChannel.pos: "POS",
    SalesChannel.chat: "CHAT",
    SalesChannel.shopee: "SHP",
    SalesChannel.lazada: "LZD",
    SalesChannel.tiktok_shop: "TTS",
}

PLACED = "order.placed"
PAID = "order.paid"
COMPLETED = "order.completed"
CANCELLED = "order.cancelled"
RETURNED = "order.returned"
AGGREGATE = "order"


def reference(order: Order) -> str:
    """The reference the order's stock, coupons and loyalty postings are made under."""
    return f"order:{order.id}"


def assign_number(session: Session, order: Order) -> str:
    """Give a new order its readable number, the channel's prefix and its id (``WEB-000123``)."""
    session.flush()
    order.number = f"{PREFIXES[order.channel]}-{order.id:06d}"
    return order.number


def record_status(session: Session, order: Order, *, status: OrderStatus, actor: str, note: str = "",
                  at: datetime | None = None, first: bool = False) -> None:
    """Move the order to ``status`` (refusing what the state machine forbids) and write the move in its history;
    ``first`` for the status a new order starts in."""
    when = at or utcnow()
    previous = None if first else order.status
    if previous is not None:
        check_move(previous, status, number=order.number or str(order.id))
    order.status = status
    order.updated_at = max(when, order.updated_at) if order.updated_at else when
    if status is OrderStatus.placed and order.placed_at is None:
        order.placed_at = when
    if status is OrderStatus.completed:
        order.completed_at = when
    if status is OrderStatus.cancelled:
        order.cancelled_at = when
    session.add(StatusChange(order_id=order.id, from_status=previous.value if previous else None,
                             to_status=status.value, actor=actor, note=note, at=when))


def flag(order: Order, reason: str) -> None:
    """Mark the order for a person to look at, and say why (reasons add up)."""
    order.needs_attention = True
    order.attention_reason = "\n".join(filter(None, [order.attention_reason, reason]))[:2000]


def lines_of(session: Session, order_id: int) -> list[OrderLine]:
    """The order's lines in order."""
    return list(session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)
                                .order_by(OrderLine.position, OrderLine.id)))


def payments_of(session: Session, order_id: int) -> list[Payment]:
    """The order's payments and refunds, oldest first."""
    return list(session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)))


def paid_amount(session: Session, order_id: int) -> int:
    """Money received for the order (paid payments), before refunds."""
    return sum(p.amount for p in payments_of(session, order_id)
               if p.kind is PaymentKind.payment and p.status in (PaymentStatus.paid, PaymentStatus.authorised))


@dataclass(frozen=True)
class EventLine:
    """A line as the outbox payload and the event log name it: what, how many, and what was paid for it."""

    variant_id: int | None
    product_id: int | None
    category_id: int | None
    sku: str
    name: str
    quantity: int
    amount: int

    def as_payload(self) -> dict[str, Any]:
        return {"variant_id": self.variant_id, "product_id": self.product_id, "category_id": self.category_id,
                "sku": self.sku, "quantity": self.quantity, "amount": self.amount}


def event_lines(lines: Sequence[OrderLine]) -> list[EventLine]:
    """Every line, whole."""
    return [EventLine(variant_id=line.variant_id, product_id=line.product_id, category_id=line.category_id,
                      sku=line.sku, name=line.name, quantity=line.quantity, amount=line.total) for line in lines]


def emit(session: Session, order: Order, *, topic: str, at: datetime, lines: Sequence[EventLine] | None = None,
         total: int | None = None, extra: dict[str, Any] | None = None) -> None:
    """Write one of the order topics to the outbox with the contract's payload."""
    chosen = event_lines(lines_of(session, order.id)) if lines is None else list(lines)
    payments = [{"method": p.method.value, "amount": p.amount} for p in payments_of(session, order.id)
                if p.kind is PaymentKind.payment and p.status is not PaymentStatus.failed]
    payload: dict[str, Any] = {
        "order_id": order.id, "number": order.number, "channel": order.channel.value, "profile_id": order.profile_id,
        "total": order.total if total is None else total, "lines": [line.as_payload() for line in chosen],
        "payments": payments, "at": at.isoformat(), **(extra or {}),
    }
    outbox.emit(session, topic=topic, aggregate_type=AGGREGATE, aggregate_id=order.id, payload=payload)


def identifiers_of(order: Order) -> list[tuple[str, str, str | None]]:
    """The customer's identifiers as the order was given them."""
    return [(str(kind), str(value), scope) for kind, value, scope in order.identifiers]


def segment_properties(session: Session, order: Order, *, lines: Sequence[EventLine] | None = None,
                       total: int | None = None) -> dict[str, Any]:
    """The Segment e-commerce properties of the order (or of some of its lines, for a refund)."""
    chosen = event_lines(lines_of(session, order.id)) if lines is None else list(lines)
    amount = order.total if total is None else total
    tax = order.vat_total if lines is None else 0
    return {
        "order_id": order.number, "checkout_id": str(order.id), "total": amount,
        "revenue": amount - (order.shipping_fee if lines is None else 0) - tax,
        "shipping": order.shipping_fee if lines is None else 0, "tax": tax,
        "discount": order.discount_total if lines is None else 0, "coupon": ",".join(order.coupon_codes),
        "currency": order.currency, "channel": order.channel.value,
        "products": [{"product_id": line.product_id, "sku": line.sku, "name": line.name,
                      "price": line.amount // line.quantity if line.quantity else 0, "quantity": line.quantity,
                      "category": line.category_id} for line in chosen],
    }


def journal_event(session: Session, order: Order, *, event: str, key: str, at: datetime,
                  lines: Sequence[EventLine] | None = None, total: int | None = None) -> None:
    """Record the change in the event log on the customer's timeline; learn the customer's profile from it."""
    profile_id = journal.record(session, channel=order.channel, event=event, message_id=f"order:{order.id}:{key}",
                                identifiers=identifiers_of(order), timestamp=at,
                                properties=segment_properties(session, order, lines=lines, total=total))
    if profile_id is not None and order.profile_id is None:
        order.profile_id = profile_id
