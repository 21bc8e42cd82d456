"""Online payments through a gateway: the signed address a customer pays at, and the gateway's signed callback
that confirms the payment (VNPay so far; see docs/orders.md for the next ones)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.orders import lifecycle
from xuyen.commerce.orders.gateways import vnpay
from xuyen.commerce.orders.models import Order, OrderStatus, Payment, PaymentKind, PaymentMethod, PaymentStatus
from xuyen.commerce.orders.records import flag
from xuyen.config import Settings
from xuyen.errors import Conflict, NotFound, ServiceUnavailable

ACTOR = "vnpay"


def vnpay_config(settings: Settings) -> vnpay.VnpayConfig:
    """The VNPay terminal as the settings name it."""
    return vnpay.VnpayConfig(tmn_code=settings.vnpay_tmn_code,
                             hash_secret=settings.vnpay_hash_secret.get_secret_value(),
                             payment_url=settings.vnpay_payment_url, return_url=settings.vnpay_return_url)


def _txn_ref(order: Order, payment: Payment) -> str:
    return f"{order.number}-{payment.id}"


def _waiting_vnpay(session: Session, order: Order) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.kind == PaymentKind.payment,
                                                   Payment.method == PaymentMethod.vnpay,
                                                   Payment.status == PaymentStatus.pending).order_by(Payment.id))
    if payment is None or order.status is not OrderStatus.pending_payment:
        raise Conflict(f"Order {order.number} has no VNPay payment waiting.", code="no_payment_waiting")
    return payment


def vnpay_payment_url(session: Session, *, order_id: int, ip: str, config: vnpay.VnpayConfig,
                      now: datetime | None = None) -> str:
    """The VNPay address where the customer pays the order's waiting VNPay payment (valid while stock is held)."""
    if not config.is_configured:
        raise ServiceUnavailable("VNPay is not set up: set XUYEN_VNPAY_TMN_CODE, XUYEN_VNPAY_HASH_SECRET and "
                                 "XUYEN_VNPAY_RETURN_URL.", code="gateway_not_configured")
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"There is no order {order_id}.", code="order_not_found")
    payment = _waiting_vnpay(session, order)
    reference = _txn_ref(order, payment)
    if payment.details.get("txn_ref") != reference:
        payment.details = {**payment.details, "txn_ref": reference}
        session.commit()
    moment = now or utcnow()
    return vnpay.payment_url(config, txn_ref=reference, amount=payment.amount, ip=ip, created_at=moment,
                             expires_at=order.expires_at, order_info=f"Thanh toan don hang {order.number}")


def _payment_of(session: Session, txn_ref: str) -> tuple[Order, Payment] | None:
    number, _, payment_id = txn_ref.rpartition("-")
    if not payment_id.isdigit() or len(payment_id) > 10:
        return None
    payment = session.get(Payment, int(payment_id))
    if payment is None or payment.method is not PaymentMethod.vnpay or payment.kind is not PaymentKind.payment:
        return None
    order = session.scalar(select(Order).where(Order.id == payment.order_id).with_for_update())
    if order is None or order.number != number:
        return None
    session.refresh(payment)
    return order, payment


def vnpay_ipn(session: Session, *, params: Mapping[str, str], config: vnpay.VnpayConfig) -> vnpay.IpnResult:
    """VNPay's server-to-server report of a payment: verified, then the payment is confirmed once (a repeated
    report answers "already confirmed"); an unsuccessful one is noted and the order keeps waiting."""
    if not vnpay.verify(params, config.hash_secret) or params.get("vnp_TmnCode") != config.tmn_code:
        return vnpay.BAD_SIGNATURE
    found = _payment_of(session, params.get("vnp_TxnRef", ""))
    if found is None:
        return vnpay.NOT_FOUND
    order, payment = found
    if vnpay.from_vnp_amount(params.get("vnp_Amount", "")) != payment.amount:
        return vnpay.BAD_AMOUNT
    if payment.status is not PaymentStatus.pending:
        return vnpay.ALREADY
    transaction = params.get("vnp_TransactionNo", "")[:100]
    succeeded = params.get("vnp_ResponseCode") == vnpay.SUCCESS and params.get("vnp_TransactionStatus") == vnpay.SUCCESS
    if not succeeded:
        payment.details = {**payment.details, "last_failure": {"response_code": params.get("vnp_ResponseCode", "")[:8],
                                                               "transaction": transaction}}
    elif order.status is OrderStatus.cancelled:
        payment.status, payment.provider_reference = PaymentStatus.paid, transaction
        flag(order, f"VNPay payment {transaction} came in after the order was cancelled: refund it.")
    else:
        lifecycle.settle_payment(session, order, payment, provider_reference=transaction, actor=ACTOR)
    session.commit()
    return vnpay.CONFIRMED
