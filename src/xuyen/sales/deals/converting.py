"""A won deal becomes an order: its lines go through the orders domain's checkout on the chat channel, for the
deal's customer and at the deal's branch (the order is the branch's, priced as the deal's lines were), and the deal
keeps the order's id (converting again answers the same order)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.orders.building import Customer, Draft, LineIn, PaymentIn
from xuyen.commerce.orders.models import Fulfilment, Order, PaymentMethod
from xuyen.commerce.orders.service import checkout
from xuyen.commerce.stock.service import OutOfStock
from xuyen.customers.service import display_names
from xuyen.errors import Conflict, ValidationFailed
from xuyen.identity.graph import list_identifiers
from xuyen.sales.deals.models import Deal, StageKind
from xuyen.sales.deals.service import PRICING_CHANNEL, Actor, get_deal, lines_of
from xuyen.sales.scope import SalesScope

ORDER_HOLD = timedelta(hours=24)


def convert_to_order(session: Session, *, deal_id: int, actor: Actor, scope: SalesScope,
                     payment_method: PaymentMethod = PaymentMethod.cod,
                     shipping_address: dict[str, object] | None = None, note: str = "") -> Order:
    """Turn a won deal into an order (stock held, priced as the deal's lines were); the same order when the deal
    was converted before."""
    try:
        order = add_order_for(session, deal_id=deal_id, actor=actor, scope=scope, payment_method=payment_method,
                              shipping_address=shipping_address, note=note)
    except Conflict:
        session.rollback()
        raise
    session.commit()
    return order


def add_order_for(session: Session, *, deal_id: int, actor: Actor, scope: SalesScope,
                  payment_method: PaymentMethod = PaymentMethod.cod,
                  shipping_address: dict[str, object] | None = None, note: str = "") -> Order:
    """``convert_to_order`` without the commit (helper: flushes; short stock raises a Conflict)."""
    deal = _locked(session, deal_id, scope)
    if deal.order_id is not None:
        order = session.get(Order, deal.order_id)
        assert order is not None
        return order
    if deal.status is not StageKind.won:
        raise Conflict("Only a won deal becomes an order: move it to the won stage first.", code="deal_not_won")
    lines = lines_of(session, deal_id=deal.id)
    if not lines:
        raise ValidationFailed("The deal has no products: add its lines before making the order.",
                               code="deal_has_no_lines")
    if deal.profile_id is None:
        raise ValidationFailed("The deal has no customer any more.", code="customer_required")
    draft = Draft(channel=PRICING_CHANNEL, customer=_customer(session, deal.profile_id), actor=actor.name,
                  store_id=deal.store_id,
                  fulfilment=Fulfilment.ship, shipping_address=dict(shipping_address or {}),
                  note=note.strip() or f"Cơ hội #{deal.id}: {deal.title}", at=utcnow())
    try:
        order = checkout(session, draft, lines=[LineIn(code=line.sku, quantity=line.quantity) for line in lines],
                         payments=[PaymentIn(method=payment_method)], coupon_codes=(), near=None, hold=ORDER_HOLD)
    except OutOfStock as exc:
        raise Conflict(f"Not enough stock to make the order: {exc.message}", code="out_of_stock",
                       details=exc.details) from None
    deal.order_id, deal.updated_at = order.id, utcnow()
    session.flush()
    return order


def _locked(session: Session, deal_id: int, scope: SalesScope) -> Deal:
    deal = get_deal(session, deal_id=deal_id, scope=scope)
    locked = session.scalars(select(Deal).where(Deal.id == deal.id).with_for_update()
                             .execution_options(populate_existing=True)).one()
    return locked


def _customer(session: Session, profile_id: int) -> Customer:
    identifiers = list_identifiers(session, profile_id=profile_id)
    phone = next((i.value for i in identifiers if i.type == "phone"), "")
    email = next((i.value for i in identifiers if i.type == "email"), "")
    others = [(i.type, i.value, i.scope or None) for i in identifiers if i.type not in ("phone", "email")][:1]
    name = display_names(session, profile_ids=[profile_id]).get(profile_id, "")
    return Customer(name=name, phone=phone, email=email, identifiers=others, profile_id=profile_id)
