"""API bodies and answers for managing prices, overrides, promotions, coupons and VAT rates."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from xuyen.commerce.pricing.admin import VariantPricing
from xuyen.commerce.pricing.models import Coupon, PriceList, PriceOverride, Promotion, VatRate
from xuyen.commerce.pricing.prices import applies_to
from xuyen.commerce.pricing.vat import percent


class Changes(BaseModel):
    """A body whose fields given are the changes."""

    model_config = ConfigDict(extra="forbid")

    def changes(self) -> dict[str, Any]:
        """The fields given, as the services take them."""
        return self.model_dump(exclude_unset=True)


class PriceListIn(Changes):
    code: str = Field(max_length=32, examples=["VND"])
    name: str = Field(max_length=200, examples=["Giá bán lẻ"])
    currency: str = Field(min_length=3, max_length=3, examples=["VND"])
    minor_units: int = Field(default=0, ge=0, le=4)
    base: bool = False


class PriceListOut(BaseModel):
    id: int
    code: str
    name: str
    currency: str
    minor_units: int
    base: bool
    is_active: bool

    @classmethod
    def of(cls, row: PriceList) -> PriceListOut:
        return cls(id=row.id, code=row.code, name=row.name, currency=row.currency, minor_units=row.minor_units,
                   base=row.base_currency is not None, is_active=row.is_active)


class PriceIn(BaseModel):
    """A variant's price (by variant id or SKU), in the list currency's minor units."""

    model_config = ConfigDict(extra="forbid")

    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    amount: int = Field(ge=0, le=10**12)

    @model_validator(mode="after")
    def _one_key(self) -> PriceIn:
        if (self.sku is None) == (self.variant_id is None):
            raise ValueError("give either sku or variant_id")
        return self


class PricesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prices: list[PriceIn] = Field(min_length=1, max_length=5000)


class PricesChanged(BaseModel):
    changed: int


class OverridePatch(Changes):
    """Fields of a price override; percent is a percentage to add (negative: to take off)."""

    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="null: every variant")
    channel: str | None = Field(default=None, max_length=24, examples=["shopee"])
    store_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    tier: str | None = Field(default=None, max_length=64, examples=["gold"])
    kind: str | None = Field(default=None, examples=["percent"])
    amount: int | None = Field(default=None, ge=0, le=10**12)
    percent: Decimal | None = Field(default=None, ge=-100, le=1000, examples=["10"])
    round_to: int | None = Field(default=None, ge=1, le=1_000_000, examples=[1000])
    reason: str | None = Field(default=None, max_length=300, examples=["Phí sàn Shopee"])
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    is_active: bool | None = None


class OverrideIn(OverridePatch):
    kind: str = Field(examples=["percent"])


class OverrideOut(BaseModel):
    id: int
    variant_id: int | None
    channel: str | None
    store_id: int | None
    tier: str | None
    kind: str
    amount: int | None
    percent: Decimal | None
    round_to: int
    reason: str
    applies_to: str
    starts_at: datetime | None
    ends_at: datetime | None
    is_active: bool
    created_by: str

    @classmethod
    def of(cls, row: PriceOverride) -> OverrideOut:
        return cls(id=row.id, variant_id=row.variant_id, channel=row.channel, store_id=row.store_id, tier=row.tier,
                   kind=row.kind.value, amount=row.amount, percent=percent(row.percent_bp), round_to=row.round_to,
                   reason=row.reason, applies_to=applies_to(row), starts_at=row.starts_at, ends_at=row.ends_at,
                   is_active=row.is_active, created_by=row.created_by)


class VariantPricingOut(BaseModel):
    """A variant's base price and every override that may touch it (``live``: in force now)."""

    variant_id: int
    sku: str
    name: str
    base_price: int | None
    overrides: list[dict[str, Any]]

    @classmethod
    def of(cls, view: VariantPricing) -> VariantPricingOut:
        return cls(variant_id=view.variant.variant_id, sku=view.variant.sku, name=view.variant.name,
                   base_price=view.base_price,
                   overrides=[{**OverrideOut.of(row).model_dump(mode="json"), "live": live}
                              for row, _, live in view.overrides])


class PromotionPatch(Changes):
    """Fields of a promotion (see docs/pricing.md for each kind's params)."""

    name: str | None = Field(default=None, max_length=200, examples=["Giảm 10% toàn đơn"])
    description: str | None = Field(default=None, max_length=1000)
    kind: str | None = Field(default=None, examples=["percent"])
    scope: str | None = Field(default=None, examples=["order"])
    targets: list[str | int] | None = Field(default=None, max_length=1000)
    params: dict[str, Any] | None = Field(default=None, examples=[{"percent": 10}])
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    exclusive: bool | None = None
    stack_group: str | None = Field(default=None, max_length=64)
    channels: list[str] | None = Field(default=None, max_length=20)
    tiers: list[str] | None = Field(default=None, max_length=20)
    requires_coupon: bool | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    is_active: bool | None = None


class PromotionIn(PromotionPatch):
    name: str = Field(max_length=200, examples=["Giảm 10% toàn đơn"])
    kind: str = Field(examples=["percent"])


class PromotionOut(BaseModel):
    id: int
    name: str
    description: str
    kind: str
    scope: str
    targets: list[Any]
    params: dict[str, Any]
    priority: int
    exclusive: bool
    stack_group: str | None
    channels: list[str]
    tiers: list[str]
    requires_coupon: bool
    starts_at: datetime | None
    ends_at: datetime | None
    is_active: bool

    @classmethod
    def of(cls, row: Promotion) -> PromotionOut:
        return cls(id=row.id, name=row.name, description=row.description, kind=row.kind.value,
                   scope=row.scope.value, targets=row.targets, params=row.params, priority=row.priority,
                   exclusive=row.exclusive, stack_group=row.stack_group, channels=row.channels, tiers=row.tiers,
                   requires_coupon=row.requires_coupon, starts_at=row.starts_at, ends_at=row.ends_at,
                   is_active=row.is_active)


class CouponIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, examples=["TET2027"])
    max_uses: int | None = Field(default=None, ge=1, le=10_000_000, description="null: no limit; 1: single use")
    per_customer_limit: int | None = Field(default=None, ge=1, le=10_000_000)


class CouponBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=1, le=10_000)
    prefix: str = Field(default="", max_length=20, examples=["VIP-"])
    per_customer_limit: int | None = Field(default=1, ge=1, le=10_000_000)


class CouponPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool


class CouponOut(BaseModel):
    id: int
    promotion_id: int
    code: str
    max_uses: int | None
    per_customer_limit: int | None
    uses: int
    batch: str
    is_active: bool

    @classmethod
    def of(cls, row: Coupon) -> CouponOut:
        return cls(id=row.id, promotion_id=row.promotion_id, code=row.code, max_uses=row.max_uses,
                   per_customer_limit=row.per_customer_limit, uses=row.uses, batch=row.batch,
                   is_active=row.is_active)


class VatRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tax_class: str = Field(max_length=24, examples=["standard"])
    rate: Decimal | None = Field(ge=0, le=100, description="Percent; null: not subject to VAT.", examples=["8"])
    valid_from: date
    valid_until: date | None = None
    note: str = Field(default="", max_length=300)


class VatRateOut(BaseModel):
    id: int
    tax_class: str
    rate: Decimal | None
    valid_from: date
    valid_until: date | None
    note: str

    @classmethod
    def of(cls, row: VatRate) -> VatRateOut:
        return cls(id=row.id, tax_class=row.tax_class, rate=percent(row.rate_bp), valid_from=row.valid_from,
                   valid_until=row.valid_until, note=row.note)
