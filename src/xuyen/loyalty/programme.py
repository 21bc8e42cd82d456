"""The loyalty programme's settings, tiers and earning rules: reading them (helpers) and changing them (services,
for owners and managers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.loyalty.models import EarnRule, ExpiryMode, LoyaltySettings, Tier

SHOP_TIMEZONE = "Asia/Ho_Chi_Minh"
MAX_MULTIPLIER_PERCENT = 10_000
MAX_SPEND = 10**12
TIER_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SETTINGS_FIELDS = ("spend_per_point", "point_value", "expiry_mode", "expiry_months", "tier_window_months")
LIMITS = {"spend_per_point": (1, 100_000_000), "point_value": (0, 100_000_000), "expiry_months": (1, 120),
          "tier_window_months": (1, 60)}


# Settings ------------------------------------------------------------------------------------------------


def get_settings(session: Session) -> LoyaltySettings:
    """The programme's settings, the defaults until someone changes them (helper: no commit)."""
    found = session.get(LoyaltySettings, 1)
    if found is None:
        found = LoyaltySettings(id=1, spend_per_point=10_000, point_value=100,
                                expiry_mode=ExpiryMode.end_of_next_year, expiry_months=12, tier_window_months=12,
                                updated_at=utcnow(), updated_by="")
        session.add(found)
        session.flush()
    return found


def update_settings(session: Session, *, changes: dict[str, Any], actor: str) -> LoyaltySettings:
    """Change the programme's settings (the fields given); points already earned keep their expiry."""
    settings = get_settings(session)
    for name, value in changes.items():
        if name not in SETTINGS_FIELDS:
            raise ValidationFailed(f"{name!r} is not a loyalty setting; use one of {', '.join(SETTINGS_FIELDS)}.",
                                   code="unknown_setting")
        if name == "expiry_mode":
            try:
                value = ExpiryMode(value)
            except ValueError:
                raise ValidationFailed("The expiry must be 'end_of_next_year' or 'months'.",
                                       code="invalid_expiry_mode") from None
        else:
            low, high = LIMITS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValidationFailed(f"{name} must be a whole number from {low} to {high}.",
                                       code="invalid_setting", details={"field": name})
        setattr(settings, name, value)
    settings.updated_at, settings.updated_by = utcnow(), actor[:200]
    audit.record(session, actor=actor, action="loyalty.settings_changed", subject_type="loyalty", subject_id=1,
                 detail={name: str(value) for name, value in changes.items()})
    session.commit()
    return settings


def expiry_for(settings: LoyaltySettings, *, earned_at: datetime) -> datetime:
    """When points earned at ``earned_at`` expire under the settings: the end of the next calendar year (in the
    shop's time zone), or ``expiry_months`` later on the same day of the month (the month's last day if shorter)."""
    local = earned_at.astimezone(ZoneInfo(SHOP_TIMEZONE))
    if settings.expiry_mode == ExpiryMode.end_of_next_year:
        return datetime(local.year + 2, 1, 1, tzinfo=ZoneInfo(SHOP_TIMEZONE)).astimezone(UTC)
    month_index = local.month - 1 + settings.expiry_months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, _days_in(year, month))
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def _days_in(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - datetime(year, month, 1)).days


# Tiers ---------------------------------------------------------------------------------------------------


def list_tiers(session: Session) -> list[Tier]:
    """The tiers from the lowest spend up."""
    return list(session.scalars(select(Tier).order_by(Tier.min_spend)))


def tier_for_spend(tiers: list[Tier], spend: int) -> Tier | None:
    """The highest tier whose threshold ``spend`` reaches (tiers sorted by threshold)."""
    reached = [tier for tier in tiers if spend >= tier.min_spend]
    return reached[-1] if reached else None


def _checked_tier(code: str, name: str, min_spend: int) -> tuple[str, str, int]:
    code = code.strip().lower()
    if not TIER_CODE.match(code):
        raise ValidationFailed("A tier code is 1 to 32 lower-case letters, digits or _, starting with a letter.",
                               code="invalid_tier_code")
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("A tier needs a name of 1 to 100 characters.", code="invalid_tier_name")
    if isinstance(min_spend, bool) or not isinstance(min_spend, int) or not 0 <= min_spend <= MAX_SPEND:
        raise ValidationFailed(f"The threshold must be a whole number of đồng from 0 to {MAX_SPEND}.",
                               code="invalid_threshold")
    return code, name, min_spend


def _refuse_clash(session: Session, *, code: str, min_spend: int, tier_id: int | None = None) -> None:
    for other in list_tiers(session):
        if other.id == tier_id:
            continue
        if other.code == code:
            raise Conflict(f"A tier with code {code} exists already.", code="tier_exists")
        if other.min_spend == min_spend:
            raise Conflict(f"Tier {other.name} has that threshold already; give each tier its own.",
                           code="tier_threshold_taken")


def add_tier(session: Session, *, code: str, name: str, min_spend: int) -> Tier:
    """Add a tier (helper: no commit)."""
    code, name, min_spend = _checked_tier(code, name, min_spend)
    _refuse_clash(session, code=code, min_spend=min_spend)
    tier = Tier(code=code, name=name, min_spend=min_spend, created_at=utcnow())
    session.add(tier)
    session.flush()
    return tier


def create_tier(session: Session, *, code: str, name: str, min_spend: int, actor: str) -> Tier:
    """Add a tier; customers move into it as their next order or the nightly recomputation finds them."""
    tier = add_tier(session, code=code, name=name, min_spend=min_spend)
    audit.record(session, actor=actor, action="loyalty.tier_created", subject_type="loyalty_tier",
                 subject_id=tier.id, detail={"code": tier.code, "min_spend": tier.min_spend})
    session.commit()
    return tier


def get_tier(session: Session, *, tier_id: int) -> Tier:
    """The tier ``tier_id``."""
    tier = session.get(Tier, tier_id)
    if tier is None:
        raise NotFound(f"There is no loyalty tier {tier_id}.", code="tier_not_found")
    return tier


def update_tier(session: Session, *, tier_id: int, name: str | None = None, min_spend: int | None = None,
                actor: str) -> Tier:
    """Rename a tier or change its threshold (its code stays: rules and customers name it)."""
    tier = get_tier(session, tier_id=tier_id)
    _, new_name, new_spend = _checked_tier(tier.code, tier.name if name is None else name,
                                           tier.min_spend if min_spend is None else min_spend)
    _refuse_clash(session, code=tier.code, min_spend=new_spend, tier_id=tier.id)
    tier.name, tier.min_spend = new_name, new_spend
    audit.record(session, actor=actor, action="loyalty.tier_changed", subject_type="loyalty_tier",
                 subject_id=tier.id, detail={"name": new_name, "min_spend": new_spend})
    session.commit()
    return tier


def delete_tier(session: Session, *, tier_id: int, actor: str) -> None:
    """Remove a tier no earning rule names; its customers drop to the tier below at their next recomputation."""
    tier = get_tier(session, tier_id=tier_id)
    if session.scalar(select(EarnRule.id).where(EarnRule.tier_code == tier.code).limit(1)) is not None:
        raise Conflict(f"An earning rule names tier {tier.name}; change or remove the rule first.",
                       code="tier_in_use")
    session.delete(tier)
    audit.record(session, actor=actor, action="loyalty.tier_deleted", subject_type="loyalty_tier",
                 subject_id=tier_id, detail={"code": tier.code})
    session.commit()


# Earning rules -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """What an earning rule says: its name, its conditions (None: any) and its multiplier in percent."""

    name: str
    multiplier_percent: int
    channel: str | None = None
    category_id: int | None = None
    tier_code: str | None = None
    is_active: bool = True


def _checked_rule(session: Session, spec: RuleSpec) -> RuleSpec:
    name = spec.name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("A rule needs a name of 1 to 200 characters.", code="invalid_rule_name")
    percent = spec.multiplier_percent
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= MAX_MULTIPLIER_PERCENT:
        raise ValidationFailed(f"The multiplier is a whole percentage from 0 to {MAX_MULTIPLIER_PERCENT} (100 "
                               "earns the base rate, 200 twice as much, 0 nothing).", code="invalid_multiplier")
    if spec.channel is not None and spec.channel not in {channel.value for channel in SalesChannel}:
        raise ValidationFailed(f"{spec.channel!r} is not a sales channel; use one of "
                               f"{', '.join(channel.value for channel in SalesChannel)}.", code="invalid_channel")
    if spec.category_id is not None and not 0 < spec.category_id < 2**31:
        raise ValidationFailed("The category id must be a positive number.", code="invalid_category")
    if spec.tier_code is not None and session.scalar(select(Tier.id).where(Tier.code == spec.tier_code)) is None:
        raise ValidationFailed(f"There is no tier {spec.tier_code!r}; add it first.", code="invalid_tier")
    return RuleSpec(name=name, multiplier_percent=percent, channel=spec.channel, category_id=spec.category_id,
                    tier_code=spec.tier_code, is_active=spec.is_active)


def list_rules(session: Session, *, active_only: bool = False) -> list[EarnRule]:
    """The earning rules, in the order they were added."""
    query = select(EarnRule).order_by(EarnRule.id)
    if active_only:
        query = query.where(EarnRule.is_active.is_(True))
    return list(session.scalars(query))


def add_rule(session: Session, *, spec: RuleSpec) -> EarnRule:
    """Add an earning rule (helper: no commit)."""
    spec = _checked_rule(session, spec)
    rule = EarnRule(name=spec.name, channel=spec.channel, category_id=spec.category_id, tier_code=spec.tier_code,
                    multiplier_percent=spec.multiplier_percent, is_active=spec.is_active, created_at=utcnow())
    session.add(rule)
    session.flush()
    return rule


def create_rule(session: Session, *, spec: RuleSpec, actor: str) -> EarnRule:
    """Add an earning rule; it applies to orders completed from now on."""
    rule = add_rule(session, spec=spec)
    audit.record(session, actor=actor, action="loyalty.rule_created", subject_type="loyalty_rule",
                 subject_id=rule.id, detail={"name": rule.name, "multiplier_percent": rule.multiplier_percent})
    session.commit()
    return rule


def get_rule(session: Session, *, rule_id: int) -> EarnRule:
    """The earning rule ``rule_id``."""
    rule = session.get(EarnRule, rule_id)
    if rule is None:
        raise NotFound(f"There is no earning rule {rule_id}.", code="rule_not_found")
    return rule


def update_rule(session: Session, *, rule_id: int, spec: RuleSpec, actor: str) -> EarnRule:
    """Replace what an earning rule says; orders that earned already keep their points."""
    rule = get_rule(session, rule_id=rule_id)
    spec = _checked_rule(session, spec)
    rule.name, rule.channel, rule.category_id, rule.tier_code = spec.name, spec.channel, spec.category_id, \
        spec.tier_code
    rule.multiplier_percent, rule.is_active = spec.multiplier_percent, spec.is_active
    audit.record(session, actor=actor, action="loyalty.rule_changed", subject_type="loyalty_rule",
                 subject_id=rule.id, detail={"name": rule.name, "multiplier_percent": rule.multiplier_percent})
    session.commit()
    return rule


def delete_rule(session: Session, *, rule_id: int, actor: str) -> None:
    """Remove an earning rule."""
    rule = get_rule(session, rule_id=rule_id)
    session.delete(rule)
    audit.record(session, actor=actor, action="loyalty.rule_deleted", subject_type="loyalty_rule",
                 subject_id=rule_id, detail={"name": rule.name})
    session.commit()


def multiplier(rules: list[EarnRule], *, channel: str, category_id: int | None, tier_code: str | None) -> Fraction:
    """The product of the multipliers of the active rules whose every condition the line meets."""
    found = Fraction(1)
    for rule in rules:
        if not rule.is_active:
            continue
        if rule.channel is not None and rule.channel != channel:
            continue
        if rule.category_id is not None and rule.category_id != category_id:
            continue
        if rule.tier_code is not None and rule.tier_code != tier_code:
            continue
        found *= Fraction(rule.multiplier_percent, 100)
    return found
