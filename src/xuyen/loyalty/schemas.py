"""Loyalty API bodies and answers: balances with recent entries, spending and topping up, settings, tiers, rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from xuyen.loyalty.ledger import MAX_AMOUNT
from xuyen.loyalty.models import EarnRule, LoyaltySettings, Posting, Tier
from xuyen.loyalty.programme import MAX_MULTIPLIER_PERCENT, MAX_SPEND, RuleSpec
from xuyen.loyalty.service import Balances

Amount = Field(gt=0, le=MAX_AMOUNT, strict=True)


class PostingOut(BaseModel):
    """One posting of the customer's ledger (amounts are positive; ``kind`` says which way they went)."""

    id: int
    kind: str
    account: str
    amount: int
    reference: str
    actor: str
    profile_id: int
    detail: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, posting: Posting) -> PostingOut:
        return cls(id=posting.id, kind=posting.kind.value, account=posting.account.value, amount=posting.amount,
                   reference=posting.reference, actor=posting.actor, profile_id=posting.profile_id,
                   detail=posting.detail or {}, created_at=posting.created_at)


class LoyaltyOut(BaseModel):
    """A customer's balances, tier, progress to the next tier and most recent postings."""

    profile_id: int
    points: int
    points_worth: int = Field(description="What the points pay for at checkout, in đồng.")
    stored_value: int
    tier: str | None
    tier_name: str | None
    window_spend: int = Field(description="Spend over the rolling tier window, in đồng.")
    lifetime_spend: int
    next_tier: str | None
    next_tier_name: str | None
    to_next_tier: int | None = Field(description="Đồng still to spend to reach the next tier; null at the top.")
    entries: list[PostingOut]

    @classmethod
    def of(cls, found: Balances, postings: list[Posting]) -> LoyaltyOut:
        return cls(profile_id=found.profile_id, points=found.points, points_worth=found.points_worth,
                   stored_value=found.stored_value, tier=found.tier, tier_name=found.tier_name,
                   window_spend=found.window_spend, lifetime_spend=found.lifetime_spend, next_tier=found.next_tier,
                   next_tier_name=found.next_tier_name, to_next_tier=found.to_next_tier,
                   entries=[PostingOut.of(posting) for posting in postings])


class SpendIn(BaseModel):
    """Points or đồng of stored value to take from (or give back to) the customer."""

    model_config = ConfigDict(extra="forbid")

    account: Literal["points", "stored_value"]
    amount: int = Amount


class TopUpIn(BaseModel):
    """Đồng to add to the customer's stored value, and how they were paid."""

    model_config = ConfigDict(extra="forbid")

    amount: int = Amount
    payment_method: str = Field(min_length=1, max_length=32, examples=["cash", "card", "momo", "bank_transfer"])


class SettingsPatch(BaseModel):
    """Settings to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    spend_per_point: int | None = Field(default=None, strict=True, description="Đồng spent per point earned.")
    point_value: int | None = Field(default=None, strict=True, description="Đồng a point pays for at checkout.")
    expiry_mode: Literal["end_of_next_year", "months"] | None = None
    expiry_months: int | None = Field(default=None, strict=True)
    tier_window_months: int | None = Field(default=None, strict=True)

    def changes(self) -> dict[str, Any]:
        """The fields given, as the service takes them."""
        return {name: value for name, value in self.model_dump(exclude_unset=True).items() if value is not None}


class SettingsOut(BaseModel):
    spend_per_point: int
    point_value: int
    expiry_mode: str
    expiry_months: int
    tier_window_months: int
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, settings: LoyaltySettings) -> SettingsOut:
        return cls(spend_per_point=settings.spend_per_point, point_value=settings.point_value,
                   expiry_mode=settings.expiry_mode.value, expiry_months=settings.expiry_months,
                   tier_window_months=settings.tier_window_months, updated_at=settings.updated_at,
                   updated_by=settings.updated_by)


class TierIn(BaseModel):
    """A new tier."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, examples=["gold"])
    name: str = Field(min_length=1, max_length=100, examples=["Vàng"])
    min_spend: int = Field(ge=0, le=MAX_SPEND, strict=True, examples=[15_000_000])


class TierPatch(BaseModel):
    """What to change of a tier."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    min_spend: int | None = Field(default=None, ge=0, le=MAX_SPEND, strict=True)


class TierOut(BaseModel):
    id: int
    code: str
    name: str
    min_spend: int

    @classmethod
    def of(cls, tier: Tier) -> TierOut:
        return cls(id=tier.id, code=tier.code, name=tier.name, min_spend=tier.min_spend)


class RuleIn(BaseModel):
    """An earning rule: a multiplier (percent) for the lines that meet every condition it names."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["Vàng nhân đôi"])
    multiplier_percent: int = Field(ge=0, le=MAX_MULTIPLIER_PERCENT, strict=True, examples=[200])
    channel: str | None = Field(default=None, max_length=32, examples=["pos"])
    category_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    tier_code: str | None = Field(default=None, max_length=32, examples=["gold"])
    is_active: bool = True

    def spec(self) -> RuleSpec:
        return RuleSpec(name=self.name, multiplier_percent=self.multiplier_percent, channel=self.channel,
                        category_id=self.category_id, tier_code=self.tier_code, is_active=self.is_active)


class RuleOut(BaseModel):
    id: int
    name: str
    multiplier_percent: int
    channel: str | None
    category_id: int | None
    tier_code: str | None
    is_active: bool

    @classmethod
    def of(cls, rule: EarnRule) -> RuleOut:
        return cls(id=rule.id, name=rule.name, multiplier_percent=rule.multiplier_percent, channel=rule.channel,
                   category_id=rule.category_id, tier_code=rule.tier_code, is_active=rule.is_active)
