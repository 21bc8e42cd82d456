"""Orders API bodies and answers: checkout, till sales, chat orders, payments, moves, cancellations, returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.building import Customer, LineIn, PaymentIn
from xuyen.commerce.orders.models import (
    Fulfilment,
    Order,
    OrderLine,
    OrderReturn,
    OrderStatus,
    Payment,
    PaymentMethod,
    RefundTo,
    ReturnCondition,
    ReturnLine,
    StatusChange,
)
from xuyen.commerce.orders.returns import ReturnLineIn
from xuyen.commerce.orders.service import OrderDetail

MAX_ID = 2**31 - 1
MAX_MONEY = 10_000_000_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineBody(_In):
    """A SKU (or, at the till, a barcode) and how many."""

    sku: str = Field(min_length=1, max_length=64, examples=["AO-THUN-DEN-M"])
    quantity: int = Field(ge=1, le=999)

    def to_line(self) -> LineIn:
        return LineIn(code=self.sku, quantity=self.quantity)


class PaymentBody(_In):
    """A way the customer pays and how much (whole đồng; leave it out on one payment to pay the rest)."""

    method: PaymentMethod
    amount: int = Field(default=0, ge=0, le=MAX_MONEY)
    provider_reference: str = Field(default="", max_length=200)

    def to_payment(self) -> PaymentIn:
        return PaymentIn(method=self.method, amount=self.amount, provider_reference=self.provider_reference)


class CustomerBody(_In):
    """Who the order is for: name, phone, e-mail (the phone or e-mail finds their profile)."""

    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=254)

    def to_customer(self) -> Customer:
        return Customer(name=self.name, phone=self.phone, email=self.email)


class CheckoutIn(_In):
    """A web or app cart checked out."""

    channel: SalesChannel = SalesChannel.web
    lines: list[LineBody] = Field(min_length=1, max_length=100)
    customer: CustomerBody
    payments: list[PaymentBody] = Field(min_length=1, max_length=5)
    fulfilment: Fulfilment = Fulfilment.ship
    pickup_store_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    shipping_address: dict[str, str] = Field(default_factory=dict, max_length=20)
    shipping_fee: int = Field(default=0, ge=0, le=MAX_MONEY)
    coupon_codes: list[str] = Field(default_factory=list, max_length=10)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    hold_minutes: int = Field(default=30, ge=1, le=4320)
    note: str = Field(default="", max_length=1000)


class ChatOrderIn(_In):
    """An order an agent takes in a conversation, for its customer."""

    conversation_id: int = Field(ge=1, le=MAX_ID)
    lines: list[LineBody] = Field(min_length=1, max_length=100)
    payments: list[PaymentBody] = Field(min_length=1, max_length=5)
    customer: CustomerBody = Field(default_factory=CustomerBody)
    fulfilment: Fulfilment = Fulfilment.ship
    pickup_store_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    shipping_address: dict[str, str] = Field(default_factory=dict, max_length=20)
    shipping_fee: int = Field(default=0, ge=0, le=MAX_MONEY)
    coupon_codes: list[str] = Field(default_factory=list, max_length=10)
    note: str = Field(default="", max_length=1000)


class PosSaleIn(_In):
    """A sale rung up at a store's till: scanned SKUs or barcodes, and how the customer paid."""

    store_id: int = Field(ge=1, le=MAX_ID)
    lines: list[LineBody] = Field(min_length=1, max_length=100)
    payments: list[PaymentBody] = Field(min_length=1, max_length=5)
    customer: CustomerBody = Field(default_factory=CustomerBody)
    coupon_codes: list[str] = Field(default_factory=list, max_length=10)


class PaymentConfirmIn(_In):
    """A waiting payment came in."""

    provider_reference: str = Field(min_length=1, max_length=200)
    amount: int | None = Field(default=None, ge=0, le=MAX_MONEY)
    payment_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class MoveIn(_In):
    """Move an order along its fulfilment."""

    status: OrderStatus
    note: str = Field(default="", max_length=500)


class CancelIn(_In):
    """Why the order is cancelled."""

    reason: str = Field(min_length=1, max_length=500)


class ReturnLineBody(_In):
    order_line_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Field(ge=1, le=999)
    condition: ReturnCondition = ReturnCondition.restock

    def to_line(self) -> ReturnLineIn:
        return ReturnLineIn(order_line_id=self.order_line_id, quantity=self.quantity, condition=self.condition)


class ReturnIn(_In):
    """Goods of the order brought back at a location, and where the money goes."""

    lines: list[ReturnLineBody] = Field(min_length=1, max_length=100)
    location_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    refund_to: RefundTo = RefundTo.original
    reason: str = Field(default="", max_length=500)


class ExchangeIn(_In):
    """Goods brought back at a store and swapped for others."""

    lines: list[ReturnLineBody] = Field(min_length=1, max_length=100)
    location_id: int = Field(ge=1, le=MAX_ID)
    new_lines: list[LineBody] = Field(min_length=1, max_length=100)
    payments: list[PaymentBody] = Field(default_factory=list, max_length=5)
    refund_to: RefundTo = RefundTo.original
    reason: str = Field(default="", max_length=500)


class RefundPaidIn(_In):
    provider_reference: str = Field(default="", max_length=200)


class LineOut(BaseModel):
    id: int
    variant_id: int | None
    sku: str
    name: str
    quantity: int
    list_price: int
    unit_price: int
    discount: int
    total: int
    vat_rate: str | None = Field(description="Percent; null: not subject to VAT.")
    vat_amount: int
    net_amount: int
    returned_quantity: int
    unmatched: bool

    @classmethod
    def of(cls, line: OrderLine) -> LineOut:
        return cls.model_validate(line, from_attributes=True)


class PaymentOut(BaseModel):
    id: int
    kind: str
    method: str
    amount: int
    status: str
    provider_reference: str
    return_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, payment: Payment) -> PaymentOut:
        return cls(id=payment.id, kind=payment.kind.value, method=payment.method.value, amount=payment.amount,
                   status=payment.status.value, provider_reference=payment.provider_reference,
                   return_id=payment.return_id, created_at=payment.created_at)


class StatusChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    actor: str
    note: str
    at: datetime

    @classmethod
    def of(cls, change: StatusChange) -> StatusChangeOut:
        return cls.model_validate(change, from_attributes=True)


class ReturnOut(BaseModel):
    id: int
    number: str | None
    location_id: int | None
    refund_to: str
    amount: int
    reason: str
    actor: str
    exchange_order_id: int | None
    created_at: datetime
    lines: list[dict[str, Any]]

    @classmethod
    def of(cls, returned: OrderReturn, lines: list[ReturnLine]) -> ReturnOut:
        return cls(id=returned.id, number=returned.number, location_id=returned.location_id,
                   refund_to=returned.refund_to.value, amount=returned.amount, reason=returned.reason,
                   actor=returned.actor, exchange_order_id=returned.exchange_order_id, created_at=returned.created_at,
                   lines=[{"order_line_id": line.order_line_id, "quantity": line.quantity, "amount": line.amount,
                           "condition": line.condition.value} for line in lines])


class OrderSummaryOut(BaseModel):
    """An order in a list."""

    id: int
    number: str | None
    channel: str
    account: str
    external_id: str | None
    status: str
    fulfilment: str
    store_id: int | None
    location_id: int | None
    profile_id: int | None
    contact_name: str
    total: int
    needs_attention: bool
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, order: Order) -> OrderSummaryOut:
        return cls(id=order.id, number=order.number, channel=order.channel.value, account=order.account,
                   external_id=order.external_id, status=order.status.value, fulfilment=order.fulfilment.value,
                   store_id=order.store_id, location_id=order.location_id, profile_id=order.profile_id,
                   contact_name=order.contact_name, total=order.total, needs_attention=order.needs_attention,
                   created_at=order.created_at, expires_at=order.expires_at)


class OrderOut(OrderSummaryOut):
    """An order with its lines, totals, payments and refunds, history and returns."""

    contact_phone: str
    contact_email: str
    shipping_address: dict[str, Any]
    conversation_id: int | None
    subtotal: int
    discount_total: int
    shipping_fee: int
    vat_total: int
    coupon_codes: list[str]
    attention_reason: str
    placed_at: datetime | None
    paid_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    lines: list[LineOut]
    payments: list[PaymentOut]
    history: list[StatusChangeOut]
    returns: list[ReturnOut]

    @classmethod
    def of_detail(cls, detail: OrderDetail) -> OrderOut:
        order = detail.order
        return cls(**OrderSummaryOut.of(order).model_dump(), contact_phone=order.contact_phone,
                   contact_email=order.contact_email, shipping_address=order.shipping_address,
                   conversation_id=order.conversation_id, subtotal=order.subtotal,
                   discount_total=order.discount_total, shipping_fee=order.shipping_fee, vat_total=order.vat_total,
                   coupon_codes=order.coupon_codes, attention_reason=order.attention_reason,
                   placed_at=order.placed_at, paid_at=order.paid_at, completed_at=order.completed_at,
                   cancelled_at=order.cancelled_at, lines=[LineOut.of(line) for line in detail.lines],
                   payments=[PaymentOut.of(p) for p in detail.payments],
                   history=[StatusChangeOut.of(h) for h in detail.history],
                   returns=[ReturnOut.of(r, lines) for r, lines in detail.returns])


class OrderPageOut(BaseModel):
    total: int
    orders: list[OrderSummaryOut]
