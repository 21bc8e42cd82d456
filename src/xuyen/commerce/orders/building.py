"""Building an order: checking what was asked, copying the quote's prices onto lines, taking the payments.
Everything here is a helper: no commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import parts
from xuyen.commerce.orders.models import (
    Fulfilment,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)
from xuyen.commerce.orders.records import assign_number, record_status, reference
from xuyen.errors import Conflict, ValidationFailed

MAX_LINES = 100
MAX_QUANTITY = 999
MAX_AMOUNT = 10_000_000_000  # whole đồng: ten billion, far above any one order


@dataclass(frozen=True)
class Customer:
    """Who the order is for, as given: contact details, and the identifiers that find their profile."""

    name: str = ""
    phone: str = ""
    email: str = ""
    identifiers: Sequence[tuple[str, str, str | None]] = ()
    profile_id: int | None = None

    def all_identifiers(self) -> list[tuple[str, str, str | None]]:
        """The identifiers to resolve the customer with: the given ones, the phone and the e-mail."""
        found = list(self.identifiers)
        if self.phone.strip():
            found.append(("phone", self.phone.strip(), None))
        if self.email.strip():
            found.append(("email", self.email.strip(), None))
        return list(dict.fromkeys(found))


@dataclass(frozen=True)
class PaymentIn:
    """A payment the customer makes: a method and an amount in whole đồng (0: the rest of the total)."""

    method: PaymentMethod
    amount: int = 0
    provider_reference: str = ""


@dataclass(frozen=True)
class LineIn:
    """A SKU (or barcode at the till) and how many."""

    code: str
    quantity: int


@dataclass
class Draft:
    """What is known about an order before it is written."""

    channel: SalesChannel
    customer: Customer
    actor: str
    fulfilment: Fulfilment = Fulfilment.ship
    store_id: int | None = None
    location_id: int | None = None
    conversation_id: int | None = None
    shipping_address: dict[str, Any] = field(default_factory=dict)
    shipping_fee: int = 0
    note: str = ""
    at: datetime = field(default_factory=utcnow)  # when it happens (now, but for orders brought in from before)


def merged_lines(lines: Sequence[LineIn]) -> list[tuple[str, int]]:
    """The asked lines with each code once (quantities added), refusing empty, oversized or bad quantities."""
    if not lines:
        raise ValidationFailed("An order needs at least one line: add a SKU and a quantity.", code="no_lines")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(f"An order has at most {MAX_LINES} lines; split it.", code="too_many_lines")
    merged: dict[str, int] = {}
    for line in lines:
        code = line.code.strip()
        if not code:
            raise ValidationFailed("A line has no SKU: give each line a SKU or barcode.", code="invalid_line")
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise ValidationFailed(f"The quantity of {code} must be between 1 and {MAX_QUANTITY}; it is "
                                   f"{line.quantity}.", code="invalid_quantity")
        merged[code] = merged.get(code, 0) + line.quantity
        if merged[code] > MAX_QUANTITY:
            raise ValidationFailed(f"At most {MAX_QUANTITY} of {code} in one order.", code="invalid_quantity")
    return list(merged.items())


def check_shipping_fee(fee: int) -> None:
    """Refuse a negative or absurd shipping fee."""
    if not 0 <= fee <= MAX_AMOUNT:
        raise ValidationFailed(f"The shipping fee must be between 0 and {MAX_AMOUNT} đồng.", code="invalid_amount")


def check_coupons(quoted: Any) -> list[str]:
    """The coupons the quote accepted; refuse the order when it rejected one (the customer must know)."""
    results = list(quoted.coupons)
    rejected = [c for c in results if not c.accepted]
    if rejected:
        reasons = "; ".join(f"{c.code}: {c.message or c.reason}" for c in rejected)
        raise ValidationFailed(f"These coupons cannot be used: {reasons}. Remove them and try again.",
                               code="coupon_rejected",
                               details={"rejected": [{"code": c.code, "reason": c.reason} for c in rejected]})
    return [str(c.code) for c in results]


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if dump is not None else value


def vat_rate_text(rate: Any) -> str | None:
    """A VAT rate in percent as stored ("8", "10", "5"); None for goods not subject to VAT."""
    if rate is None:
        return None
    text = format(rate, "f").rstrip("0").rstrip(".") if "." in format(rate, "f") else format(rate, "f")
    return text or "0"


def new_order(session: Session, draft: Draft, *, status: OrderStatus, quoted: Any, coupon_codes: Sequence[str],
              note: str = "") -> Order:
    """Write the order and its lines as quoted, numbered, with its first status in the history."""
    customer = draft.customer
    now = draft.at
    vat_total = sum(int(line.vat_amount) for line in quoted.lines)
    order = Order(channel=draft.channel, account="", status=status, fulfilment=draft.fulfilment,
                  store_id=draft.store_id, location_id=draft.location_id, conversation_id=draft.conversation_id,
                  profile_id=customer.profile_id, identifiers=[list(i) for i in customer.all_identifiers()],
                  contact_name=customer.name.strip(), contact_phone=customer.phone.strip(),
                  contact_email=customer.email.strip(), shipping_address=dict(draft.shipping_address),
                  note=draft.note, currency="VND", subtotal=int(quoted.subtotal),
                  discount_total=int(quoted.discount_total), shipping_fee=draft.shipping_fee, vat_total=vat_total,
                  total=int(quoted.total) + draft.shipping_fee, coupon_codes=list(coupon_codes),
                  discounts=[_plain(d) for d in quoted.discounts], created_by=draft.actor, created_at=now,
                  updated_at=now)
    session.add(order)
    assign_number(session, order)
    for position, line in enumerate(quoted.lines):
        session.add(OrderLine(order_id=order.id, position=position, variant_id=int(line.variant_id),
                              product_id=line.product_id, category_id=line.category_id, sku=line.sku, name=line.name,
                              quantity=int(line.quantity), list_price=int(line.list_price),
                              unit_price=int(line.unit_price), discount=int(line.discount), total=int(line.total),
                              vat_rate=vat_rate_text(line.vat_rate), vat_amount=int(line.vat_amount),
                              net_amount=int(line.net_amount),
                              promotions=[_plain(p) for p in (line.promotions or [])]))
    record_status(session, order, status=status, actor=draft.actor, note=note, first=True, at=now)
    session.flush()
    return order


def wants_of(lines: Sequence[OrderLine]) -> list[parts.Want]:
    """The stock the lines need (unmatched marketplace lines need none we know of)."""
    return [parts.Want(variant_id=line.variant_id, quantity=line.quantity)
            for line in lines if line.variant_id is not None and line.quantity > 0]


def planned_payments(payments: Sequence[PaymentIn], *, total: int, allow_change: bool = False) -> list[PaymentIn]:
    """The payments with their amounts settled: one amount of 0 takes the rest; together they must pay the total
    exactly (at the till, cash may be more: the change is given back)."""
    if not payments:
        raise ValidationFailed("Say how the customer pays: give at least one payment method.", code="no_payment")
    if len(payments) > 5:
        raise ValidationFailed("At most 5 payments per order.", code="too_many_payments")
    if any(p.method is PaymentMethod.exchange for p in payments):
        raise ValidationFailed("Exchange credit comes from a return, not from a payment.", code="invalid_payment")
    loyalty = [p.method for p in payments if p.method.is_loyalty]
    if len(loyalty) != len(set(loyalty)):
        raise ValidationFailed("Give stored value or points as one payment each.", code="invalid_payment")
    if sum(1 for p in payments if p.amount == 0) > 1:
        raise ValidationFailed("Only one payment may leave its amount empty (it takes the rest).",
                               code="invalid_payment")
    for payment in payments:
        if not 0 <= payment.amount <= MAX_AMOUNT:
            raise ValidationFailed(f"A payment amount must be between 0 and {MAX_AMOUNT} đồng.",
                                   code="invalid_amount")
    fixed = sum(p.amount for p in payments)
    settled = [p if p.amount else PaymentIn(method=p.method, amount=max(total - fixed, 0),
                                            provider_reference=p.provider_reference) for p in payments]
    paid = sum(p.amount for p in settled)
    change = paid - total
    cash = sum(p.amount for p in settled if p.method is PaymentMethod.cash)
    if change < 0 or (change > 0 and not (allow_change and change < cash)):
        raise ValidationFailed(f"The payments add up to {paid:,} đồng but the order's total is {total:,} đồng.",
                               code="payment_mismatch", details={"paid": paid, "total": total})
    return [p for p in settled if p.amount > 0] or settled[:1]


def take_payments(session: Session, order: Order, payments: Sequence[PaymentIn], *, actor: str,
                  settled_now: frozenset[PaymentMethod] = frozenset(), at: datetime | None = None) -> None:
    """Record the payments: stored value and points are taken from the customer's balance at once (Conflict
    when the customer has no profile), ``settled_now`` methods are paid on the spot, the others wait."""
    total_cash_change = sum(p.amount for p in payments) - order.total
    for payment in payments:
        amount, details = payment.amount, {}
        if payment.method is PaymentMethod.cash and total_cash_change > 0:
            amount, details = amount - total_cash_change, {"tendered": payment.amount, "change": total_cash_change}
        status = PaymentStatus.pending
        if payment.method.is_loyalty:
            if order.profile_id is None:
                raise Conflict("Paying with stored value or points needs a known customer: give their phone.",
                               code="customer_required")
            parts.spend(session, profile_id=order.profile_id, account=loyalty_account(payment.method), amount=amount,
                        reference=reference(order), actor=actor)
            status = PaymentStatus.paid
        elif payment.method in settled_now:
            status = PaymentStatus.paid
        session.add(Payment(order_id=order.id, kind=PaymentKind.payment, method=payment.method, amount=amount,
                            status=status, provider_reference=payment.provider_reference, details=details,
                            created_at=at or utcnow(), updated_at=at or utcnow()))
    session.flush()


def loyalty_account(method: PaymentMethod) -> parts.LoyaltyAccount:
    """The loyalty ledger account a loyalty payment method draws on."""
    return "points" if method is PaymentMethod.points else "stored_value"
