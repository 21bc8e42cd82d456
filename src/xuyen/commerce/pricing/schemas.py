"""The quote: what every channel is told a cart costs (lines, promotions, coupons, totals and VAT), and the body of
a quote request."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from xuyen.commerce.channels import SalesChannel

MAX_QUOTE_LINES = 100
MAX_QUANTITY = 999
MAX_COUPONS = 10


class PriceAdjustment(BaseModel):
    """A price override that set the line's unit price: where it applies and why."""

    override_id: int
    kind: str
    applies_to: str = Field(description="What the override is for: 'channel shopee', 'store HN01', 'tier gold', …")
    reason: str
    price_before: int
    price_after: int


class LinePromotion(BaseModel):
    """A promotion's share of a line's discount."""

    promotion_id: int
    name: str
    amount: int


class QuoteLine(BaseModel):
    """One line of the quote. ``list_price`` is the base price list's price, ``unit_price`` the price here after
    overrides; ``total`` = ``unit_price`` × ``quantity`` − ``discount`` = ``net_amount`` + ``vat_amount``."""

    variant_id: int
    sku: str
    name: str
    product_id: int
    category_id: int | None
    quantity: int
    list_price: int
    unit_price: int
    discount: int
    total: int
    vat_rate: Decimal | None = Field(description="Percent; null: not subject to VAT (KCT on the invoice).")
    vat_amount: int
    net_amount: int
    is_gift: bool = False
    promotions: list[LinePromotion] = []
    adjustments: list[PriceAdjustment] = []


class QuoteDiscount(BaseModel):
    """A promotion the cart gets, with the coupon code that unlocked it (if any)."""

    promotion_id: int
    name: str
    code: str | None
    amount: int


class CouponResult(BaseModel):
    """A coupon code of the request: accepted (and whether its promotion made it into the cart) or rejected."""

    code: str
    accepted: bool
    applied: bool = False
    promotion_id: int | None = None
    reason: str | None = Field(default=None, description="Why it was refused: a stable code.")
    message: str | None = None


class VatTotal(BaseModel):
    """One rate's totals on the invoice."""

    rate: Decimal | None
    net: int
    vat: int


class Quote(BaseModel):
    """What the cart costs on one channel at one moment."""

    currency: str
    channel: SalesChannel
    store_id: int | None
    profile_id: int | None
    tier: str | None
    at: datetime
    lines: list[QuoteLine]
    discounts: list[QuoteDiscount]
    coupons: list[CouponResult]
    subtotal: int
    discount_total: int
    total: int
    vat: list[VatTotal]


class QuoteLineIn(BaseModel):
    """A line of a quote request: a SKU or a variant id, and a quantity."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(default=None, min_length=1, max_length=64)
    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)

    @model_validator(mode="after")
    def _one_key(self) -> QuoteLineIn:
        if (self.sku is None) == (self.variant_id is None):
            raise ValueError("give either sku or variant_id")
        return self


class CustomerIn(BaseModel):
    """Who the customer is: a profile id, or an identifier (phone, email, …) the identity graph knows."""

    model_config = ConfigDict(extra="forbid")

    profile_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    type: str | None = Field(default=None, max_length=32, examples=["phone"])
    value: str | None = Field(default=None, max_length=320, examples=["0912 345 678"])
    tier: str | None = Field(default=None, max_length=64, description="The customer's loyalty tier, if known.")


class QuoteIn(BaseModel):
    """A quote request."""

    model_config = ConfigDict(extra="forbid")

    channel: SalesChannel
    store_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    store_code: str | None = Field(default=None, max_length=32)
    customer: CustomerIn | None = None
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=MAX_QUOTE_LINES)
    coupon_codes: list[Annotated[str, Field(max_length=64)]] = Field(default=[], max_length=MAX_COUPONS)
    at: AwareDatetime | None = Field(default=None, description="Price the cart as at this moment (with a time zone); "
                                                          "default now.")
