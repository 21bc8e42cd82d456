"""Marketplace orders: what the marketplace sync fetched becomes one of our orders, created once and then moved
along as the platform reports it, whatever order the reports arrive in. Helpers: no commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce import journal
from xuyen.commerce.orders import lifecycle, parts
from xuyen.commerce.orders.building import MAX_AMOUNT, MAX_LINES, MAX_QUANTITY, wants_of
from xuyen.commerce.orders.external import ExternalLine, ExternalOrder, ExternalStatus
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
from xuyen.commerce.orders.records import (
    assign_number,
    flag,
    journal_event,
    lines_of,
    record_status,
    reference,
)
from xuyen.commerce.orders.states import STAGE, can_move
from xuyen.errors import ValidationFailed

STATUS_OF: dict[ExternalStatus, OrderStatus] = {
    ExternalStatus.unpaid: OrderStatus.pending_payment,
    ExternalStatus.to_ship: OrderStatus.placed,
    ExternalStatus.shipped: OrderStatus.shipped,
    ExternalStatus.delivered: OrderStatus.completed,
    ExternalStatus.returned: OrderStatus.completed,
    ExternalStatus.cancelled: OrderStatus.cancelled,
}
# The road a marketplace order travels (the platform does the picking and packing steps itself).
ROAD = (OrderStatus.placed, OrderStatus.shipped, OrderStatus.completed)


def _actor(external: ExternalOrder) -> str:
    return f"{external.channel.value}:{external.account}"


def check_external(external: ExternalOrder) -> None:
    """Refuse a marketplace order that cannot be one: not from a marketplace, no id, bad lines or amounts."""
    if not external.channel.is_marketplace:
        raise ValidationFailed(f"{external.channel.value} is not a marketplace.", code="invalid_channel")
    if not external.external_id.strip() or len(external.external_id) > 100 or len(external.account) > 64:
        raise ValidationFailed("A marketplace order needs its platform id (up to 100 characters) and shop.",
                               code="invalid_external_order")
    if len(external.lines) > MAX_LINES:
        raise ValidationFailed(f"A marketplace order has at most {MAX_LINES} lines.", code="too_many_lines")
    for line in external.lines:
        if not 1 <= line.quantity <= MAX_QUANTITY or not 0 <= line.unit_price <= MAX_AMOUNT \
                or not 0 <= line.discount <= MAX_AMOUNT:
            raise ValidationFailed(f"Line {line.external_item_id} of {external.external_id} has a bad quantity "
                                   "or price.", code="invalid_external_order")
    if not 0 <= external.total <= MAX_AMOUNT or not 0 <= external.shipping_fee <= MAX_AMOUNT:
        raise ValidationFailed(f"Order {external.external_id} has a bad total.", code="invalid_external_order")
    if external.placed_at.tzinfo is None or external.updated_at.tzinfo is None:
        raise ValidationFailed("Marketplace times must carry their time zone.", code="invalid_external_order")


def _find(session: Session, external: ExternalOrder) -> Order | None:
    return session.scalar(select(Order).where(Order.channel == external.channel, Order.account == external.account,
                                              Order.external_id == external.external_id).with_for_update())


def upsert_external_order(session: Session, *, order: ExternalOrder) -> Order:
    """Create or update our order for a marketplace order, idempotent on (channel, account, external id)
    (helper: no commit). An update older than the last one applied is ignored; the order never moves back."""
    check_external(order)
    existing = _find(session, order)
    if existing is None:
        try:
            with session.begin_nested():
                return _create(session, order)
        except IntegrityError:  # another sync created it meanwhile
            existing = _find(session, order)
            if existing is None:
                raise
    _update(session, existing, order)
    return existing


def _allocated_totals(external: ExternalOrder) -> list[int]:
    """What the buyer pays for each line: its price less its own discount, less its share of order vouchers."""
    gross = [line.unit_price * line.quantity - line.discount for line in external.lines]
    voucher = max(sum(gross) + external.shipping_fee - external.total, 0)
    base = sum(gross)
    if not base:
        return gross
    shares = [voucher * amount // base for amount in gross]
    if shares:
        shares[-1] += voucher - sum(shares)
    return [max(amount - share, 0) for amount, share in zip(gross, shares, strict=True)]


def _line(session: Session, external: ExternalOrder, line: ExternalLine, *, position: int, total: int,
          order_id: int) -> OrderLine:
    listing = parts.listing_for(session, channel=external.channel, account=external.account,
                                external_item_id=line.external_item_id, external_model_id=line.external_model_id,
                                external_sku=line.external_sku)
    row = OrderLine(order_id=order_id, position=position, sku=line.external_sku, name=line.name or line.external_sku,
                    quantity=line.quantity, list_price=line.unit_price, unit_price=line.unit_price,
                    discount=line.unit_price * line.quantity - total, total=total, vat_rate=None, vat_amount=0,
                    net_amount=total, external_item_id=line.external_item_id,
                    external_model_id=line.external_model_id, external_sku=line.external_sku)
    if listing is None:
        row.unmatched = True
        return row
    row.variant_id = int(listing.variant_id)
    view = parts.variants_by_ids(session, variant_ids=[row.variant_id]).get(row.variant_id)
    if view is not None:
        row.sku, row.product_id, row.category_id = view.sku, view.product_id, view.category_id
        row.name = line.name or view.display_name
        row.vat_rate, row.net_amount, row.vat_amount = parts.vat_split(session, tax_class=view.tax_class.value,
                                                                       total=total, at=external.placed_at)
    return row


def _create(session: Session, external: ExternalOrder) -> Order:
    now = utcnow()
    totals = _allocated_totals(external)
    subtotal = sum(line.unit_price * line.quantity for line in external.lines)
    order = Order(channel=external.channel, account=external.account, external_id=external.external_id,
                  external_status=external.raw_status or external.status.value,
                  external_updated_at=external.updated_at, status=OrderStatus.pending_payment,
                  fulfilment=Fulfilment.ship, identifiers=[list(i) for i in external.buyer_identifiers],
                  contact_name=external.buyer_name[:200], shipping_address=dict(external.shipping_address),
                  currency="VND", subtotal=subtotal, discount_total=max(subtotal + external.shipping_fee
                                                                        - external.total, 0),
                  shipping_fee=external.shipping_fee, total=external.total, created_by=_actor(external),
                  created_at=external.placed_at, updated_at=now)
    session.add(order)
    assign_number(session, order)
    rows = [_line(session, external, line, position=i, total=totals[i], order_id=order.id)
            for i, line in enumerate(external.lines)]
    session.add_all(rows)
    order.vat_total = sum(row.vat_amount for row in rows)
    unmatched = [row.external_item_id for row in rows if row.unmatched]
    if unmatched:
        flag(order, f"Unknown listing(s) {', '.join(unmatched)}: map them in the catalogue.")
    session.add(Payment(order_id=order.id, kind=PaymentKind.payment, method=_method(external.payment_method),
                        amount=external.total, status=PaymentStatus.pending, created_at=now, updated_at=now))
    record_status(session, order, status=OrderStatus.pending_payment, actor=_actor(external),
                  note=external.raw_status, at=external.placed_at, first=True)
    session.flush()
    journal_event(session, order, event=journal.CHECKOUT_STARTED, key="checkout", at=external.placed_at)
    target = STATUS_OF[external.status]
    if target is OrderStatus.cancelled:
        record_status(session, order, status=OrderStatus.cancelled, actor=_actor(external), note=external.raw_status,
                      at=external.updated_at)
        return order
    _hold_stock(session, order, external)
    _walk(session, order, external, target)
    return order


def _method(name: str) -> PaymentMethod:
    try:
        return PaymentMethod(name)
    except ValueError:
        return PaymentMethod.bank_transfer  # the platform collected it: paid out to us with the settlement


def _hold_stock(session: Session, order: Order, external: ExternalOrder) -> None:
    """Reserve what the order needs; an order the platform took although we are short is kept and flagged."""
    wants = wants_of(lines_of(session, order.id))
    try:
        with session.begin_nested():
            parts.reserve(session, reference=reference(order), wants=wants, channel=order.channel,
                          actor=_actor(external), expires_at=None)
    except Exception as error:
        if not parts.is_out_of_stock(error):
            raise
        flag(order, f"Not enough stock to hold for this order: {getattr(error, 'message', error)}")
        return
    order.location_id = parts.held_at(session, reference=reference(order))


def _update(session: Session, order: Order, external: ExternalOrder) -> None:
    if order.external_updated_at is not None and external.updated_at < order.external_updated_at:
        return  # an older report arriving late: what we have is newer
    order.external_status = external.raw_status or external.status.value
    order.external_updated_at = external.updated_at
    if not order.identifiers and external.buyer_identifiers:
        order.identifiers = [list(i) for i in external.buyer_identifiers]
    target = STATUS_OF[external.status]
    if target is OrderStatus.cancelled:
        if can_move(order.status, OrderStatus.cancelled):
            lifecycle.cancel(session, order, actor=_actor(external), reason=external.raw_status or "cancelled",
                             at=external.updated_at)
        elif order.status is not OrderStatus.cancelled:
            flag(order, f"{external.channel.value} cancelled the order after it was {order.status.value}: "
                         "check where the goods are.")
        return
    if order.status is OrderStatus.cancelled:
        flag(order, f"{external.channel.value} reports the order {external.status.value} after it was cancelled.")
        return
    _walk(session, order, external, target)


def _walk(session: Session, order: Order, external: ExternalOrder, target: OrderStatus) -> None:
    """Move the order forward to ``target`` through each step on the way (never back)."""
    at: datetime = external.updated_at
    for step in ROAD:
        if STAGE[step] <= STAGE[order.status] or STAGE[step] > STAGE[target]:
            continue
        if step is OrderStatus.placed:
            _settle_marketplace_payment(session, order, at=at)
            lifecycle.place(session, order, actor=_actor(external), note=external.raw_status, at=at)
        else:
            lifecycle.advance(session, order, status=step, actor=_actor(external), note=external.raw_status, at=at)
    if external.status is ExternalStatus.returned:
        from xuyen.commerce.orders.returns import return_everything

        return_everything(session, order, actor=_actor(external), reason=external.raw_status or "returned")


def _settle_marketplace_payment(session: Session, order: Order, *, at: datetime) -> None:
    """A marketplace order ready to ship is paid as far as we are concerned (the platform collected it or will
    collect it on delivery)."""
    for payment in session.scalars(select(Payment).where(Payment.order_id == order.id,
                                                         Payment.kind == PaymentKind.payment)):
        if payment.method is not PaymentMethod.cod and payment.status is PaymentStatus.pending:
            payment.status, payment.updated_at = PaymentStatus.paid, at
    session.flush()
