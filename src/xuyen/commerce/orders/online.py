"""Online payments through a gateway: the address a customer pays at (VNPay's signed page; MoMo's ``payUrl`` and
ZaloPay's ``order_url``, created through their APIs), and the gateway's signed report that confirms the payment.

What every gateway shares lives here once: finding the order's waiting payment, our reference for it, finding
the payment again from a report, and what a report does (``settle_report``: confirmed once, a repeat changes
nothing, a failure is noted, a payment for a cancelled order is recorded and flagged for a refund).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.orders import lifecycle
from xuyen.commerce.orders.gateways import GatewayRefused, momo, vnpay, zalopay
from xuyen.commerce.orders.models import Order, OrderStatus, Payment, PaymentKind, PaymentMethod, PaymentStatus
from xuyen.commerce.orders.records import flag, lines_of
from xuyen.config import Settings
from xuyen.errors import BadGateway, BadRequest, Conflict, NotFound, ServiceUnavailable, ValidationFailed
from xuyen.tls import http_client

NAMES = {PaymentMethod.vnpay: "VNPay", PaymentMethod.momo: "MoMo", PaymentMethod.zalopay: "ZaloPay"}
LINK = "link"  # payment.details key: the pay address a gateway created, and its attempt number
GATEWAY_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


# --- shared by every gateway ------------------------------------------------------------------------------------


def _waiting_payment(session: Session, order: Order, method: PaymentMethod) -> Payment:
    payment = session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.kind == PaymentKind.payment,
                                                   Payment.method == method,
                                                   Payment.status == PaymentStatus.pending).order_by(Payment.id))
    if payment is None or order.status is not OrderStatus.pending_payment:
        raise Conflict(f"Order {order.number} has no {NAMES[method]} payment waiting.", code="no_payment_waiting")
    return payment


def _order_and_waiting_payment(session: Session, *, order_id: int, method: PaymentMethod) -> tuple[Order, Payment]:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"There is no order {order_id}.", code="order_not_found")
    return order, _waiting_payment(session, order, method)


def _reference(order: Order, payment: Payment) -> str:
    """Our reference for a payment at a gateway: the order number and the payment id."""
    return f"{order.number}-{payment.id}"


def _payment_of(session: Session, reference: str, method: PaymentMethod) -> tuple[Order, Payment] | None:
    number, _, payment_id = reference.rpartition("-")
    if not payment_id.isdigit() or len(payment_id) > 10:
        return None
    payment = session.get(Payment, int(payment_id))
    if payment is None or payment.method is not method or payment.kind is not PaymentKind.payment:
        return None
    order = session.scalar(select(Order).where(Order.id == payment.order_id).with_for_update())
    if order is None or order.number != number:
        return None
    session.refresh(payment)
    return order, payment


@dataclass(frozen=True)
class Report:
    """What a gateway said about one payment, once its signature was verified."""

    reference: str  # ours: the order number and the payment id
    amount: int | None  # whole đồng; None when the gateway's figure was not one
    succeeded: bool
    transaction: str  # the gateway's transaction id
    failure: Mapping[str, str] = field(default_factory=dict)  # noted on the payment when it did not succeed


class Outcome(enum.Enum):
    CONFIRMED = "confirmed"  # paid: the payment is confirmed (or recorded, for a cancelled order)
    NOTED = "noted"  # not paid: the failure is noted, the order keeps waiting
    ALREADY = "already"  # a repeat: nothing changed
    NOT_FOUND = "not_found"
    BAD_AMOUNT = "bad_amount"


def _was_cancelled_while_waiting(order: Order, payment: Payment) -> bool:
    return order.status is OrderStatus.cancelled and payment.status in (PaymentStatus.pending, PaymentStatus.failed) \
        and not payment.provider_reference


def _record_late_payment(order: Order, payment: Payment, report: Report, *, gateway: str) -> None:
    payment.status, payment.provider_reference, payment.updated_at = PaymentStatus.paid, report.transaction, utcnow()
    flag(order, f"{gateway} payment {report.transaction} came in after the order was cancelled: refund it.")


def _note_failure(payment: Payment, report: Report) -> None:
    link = {key: value for key, value in payment.details.get(LINK, {}).items() if key != "url"}
    payment.details = {**payment.details, "last_failure": dict(report.failure), **({LINK: link} if link else {})}


def settle_report(session: Session, *, method: PaymentMethod, report: Report) -> Outcome:
    """A verified gateway report applied once: a success confirms the payment and places the order (for an order
    cancelled meanwhile, the payment is recorded and the order flagged for a refund); a failure is noted and the
    order keeps waiting; a repeat, or any report about a payment already settled, changes nothing."""
    found = _payment_of(session, report.reference, method)
    if found is None:
        return Outcome.NOT_FOUND
    order, payment = found
    if report.amount != payment.amount:
        return Outcome.BAD_AMOUNT
    gateway = NAMES[method]
    if report.succeeded and _was_cancelled_while_waiting(order, payment):
        _record_late_payment(order, payment, report, gateway=gateway)
    elif payment.status is not PaymentStatus.pending:
        return Outcome.ALREADY
    elif not report.succeeded:
        _note_failure(payment, report)
    else:
        lifecycle.settle_payment(session, order, payment, provider_reference=report.transaction,
                                 actor=method.value)
    session.commit()
    return Outcome.CONFIRMED if report.succeeded else Outcome.NOTED


def _gateway_not_set_up(method: PaymentMethod, settings_names: str) -> ServiceUnavailable:
    return ServiceUnavailable(f"{NAMES[method]} is not set up: set {settings_names}.", code="gateway_not_configured")


def _created_link(session: Session, *, order_id: int, method: PaymentMethod,
                  create: Callable[[Order, Payment, str], str]) -> str:
    """The pay address of the order's waiting payment at a gateway that creates it through its API: the one
    created before while it stands (same amount, not failed since), else a new one under a new attempt number
    (a gateway refuses an id it has seen), made by ``create(order, payment, gateway_reference)``."""
    order, payment = _order_and_waiting_payment(session, order_id=order_id, method=method)
    link = dict(payment.details.get(LINK, {}))
    if link.get("url") and link.get("amount") == payment.amount:
        return str(link["url"])
    locked = session.scalar(select(Payment).where(Payment.id == payment.id).with_for_update()
                            .execution_options(populate_existing=True))
    if locked is None or locked.status is not PaymentStatus.pending:
        raise Conflict(f"Order {order.number} has no {NAMES[method]} payment waiting.", code="no_payment_waiting")
    attempt = int(locked.details.get(LINK, {}).get("attempt", 0)) + 1
    gateway_reference = f"{_reference(order, payment)}.{attempt}"
    locked.details = {**locked.details, LINK: {"attempt": attempt, "reference": gateway_reference}}
    session.commit()
    try:
        url = create(order, locked, gateway_reference)
    except GatewayRefused as exc:
        raise BadGateway(str(exc), code="gateway_refused") from exc
    locked.details = {**locked.details, LINK: {"attempt": attempt, "reference": gateway_reference, "url": url,
                                               "amount": locked.amount}}
    session.commit()
    return url


def _base_reference(gateway_reference: str) -> str:
    """Our reference without the attempt number a created link carries."""
    base, dot, attempt = gateway_reference.rpartition(".")
    return base if dot and attempt.isdigit() else ""


@contextmanager
def _client(http: httpx.Client | None) -> Iterator[httpx.Client]:
    """The caller's HTTP client, or one of our own for this call."""
    if http is not None:
        yield http
        return
    with http_client(timeout=GATEWAY_TIMEOUT) as client:
        yield client


def _order_info(order: Order) -> str:
    return f"Thanh toan don hang {order.number}"


# --- VNPay ------------------------------------------------------------------------------------------------------


def vnpay_config(settings: Settings) -> vnpay.VnpayConfig:
    """The VNPay terminal as the settings name it."""
    return vnpay.VnpayConfig(tmn_code=settings.vnpay_tmn_code,
                             hash_secret=settings.vnpay_hash_secret.get_secret_value(),
                             payment_url=settings.vnpay_payment_url, return_url=settings.vnpay_return_url)


def vnpay_payment_url(session: Session, *, order_id: int, ip: str, config: vnpay.VnpayConfig,
                      now: datetime | None = None) -> str:
    """The VNPay address where the customer pays the order's waiting VNPay payment (valid while stock is held)."""
    if not config.is_configured:
        raise _gateway_not_set_up(PaymentMethod.vnpay, "XUYEN_VNPAY_TMN_CODE, XUYEN_VNPAY_HASH_SECRET and "
                                                       "XUYEN_VNPAY_RETURN_URL")
    order, payment = _order_and_waiting_payment(session, order_id=order_id, method=PaymentMethod.vnpay)
    reference = _reference(order, payment)
    if payment.details.get("txn_ref") != reference:
        payment.details = {**payment.details, "txn_ref": reference}
        session.commit()
    moment = now or utcnow()
    return vnpay.payment_url(config, txn_ref=reference, amount=payment.amount, ip=ip, created_at=moment,
                             expires_at=order.expires_at, order_info=_order_info(order))


def vnpay_ipn(session: Session, *, params: Mapping[str, str], config: vnpay.VnpayConfig) -> vnpay.IpnResult:
    """VNPay's server-to-server report of a payment: verified, then the payment is confirmed once (a repeated
    report answers "already confirmed"); an unsuccessful one is noted and the order keeps waiting."""
    if not vnpay.verify(params, config.hash_secret) or params.get("vnp_TmnCode") != config.tmn_code:
        return vnpay.BAD_SIGNATURE
    transaction = params.get("vnp_TransactionNo", "")[:100]
    succeeded = params.get("vnp_ResponseCode") == vnpay.SUCCESS and params.get("vnp_TransactionStatus") == vnpay.SUCCESS
    report = Report(reference=params.get("vnp_TxnRef", ""), amount=vnpay.from_vnp_amount(params.get("vnp_Amount", "")),
                    succeeded=succeeded, transaction=transaction,
                    failure={"response_code": params.get("vnp_ResponseCode", "")[:8], "transaction": transaction})
    return VNPAY_ANSWERS[settle_report(session, method=PaymentMethod.vnpay, report=report)]


VNPAY_ANSWERS = {Outcome.CONFIRMED: vnpay.CONFIRMED, Outcome.NOTED: vnpay.CONFIRMED, Outcome.ALREADY: vnpay.ALREADY,
                 Outcome.NOT_FOUND: vnpay.NOT_FOUND, Outcome.BAD_AMOUNT: vnpay.BAD_AMOUNT}


# --- MoMo -------------------------------------------------------------------------------------------------------


def momo_config(settings: Settings) -> momo.MomoConfig:
    """The MoMo merchant as the settings name it."""
    return momo.MomoConfig(partner_code=settings.momo_partner_code, access_key=settings.momo_access_key,
                           secret_key=settings.momo_secret_key.get_secret_value(), endpoint=settings.momo_endpoint,
                           ipn_url=settings.momo_ipn_url, redirect_url=settings.momo_redirect_url)


def momo_payment_url(session: Session, *, order_id: int, config: momo.MomoConfig,
                     http: httpx.Client | None = None) -> str:
    """MoMo's ``payUrl`` where the customer pays the order's waiting MoMo payment (created once per attempt)."""
    if not config.is_configured:
        raise _gateway_not_set_up(PaymentMethod.momo, "XUYEN_MOMO_PARTNER_CODE, XUYEN_MOMO_ACCESS_KEY, "
                                                      "XUYEN_MOMO_SECRET_KEY, XUYEN_MOMO_IPN_URL and "
                                                      "XUYEN_MOMO_REDIRECT_URL")

    def create(order: Order, payment: Payment, gateway_reference: str) -> str:
        with _client(http) as client:
            return momo.create_payment(config, client, order_id=gateway_reference, request_id=gateway_reference,
                                       amount=payment.amount, order_info=_order_info(order))

    return _created_link(session, order_id=order_id, method=PaymentMethod.momo, create=create)


def momo_ipn(session: Session, *, body: Mapping[str, Any], config: momo.MomoConfig) -> Outcome:
    """MoMo's IPN: checked for shape (ValidationFailed) and signature (BadRequest), then applied once; a result
    that is not final yet (the customer still confirming, MoMo still processing) changes nothing."""
    fields = momo.read_ipn(body)
    if fields is None:
        raise ValidationFailed("This is not a MoMo IPN: a field is missing or has the wrong type.",
                               code="malformed_ipn")
    if not momo.verify_ipn(fields, config):
        raise BadRequest("The IPN's signature is not MoMo's.", code="invalid_signature")
    if fields["resultCode"] in momo.IN_PROGRESS:
        return Outcome.ALREADY
    transaction = str(fields["transId"])
    report = Report(reference=_base_reference(fields["orderId"]), amount=fields["amount"],
                    succeeded=fields["resultCode"] == momo.SUCCESS, transaction=transaction,
                    failure={"result_code": str(fields["resultCode"]), "transaction": transaction})
    outcome = settle_report(session, method=PaymentMethod.momo, report=report)
    if outcome is Outcome.NOT_FOUND:
        raise NotFound(f"No MoMo payment {fields['orderId'][:60]} is known here.", code="payment_not_found")
    if outcome is Outcome.BAD_AMOUNT:
        raise Conflict("The IPN's amount is not the payment's.", code="amount_mismatch")
    return outcome


# --- ZaloPay ----------------------------------------------------------------------------------------------------


def zalopay_config(settings: Settings) -> zalopay.ZalopayConfig:
    """The ZaloPay app as the settings name it."""
    return zalopay.ZalopayConfig(app_id=settings.zalopay_app_id, key1=settings.zalopay_key1.get_secret_value(),
                                 key2=settings.zalopay_key2.get_secret_value(), endpoint=settings.zalopay_endpoint,
                                 callback_url=settings.zalopay_callback_url,
                                 redirect_url=settings.zalopay_redirect_url)


def _zalopay_items(session: Session, order: Order) -> list[dict[str, Any]]:
    return [{"itemid": line.sku, "itemname": line.name[:100], "itemprice": line.unit_price,
             "itemquantity": line.quantity} for line in lines_of(session, order.id)]


def zalopay_order_url(session: Session, *, order_id: int, config: zalopay.ZalopayConfig,
                      http: httpx.Client | None = None, now: datetime | None = None) -> str:
    """ZaloPay's ``order_url`` where the customer pays the order's waiting ZaloPay payment (created once per
    attempt, expiring with the stock hold)."""
    if not config.is_configured:
        raise _gateway_not_set_up(PaymentMethod.zalopay, "XUYEN_ZALOPAY_APP_ID, XUYEN_ZALOPAY_KEY1, "
                                                         "XUYEN_ZALOPAY_KEY2, XUYEN_ZALOPAY_CALLBACK_URL and "
                                                         "XUYEN_ZALOPAY_REDIRECT_URL")
    moment = now or utcnow()

    def create(order: Order, payment: Payment, gateway_reference: str) -> str:
        expires_in = int((order.expires_at - moment).total_seconds()) if order.expires_at else None
        user = f"customer-{order.profile_id}" if order.profile_id else f"order-{order.number}"
        with _client(http) as client:
            return zalopay.create_order(config, client, trans_id=zalopay.app_trans_id(gateway_reference, at=moment),
                                        app_user=user, amount=payment.amount, at=moment,
                                        items=_zalopay_items(session, order), description=_order_info(order),
                                        expires_in=expires_in)

    return _created_link(session, order_id=order_id, method=PaymentMethod.zalopay, create=create)


ZALOPAY_ANSWERS = {Outcome.CONFIRMED: zalopay.DONE, Outcome.NOTED: zalopay.DONE, Outcome.ALREADY: zalopay.ALREADY,
                   Outcome.NOT_FOUND: zalopay.NOT_FOUND, Outcome.BAD_AMOUNT: zalopay.BAD_AMOUNT}


def zalopay_callback(session: Session, *, body: Mapping[str, Any],
                     config: zalopay.ZalopayConfig) -> zalopay.CallbackAnswer:
    """ZaloPay's callback for a paid order: the ``mac`` verified under key2, then the payment confirmed once
    (a repeat answers ``2``); answered in ZaloPay's format."""
    if not zalopay.is_well_formed(body):
        return zalopay.MALFORMED
    if not zalopay.verify_callback(body, config.key2):
        return zalopay.BAD_MAC
    paid = zalopay.read_callback(str(body["data"]))
    if paid is None or paid.app_id != config.app_id:
        return zalopay.MALFORMED
    report = Report(reference=_base_reference(zalopay.reference_of(paid.trans_id)), amount=paid.amount,
                    succeeded=True, transaction=paid.zp_trans_id)
    return ZALOPAY_ANSWERS[settle_report(session, method=PaymentMethod.zalopay, report=report)]
