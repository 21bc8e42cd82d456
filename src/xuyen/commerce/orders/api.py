"""The orders API: web checkout, till sales, chat orders, payments, fulfilment moves, cancellations, returns and
exchanges, and reading orders.

Agents and above take orders, move them, cancel them and take returns; staff tied to a store ring up sales and
take returns only in their own store; managers record refunds as paid out.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import online, service
from xuyen.commerce.orders.models import OrderStatus
from xuyen.commerce.orders.schemas import (
    CancelIn,
    ChatOrderIn,
    CheckoutIn,
    ExchangeIn,
    MoveIn,
    OrderOut,
    OrderPageOut,
    OrderSummaryOut,
    PaymentConfirmIn,
    PaymentOut,
    PosSaleIn,
    RefundPaidIn,
    ReturnIn,
    ReturnOut,
)
from xuyen.errors import PermissionDenied
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(tags=["orders"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
OrderId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The order's id.")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such order, SKU, store or conversation"},
    409: {"description": "Out of stock (details.shortages), a move the order's status forbids, a coupon used up"},
    422: {"description": "Bad lines, quantities, payments or coupons"},
}


def _detail(session: Session, order_id: int) -> OrderOut:
    return OrderOut.of_detail(service.order_detail(session, order_id=order_id))


def _check_store(caller: Principal, store_id: int | None) -> None:
    if not caller.sees_store(store_id):
        raise PermissionDenied("You work for another store: ring up sales and returns in your own store.",
                               code="other_store")


@router.post("/checkout", status_code=201, summary="Check out a web or app cart", responses=_ERRORS)
def checkout(body: CheckoutIn, session: Db, caller: Agent) -> OrderOut:
    """Quote the cart, hold its stock, and answer the order: ``pending_payment`` until an online payment is
    confirmed (the hold expires after ``hold_minutes``), ``placed`` at once when paid on delivery."""
    near = (body.latitude, body.longitude) if body.latitude is not None and body.longitude is not None else None
    order = service.start_checkout(
        session, channel=body.channel, lines=[line.to_line() for line in body.lines],
        customer=body.customer.to_customer(), payments=[p.to_payment() for p in body.payments],
        actor=actor_name(caller), fulfilment=body.fulfilment, pickup_store_id=body.pickup_store_id,
        shipping_address=body.shipping_address, shipping_fee=body.shipping_fee, coupon_codes=body.coupon_codes,
        near=near, hold=timedelta(minutes=body.hold_minutes), note=body.note)
    return _detail(session, order.id)


@router.post("/orders/chat", status_code=201, summary="Take an order in a conversation", responses=_ERRORS)
def chat_order(body: ChatOrderIn, session: Db, caller: Agent) -> OrderOut:
    """An order for the conversation's customer, taken by the agent answering them."""
    order = service.create_chat_order(
        session, conversation_id=body.conversation_id, lines=[line.to_line() for line in body.lines],
        payments=[p.to_payment() for p in body.payments], actor=actor_name(caller),
        customer=body.customer.to_customer(), fulfilment=body.fulfilment, pickup_store_id=body.pickup_store_id,
        shipping_address=body.shipping_address, shipping_fee=body.shipping_fee, coupon_codes=body.coupon_codes,
        note=body.note)
    return _detail(session, order.id)


@router.post("/pos/sales", status_code=201, summary="Ring up a sale at a store's till", responses=_ERRORS)
def pos_sale(body: PosSaleIn, session: Db, caller: Agent) -> OrderOut:
    """Scanned SKUs or barcodes priced for the store, paid on the spot, sold from the store's shelf."""
    _check_store(caller, body.store_id)
    order = service.pos_sale(session, store_id=body.store_id, lines=[line.to_line() for line in body.lines],
                             payments=[p.to_payment() for p in body.payments], actor=actor_name(caller),
                             customer=body.customer.to_customer(), coupon_codes=body.coupon_codes)
    return _detail(session, order.id)


@router.get("/orders", summary="List orders")
def list_orders(
    session: Db,
    caller: Agent,
    channel: SalesChannel | None = None,
    status: OrderStatus | None = None,
    store_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    since: Annotated[date | None, Query(description="First day (in your time zone).")] = None,
    until: Annotated[date | None, Query(description="Last day (in your time zone).")] = None,
    needs_attention: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> OrderPageOut:
    """Orders newest first, filtered by channel, status, store and days."""
    if caller.store_id is not None:
        store_id = caller.store_id
    zone = ZoneInfo(caller.timezone)
    orders, total = service.list_orders(
        session, channel=channel, status=status, store_id=store_id, needs_attention=needs_attention,
        since=_day_start(since, zone), until=_day_start(until + timedelta(days=1), zone) if until else None,
        limit=limit, offset=offset)
    return OrderPageOut(total=total, orders=[OrderSummaryOut.of(order) for order in orders])


def _day_start(day: date | None, zone: ZoneInfo) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=zone) if day is not None else None


@router.get("/orders/{order_id}", summary="Read an order", responses=_ERRORS)
def read_order(order_id: OrderId, session: Db, _caller: Agent) -> OrderOut:
    """The order with lines, VAT, payments and refunds, history and returns."""
    return _detail(session, order_id)


@router.post("/orders/{order_id}/payments/confirm", summary="Confirm a waiting payment", responses=_ERRORS)
def confirm_payment(order_id: OrderId, body: PaymentConfirmIn, session: Db, caller: Agent) -> OrderOut:
    """The transfer or e-wallet payment came in: a pending order is placed. Confirming twice changes nothing."""
    service.confirm_payment(session, order_id=order_id, provider_reference=body.provider_reference,
                            amount=body.amount, payment_id=body.payment_id, actor=actor_name(caller))
    return _detail(session, order_id)


@router.post("/orders/{order_id}/payments/vnpay", summary="Pay a waiting order with VNPay", responses={
    **_ERRORS, 503: {"description": "VNPay is not set up"}})
def vnpay_payment(order_id: OrderId, request: Request, session: Db, _caller: Agent,
                  customer_ip: Annotated[str, Query(max_length=45)] = "") -> dict[str, str]:
    """The signed VNPay address to send the customer to (``customer_ip``: the customer's address, as VNPay asks)."""
    url = online.vnpay_payment_url(session, order_id=order_id, ip=customer_ip or "127.0.0.1",
                                   config=online.vnpay_config(request.app.state.settings))
    return {"url": url}


@router.post("/orders/{order_id}/payments/momo", summary="Pay a waiting order with MoMo", responses={
    **_ERRORS, 502: {"description": "MoMo refused the payment"}, 503: {"description": "MoMo is not set up"}})
def momo_payment(order_id: OrderId, request: Request, session: Db, _caller: Agent) -> dict[str, str]:
    """MoMo's ``payUrl`` to send the customer to (the same one again until a payment attempt fails)."""
    url = online.momo_payment_url(session, order_id=order_id, config=online.momo_config(request.app.state.settings))
    return {"url": url}


@router.post("/orders/{order_id}/payments/zalopay", summary="Pay a waiting order with ZaloPay", responses={
    **_ERRORS, 502: {"description": "ZaloPay refused the order"}, 503: {"description": "ZaloPay is not set up"}})
def zalopay_payment(order_id: OrderId, request: Request, session: Db, _caller: Agent) -> dict[str, str]:
    """ZaloPay's ``order_url`` to send the customer to (the same one again while it stands)."""
    url = online.zalopay_order_url(session, order_id=order_id,
                                   config=online.zalopay_config(request.app.state.settings))
    return {"url": url}


@router.post("/orders/{order_id}/status", summary="Move an order along", responses=_ERRORS)
def move_order(order_id: OrderId, body: MoveIn, session: Db, caller: Agent) -> OrderOut:
    """fulfilling, ready_for_pickup, shipped or completed, as the state machine allows."""
    service.move_order(session, order_id=order_id, status=body.status, actor=actor_name(caller), note=body.note)
    return _detail(session, order_id)


@router.post("/orders/{order_id}/cancel", summary="Cancel an order", responses=_ERRORS)
def cancel_order(order_id: OrderId, body: CancelIn, session: Db, caller: Agent) -> OrderOut:
    """Stock and coupons are let go, stored value and points go back at once, other payments are refunded."""
    service.cancel_order(session, order_id=order_id, actor=actor_name(caller), reason=body.reason)
    return _detail(session, order_id)


@router.post("/orders/{order_id}/returns", status_code=201, summary="Take a return", responses=_ERRORS)
def create_return(order_id: OrderId, body: ReturnIn, session: Db, caller: Agent) -> ReturnOut:
    """Goods come back at ``location_id`` (restocked there unless damaged) and are refunded as paid or to
    stored value."""
    returned = service.create_return(session, order_id=order_id, lines=[line.to_line() for line in body.lines],
                                     location_id=body.location_id, actor=actor_name(caller), reason=body.reason,
                                     refund_to=body.refund_to, scope_store_id=caller.store_id)
    detail = service.order_detail(session, order_id=order_id)
    return next(ReturnOut.of(r, lines) for r, lines in detail.returns if r.id == returned.id)


@router.post("/orders/{order_id}/exchanges", status_code=201, summary="Exchange goods at a store",
             responses=_ERRORS)
def create_exchange(order_id: OrderId, body: ExchangeIn, session: Db, caller: Agent) -> OrderOut:
    """A return and a new sale at the same store; answers the new order."""
    _, new_order = service.create_exchange(
        session, order_id=order_id, lines=[line.to_line() for line in body.lines], location_id=body.location_id,
        new_lines=[line.to_line() for line in body.new_lines], payments=[p.to_payment() for p in body.payments],
        actor=actor_name(caller), reason=body.reason, refund_to=body.refund_to, scope_store_id=caller.store_id)
    return _detail(session, new_order.id)


@router.post("/refunds/{payment_id}/paid", summary="Record a refund as paid out", responses=_ERRORS)
def refund_paid(payment_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: RefundPaidIn, session: Db,
                caller: Manager) -> PaymentOut:
    """The cash, card, bank or e-wallet refund was paid to the customer."""
    return PaymentOut.of(service.mark_refund_paid(session, payment_id=payment_id, actor=actor_name(caller),
                                                  provider_reference=body.provider_reference))
