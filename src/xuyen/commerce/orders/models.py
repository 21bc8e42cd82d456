"""Order tables: orders from every channel, their lines, payments and refunds, status history, and returns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.db import Base, BigId, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=24, values_callable=lambda members: [m.value for m in members])


class OrderStatus(enum.StrEnum):
    """Where an order stands; ``xuyen.commerce.orders.states`` says which moves are allowed."""

    pending_payment = "pending_payment"  # stock held until the payment is confirmed or the hold expires
    placed = "placed"  # accepted (paid, or cash on delivery): to be prepared
    fulfilling = "fulfilling"  # being picked and packed
    ready_for_pickup = "ready_for_pickup"  # waiting for the customer in the pickup store
    shipped = "shipped"  # handed to the carrier
    completed = "completed"  # delivered, collected or sold over the counter
    cancelled = "cancelled"


class Fulfilment(enum.StrEnum):
    """How the goods reach the customer."""

    ship = "ship"  # shipped from a warehouse or a store, as the stock allocation chose
    pickup = "pickup"  # collected by the customer in the store they chose
    counter = "counter"  # handed over at the till (POS)


class PaymentMethod(enum.StrEnum):
    """How a customer pays (or is paid back)."""

    cod = "cod"
    bank_transfer = "bank_transfer"
    momo = "momo"
    vnpay = "vnpay"
    zalopay = "zalopay"
    card = "card"
    cash = "cash"
    stored_value = "stored_value"
    points = "points"
    exchange = "exchange"  # the value of goods brought back in an exchange, spent on the new ones

    @property
    def is_loyalty(self) -> bool:
        """Whether the loyalty ledger holds this money (taken at once, given back at once)."""
        return self in (PaymentMethod.stored_value, PaymentMethod.points)

    @property
    def is_online(self) -> bool:
        """Whether a gateway confirms the payment later (the order waits in ``pending_payment``)."""
        return self in (PaymentMethod.momo, PaymentMethod.vnpay, PaymentMethod.zalopay, PaymentMethod.bank_transfer)


class PaymentStatus(enum.StrEnum):
    pending = "pending"
    authorised = "authorised"
    paid = "paid"
    refunded = "refunded"
    failed = "failed"


class PaymentKind(enum.StrEnum):
    payment = "payment"  # money in from the customer
    refund = "refund"  # money back to the customer (``pending`` until paid out)


class Order(Base):
    """One order from any channel, with the prices as they were quoted and the customer as they were given.

    Marketplace orders keep the platform's ids (``account`` + ``external_id``, unique per channel) and its last
    word about them (``external_status`` at ``external_updated_at``), so a late, older update is ignored.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "account", "external_id", name="uq_orders_external"),
        Index("ix_orders_channel_status", "channel", "status"),
        Index("ix_orders_created_at", "created_at"),
        Index("ix_orders_expiry", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    channel: Mapped[SalesChannel] = mapped_column(_enum(SalesChannel))
    account: Mapped[str] = mapped_column(String(64), default="")
    external_id: Mapped[str | None] = mapped_column(String(100))
    external_status: Mapped[str] = mapped_column(String(40), default="")
    external_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus))
    fulfilment: Mapped[Fulfilment] = mapped_column(_enum(Fulfilment), default=Fulfilment.ship)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(Integer)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id", ondelete="SET NULL"), index=True)
    identifiers: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(32), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    subtotal: Mapped[int] = mapped_column(Integer, default=0)  # list prices × quantities
    discount_total: Mapped[int] = mapped_column(Integer, default=0)
    shipping_fee: Mapped[int] = mapped_column(Integer, default=0)
    vat_total: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)  # what the customer pays, shipping included
    coupon_codes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    discounts: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # the quote's order discounts
    needs_attention: Mapped[bool] = mapped_column(Boolean, default=False)
    attention_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderLine(Base):
    """One line of an order, priced as quoted. A marketplace line whose listing we do not know has no variant
    (``variant_id`` is empty, ``unmatched`` set) and keeps the platform's ids, so it can be mapped later."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(128), default="")
    name: Mapped[str] = mapped_column(String(300), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    list_price: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[int] = mapped_column(Integer, default=0)
    discount: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)  # what the customer pays for the line
    vat_rate: Mapped[str | None] = mapped_column(String(8))  # percent ("8", "10"); empty: not subject to VAT
    vat_amount: Mapped[int] = mapped_column(Integer, default=0)
    net_amount: Mapped[int] = mapped_column(Integer, default=0)
    promotions: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    unmatched: Mapped[bool] = mapped_column(Boolean, default=False)
    external_item_id: Mapped[str] = mapped_column(String(64), default="")
    external_model_id: Mapped[str] = mapped_column(String(64), default="")
    external_sku: Mapped[str] = mapped_column(String(128), default="")


class Payment(Base):
    """Money in (``payment``) or back out (``refund``) for an order, by one method.

    A refund to be paid out by hand (cash, card, bank, e-wallet) stays ``pending`` until someone records it
    paid; a refund to stored value or points is made by the loyalty ledger at once.
    """

    __tablename__ = "order_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("order_returns.id", ondelete="SET NULL"))
    kind: Mapped[PaymentKind] = mapped_column(_enum(PaymentKind), default=PaymentKind.payment)
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod))
    amount: Mapped[int] = mapped_column(Integer)
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus), default=PaymentStatus.pending)
    provider_reference: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusChange(Base):
    """One move of an order's status: from what, to what, by whom, when and why."""

    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefundTo(enum.StrEnum):
    original = "original"  # the way the customer paid
    stored_value = "stored_value"  # the customer's stored value (loyalty)


class ReturnCondition(enum.StrEnum):
    restock = "restock"  # goes back on the shelf where it came back
    damaged = "damaged"  # written off: no stock comes back


class OrderReturn(Base):
    """Goods of an order brought back at one location, and the money given back for them."""

    __tablename__ = "order_returns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id", ondelete="SET NULL"))
    refund_to: Mapped[RefundTo] = mapped_column(_enum(RefundTo))
    amount: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
    exchange_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReturnLine(Base):
    """How many of one order line came back, in what condition, and what they are worth as paid."""

    __tablename__ = "order_return_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("order_returns.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer)
    condition: Mapped[ReturnCondition] = mapped_column(_enum(ReturnCondition))
