"""A variant's price in a context: the base price list's price, then the overrides that apply, each one named.

Two layers of overrides apply in turn. First the *place* layer (overrides without a tier): of those matching the
channel, the store and the moment, the most specific wins (a store beats a channel, a channel beats everywhere, and
on the same level one naming the variant beats one for every variant; then the newest). Then the *tier* layer: of
the overrides for the customer's tier that match, the most specific wins the same way and applies to the price the
place layer left. A fixed override sets the price; a percent override adds its percentage (negative: takes it off),
rounded half up to its ``round_to`` unit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from xuyen.commerce.pricing.allocation import round_half_up
from xuyen.commerce.pricing.models import OverrideKind, Price, PriceList, PriceOverride
from xuyen.errors import NotFound

BASE_CURRENCY = "VND"


@dataclass(frozen=True)
class PriceContext:
    """Where and when a price is asked for, and for which tier."""

    channel: str
    at: datetime
    store_id: int | None = None
    tier: str | None = None


class OverrideLike(Protocol):
    """What choosing and applying an override reads: a ``PriceOverride`` row, or its cached copy."""

    @property
    def id(self) -> int: ...
    @property
    def variant_id(self) -> int | None: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def store_id(self) -> int | None: ...
    @property
    def tier(self) -> str | None: ...
    @property
    def kind(self) -> OverrideKind: ...
    @property
    def amount(self) -> int | None: ...
    @property
    def percent_bp(self) -> int | None: ...
    @property
    def round_to(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def starts_at(self) -> datetime | None: ...
    @property
    def ends_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class OverrideRow:
    """An override as a quote reads it, detached from any session (so a process may keep it between quotes)."""

    id: int
    variant_id: int | None
    channel: str | None
    store_id: int | None
    tier: str | None
    kind: OverrideKind
    amount: int | None
    percent_bp: int | None
    round_to: int
    reason: str
    is_active: bool
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True)
class Adjustment:
    """An override that changed a price."""

    override_id: int
    kind: str
    applies_to: str
    reason: str
    price_before: int
    price_after: int


@dataclass(frozen=True)
class ResolvedPrice:
    """A variant's list price, its price in the context, and the overrides that made the difference."""

    variant_id: int
    list_price: int
    unit_price: int
    adjustments: tuple[Adjustment, ...]


def base_price_list(session: Session, *, currency: str = BASE_CURRENCY) -> PriceList:
    """The base price list of ``currency``; NotFound when there is none yet."""
    found = session.scalar(select(PriceList).where(PriceList.base_currency == currency))
    if found is None:
        raise no_base_list(currency)
    return found


def no_base_list(currency: str = BASE_CURRENCY) -> NotFound:
    """The error for a currency without a base price list."""
    return NotFound(f"There is no base price list in {currency} yet; create one and give the variants prices.",
                    code="price_list_not_found")


def applies_to(override: OverrideLike) -> str:
    """Where an override applies, in words ("channel shopee · store 2 · tier gold"), for people reading quotes."""
    parts = []
    if override.channel:
        parts.append(f"channel {override.channel}")
    if override.store_id is not None:
        parts.append(f"store {override.store_id}")
    if override.tier:
        parts.append(f"tier {override.tier}")
    if not parts:
        parts.append("every channel")
    return " · ".join(parts)


def is_live(override: OverrideLike, at: datetime) -> bool:
    """Whether an active override is in its validity window at ``at``."""
    return (override.is_active and (override.starts_at is None or override.starts_at <= at)
            and (override.ends_at is None or at < override.ends_at))


def _matches(override: OverrideLike, context: PriceContext) -> bool:
    return (is_live(override, context.at)
            and (override.channel is None or override.channel == context.channel)
            and (override.store_id is None or override.store_id == context.store_id))


def _specificity(override: OverrideLike) -> tuple[int, int]:
    level = 4 * (override.store_id is not None) + 2 * (override.channel is not None) + (override.variant_id is not None)
    return (level, override.id)


def apply_override(override: OverrideLike, price: int) -> int:
    """The price after one override (never below zero)."""
    if override.kind is OverrideKind.fixed:
        return max(0, override.amount or 0)
    step = max(1, override.round_to or 1)
    changed = round_half_up(Fraction(price * (10_000 + (override.percent_bp or 0)), 10_000 * step)) * step
    return max(0, changed)


def pick_overrides(overrides: Sequence[OverrideLike], *, variant_id: int,
                   context: PriceContext) -> list[OverrideLike]:
    """The overrides that set ``variant_id``'s price in ``context``: at most one of the place layer, then at most
    one of the tier layer."""
    mine = [item for item in overrides if (item.variant_id is None or item.variant_id == variant_id)
            and _matches(item, context)]
    chosen = []
    place = [item for item in mine if item.tier is None]
    if place:
        chosen.append(max(place, key=_specificity))
    tiered = [item for item in mine if item.tier is not None and item.tier == context.tier]
    if tiered:
        chosen.append(max(tiered, key=_specificity))
    return chosen


# The quote's statements, built once (each quote only binds its values).
_OVERRIDE_COLUMNS = (PriceOverride.id, PriceOverride.variant_id, PriceOverride.channel, PriceOverride.store_id,
                     PriceOverride.tier, PriceOverride.kind, PriceOverride.amount, PriceOverride.percent_bp,
                     PriceOverride.round_to, PriceOverride.reason, PriceOverride.is_active, PriceOverride.starts_at,
                     PriceOverride.ends_at)
_EVERY_VARIANT_OVERRIDES = select(*_OVERRIDE_COLUMNS).where(
    PriceOverride.price_list_id == bindparam("price_list_id"), PriceOverride.is_active.is_(True),
    PriceOverride.variant_id.is_(None))
_VARIANT_OVERRIDES = select(*_OVERRIDE_COLUMNS).where(
    PriceOverride.price_list_id == bindparam("price_list_id"), PriceOverride.is_active.is_(True),
    PriceOverride.variant_id.in_(bindparam("variant_ids", expanding=True)))
_BASE_LIST = select(PriceList.id, PriceList.currency).where(PriceList.base_currency == bindparam("currency"))
_PRICES = select(Price.variant_id, Price.amount).where(Price.price_list_id == bindparam("price_list_id"),
                                                       Price.variant_id.in_(bindparam("variant_ids", expanding=True)))


def every_variant_overrides(session: Session, *, price_list_id: int) -> list[OverrideRow]:
    """The list's active overrides for every variant."""
    rows = session.execute(_EVERY_VARIANT_OVERRIDES, {"price_list_id": price_list_id})
    return [OverrideRow(**row._mapping) for row in rows]


def variant_overrides(session: Session, *, price_list_id: int, variant_ids: Collection[int]) -> list[OverrideRow]:
    """The list's active overrides of these variants (not those for every variant)."""
    if not variant_ids:
        return []
    return [OverrideRow(**row._mapping) for row in session.execute(
        _VARIANT_OVERRIDES, {"price_list_id": price_list_id, "variant_ids": sorted(set(variant_ids))})]


def find_base_list(session: Session, *, currency: str = BASE_CURRENCY) -> tuple[int, str] | None:
    """The base list of ``currency`` as its id and currency, if there is one."""
    found = session.execute(_BASE_LIST, {"currency": currency}).first()
    return None if found is None else (found[0], found[1])


def load_base_prices(session: Session, *, price_list_id: int, variant_ids: Collection[int]) -> dict[int, int]:
    """The list's price of each of these variants that has one."""
    if not variant_ids:
        return {}
    rows = session.execute(_PRICES, {"price_list_id": price_list_id, "variant_ids": sorted(set(variant_ids))})
    return {variant_id: amount for variant_id, amount in rows}


def resolve(base: dict[int, int], overrides: Sequence[OverrideLike], *,
            context: PriceContext) -> dict[int, ResolvedPrice]:
    """Each priced variant's price in ``context``."""
    result = {}
    for variant_id, list_price in base.items():
        price = list_price
        adjustments = []
        for override in pick_overrides(overrides, variant_id=variant_id, context=context):
            after = apply_override(override, price)
            adjustments.append(Adjustment(override_id=override.id, kind=override.kind.value,
                                          applies_to=applies_to(override), reason=override.reason,
                                          price_before=price, price_after=after))
            price = after
        result[variant_id] = ResolvedPrice(variant_id=variant_id, list_price=list_price, unit_price=price,
                                           adjustments=tuple(adjustments))
    return result
