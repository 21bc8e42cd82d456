"""Pricing tables: price lists and prices, price overrides, promotions, coupons and their redemptions, VAT rates,
and the version token that tells every process when what it caches for quotes is stale.

Money is an integer count of the currency's minor unit (whole đồng for VND). Percentages are integer basis points
(hundredths of a percent: 1000 = 10 %), so no value ever goes through a float.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=24, values_callable=lambda members: [m.value for m in members])


class PriceList(Base):
    """The prices of the catalogue in one currency. Each currency has one base list (``base_currency`` is set on
    it only, and is unique); prices are VAT-inclusive retail prices as the shop shows them."""

    __tablename__ = "pricing_price_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    minor_units: Mapped[int] = mapped_column(Integer, default=0)
    base_currency: Mapped[str | None] = mapped_column(String(3), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Price(Base):
    """A variant's price on a price list, in the list currency's minor units."""

    __tablename__ = "pricing_prices"
    __table_args__ = (UniqueConstraint("price_list_id", "variant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("pricing_price_lists.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class OverrideKind(enum.StrEnum):
    """A fixed price, or a percentage added to (positive) or taken off (negative) the price it applies to."""

    fixed = "fixed"
    percent = "percent"


class PriceOverride(Base):
    """An explicit, named change of price in one context: a sales channel, a store, a loyalty tier, a period, or
    any combination. ``variant_id`` null means every variant. Percent overrides round to ``round_to`` minor units
    (1000: whole thousands of đồng)."""

    __tablename__ = "pricing_overrides"
    __table_args__ = (Index("ix_pricing_overrides_variant_id", "variant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("pricing_price_lists.id", ondelete="CASCADE"))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(24))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    tier: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[OverrideKind] = mapped_column(_enum(OverrideKind))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    percent_bp: Mapped[int | None] = mapped_column(Integer)
    round_to: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")


class PromotionKind(enum.StrEnum):
    """What a promotion gives: see docs/pricing.md for each kind's parameters."""

    percent = "percent"
    fixed = "fixed"
    buy_x_get_y = "buy_x_get_y"
    bundle = "bundle"
    threshold = "threshold"


class PromotionScope(enum.StrEnum):
    """Which lines a promotion looks at: the whole order, or only some products, categories or SKUs."""

    order = "order"
    products = "products"
    categories = "categories"
    skus = "skus"


class Promotion(Base):
    """A promotion's definition. ``params`` holds the kind's parameters; ``channels`` and ``tiers`` restrict it
    (empty: everyone); ``priority`` orders stacked promotions (higher first); an ``exclusive`` promotion never
    combines with another; at most one promotion of a ``stack_group`` applies."""

    __tablename__ = "pricing_promotions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    kind: Mapped[PromotionKind] = mapped_column(_enum(PromotionKind))
    scope: Mapped[PromotionScope] = mapped_column(_enum(PromotionScope), default=PromotionScope.order)
    targets: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    stack_group: Mapped[str | None] = mapped_column(String(64))
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    tiers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    requires_coupon: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(Base):
    """A code that unlocks a promotion. ``max_uses`` caps the redemptions in total (1: single use; null: no cap),
    ``per_customer_limit`` per customer; ``uses`` counts the redemptions not released."""

    __tablename__ = "pricing_coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("pricing_promotions.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    batch: Mapped[str] = mapped_column(String(64), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CouponRedemption(Base):
    """One use of a coupon by an order (``reference``); ``released_at`` is set when the order is cancelled."""

    __tablename__ = "pricing_coupon_redemptions"
    __table_args__ = (UniqueConstraint("coupon_id", "reference"),
                      Index("ix_pricing_coupon_redemptions_profile", "coupon_id", "profile_id"),
                      Index("ix_pricing_coupon_redemptions_reference", "reference"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("pricing_coupons.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(100))
    profile_id: Mapped[int | None] = mapped_column(BigInteger)
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class VatRate(Base):
    """The VAT rate of a tax class over a period of local (Vietnamese) dates, both ends included; ``rate_bp`` null
    means not subject to VAT. On a date, the row with the latest ``valid_from`` that covers it is in force, so a
    temporary reduction lies on top of the open-ended normal rate."""

    __tablename__ = "pricing_vat_rates"
    __table_args__ = (UniqueConstraint("tax_class", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tax_class: Mapped[str] = mapped_column(String(24))
    rate_bp: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(300), default="")


class PricingVersion(Base):
    """One row whose ``token`` changes (a new random value) with every change of what quotes cache: price lists,
    prices, overrides, promotions, VAT rates, and the catalogue's variants and products (database triggers move it,
    see migration 0020). Each process compares it with the token of its cache before a quote, and reloads when
    they differ."""

    __tablename__ = "pricing_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
