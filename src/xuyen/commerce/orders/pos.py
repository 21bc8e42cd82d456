"""Sales at a store's till: scanned SKUs or barcodes, priced for the store, paid on the spot, sold from the
store's shelf at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce import journal
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import parts
from xuyen.commerce.orders.building import (
    Customer,
    Draft,
    LineIn,
    PaymentIn,
    check_coupons,
    merged_lines,
    new_order,
    planned_payments,
    take_payments,
    wants_of,
)
from xuyen.commerce.orders.lifecycle import mark_paid_if_settled
from xuyen.commerce.orders.models import Fulfilment, Order, OrderStatus, PaymentMethod
from xuyen.commerce.orders.records import COMPLETED, PLACED, emit, journal_event, lines_of, reference
from xuyen.errors import ValidationFailed

# At the till every method is settled while the customer waits (the card terminal, the transfer on screen).
SETTLED_AT_TILL = frozenset(PaymentMethod) - {PaymentMethod.cod}


def sell_at_till(session: Session, *, store_id: int, lines: Sequence[LineIn], payments: Sequence[PaymentIn],
                 actor: str, customer: Customer, coupon_codes: Sequence[str] = (), credit: int = 0,
                 credit_reference: str = "", at: datetime | None = None) -> Order:
    """Ring up a sale (helper: no commit); ``credit`` (goods brought back in an exchange) pays first."""
    if any(p.method in (PaymentMethod.cod, PaymentMethod.exchange) for p in payments):
        raise ValidationFailed("Cash on delivery is not a way to pay at the till.", code="invalid_payment")
    location = parts.location_of_store(session, store_id=store_id)
    scanned = merged_lines(lines)
    by_sku: dict[str, int] = {}
    for code, quantity in scanned:
        sku = str(parts.find_variant(session, code=code).sku)
        by_sku[sku] = by_sku.get(sku, 0) + quantity
    now = at or utcnow()
    quoted = parts.quote(session, channel=SalesChannel.pos, lines=list(by_sku.items()), store_id=store_id,
                         profile_id=customer.profile_id, coupon_codes=list(coupon_codes), at=now)
    coupons = check_coupons(quoted)
    used = min(credit, int(quoted.total))
    planned = planned_payments(payments, total=int(quoted.total) - used, allow_change=True) \
        if int(quoted.total) > used else []
    if used:
        planned.insert(0, PaymentIn(method=PaymentMethod.exchange, amount=used, provider_reference=credit_reference))
    draft = Draft(channel=SalesChannel.pos, customer=customer, actor=actor, fulfilment=Fulfilment.counter,
                  store_id=store_id, location_id=int(location.id), at=now)
    order = new_order(session, draft, status=OrderStatus.completed, quoted=quoted, coupon_codes=coupons,
                      note="sold at the till")
    order.placed_at = order.completed_at = now
    journal_event(session, order, event=journal.ORDER_COMPLETED, key="placed", at=now)
    parts.sell(session, reference=reference(order), wants=wants_of(lines_of(session, order.id)),
               location_id=int(location.id), actor=actor)
    parts.redeem_coupons(session, codes=coupons, profile_id=order.profile_id, reference=reference(order), at=now)
    take_payments(session, order, planned, actor=actor, settled_now=SETTLED_AT_TILL, at=now)
    emit(session, order, topic=PLACED, at=now)
    mark_paid_if_settled(session, order, at=now)
    emit(session, order, topic=COMPLETED, at=now)
    return order


def pos_sale(session: Session, *, store_id: int, lines: Sequence[LineIn], payments: Sequence[PaymentIn], actor: str,
             customer: Customer = Customer(), coupon_codes: Sequence[str] = ()) -> Order:
    """Ring up a sale at a store's till: priced for the store, paid, and sold from its shelf at once."""
    order = sell_at_till(session, store_id=store_id, lines=lines, payments=payments, actor=actor, customer=customer,
                         coupon_codes=coupon_codes)
    session.commit()
    return order
