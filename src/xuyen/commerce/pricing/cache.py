"""The per-process cache of what a quote reads and what rarely changes: the active promotions as rules, the VAT
rates, the base price list with its overrides for every variant, and the variants quoted so far with their base
prices and their own overrides.

It is exact. Everything cached belongs to one pricing version token, which moves in the same transaction as any
change of those rows, whoever makes it: the database's triggers move it (migration 0020) on price lists, prices,
overrides, promotions, VAT rates, and the catalogue's variants and products (the columns pricing reads), and the
pricing services move it too. Each quote reads the token (one query) and uses the cache only when it is the one
the cache was loaded for; otherwise it loads a new one. Tokens are random, so a token whose transaction was rolled
back never comes back with other rows. Rows are always read after the token, so a cache never holds rows older
than its token. Coupons and their use counts are never cached.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xuyen.commerce.pricing import prices, variants
from xuyen.commerce.pricing.engine import Rule
from xuyen.commerce.pricing.models import PricingVersion, Promotion, VatRate
from xuyen.commerce.pricing.prices import OverrideRow
from xuyen.commerce.pricing.rules import rule_of
from xuyen.commerce.pricing.variants import VariantInfo, sku_key
from xuyen.commerce.pricing.vat import RatePeriod

K = TypeVar("K")
V = TypeVar("V")

# Past this many variants a process's cache starts again empty, so memory stays bounded on a large catalogue.
MAX_VARIANTS = 50_000


@dataclass(frozen=True)
class CachedVariant:
    """A variant as a quote reads it: what pricing knows of it, its base price (None: none) and its own overrides."""

    info: VariantInfo
    price: int | None
    overrides: tuple[OverrideRow, ...]


@dataclass(frozen=True)
class BaseList:
    """The base price list's id and currency."""

    id: int
    currency: str


# The statements, built once (each quote only binds its values).
_VERSION = select(PricingVersion.token).where(PricingVersion.id == 1)
_RULES = select(Promotion).where(Promotion.is_active.is_(True)).order_by(Promotion.id)
_RATES = select(VatRate.tax_class, VatRate.rate_bp, VatRate.valid_from, VatRate.valid_until)


class PricingData:
    """What quotes read as of one pricing version: rules, rates and the base list loaded at once, variants as
    quotes ask for them."""

    def __init__(self, *, version: str | None, rules: tuple[Rule, ...], rates: tuple[RatePeriod, ...],
                 base_list: BaseList | None, overrides: tuple[OverrideRow, ...]) -> None:
        self.version = version
        self.rules = rules
        self.rates = rates
        self.base_list = base_list
        self.overrides = overrides  # the base list's overrides for every variant
        self.gift_skus = frozenset(rule.gift_sku for rule in rules if rule.gift_sku)
        self._by_id: dict[int, CachedVariant | None] = {}
        self._id_of_key: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def by_skus(self, session: Session, *, skus: Collection[str]) -> dict[str, CachedVariant]:
        """The variants with these SKUs (those that exist), by SKU as given."""
        keys = {sku: sku_key(sku) for sku in skus}
        ids, missing = _split_known(self._id_of_key, set(keys.values()))
        if missing:
            found = variants.ids_of_skus(session, keys=missing)
            loaded = {key: found.get(key) for key in missing}
            self._remember(ids_of_keys=loaded)
            ids.update(loaded)
        by_id = self.by_ids(session, variant_ids=[variant_id for variant_id in ids.values() if variant_id is not None])
        return {sku: by_id[variant_id] for sku, key in keys.items()
                if (variant_id := ids[key]) is not None and variant_id in by_id}

    def by_ids(self, session: Session, *, variant_ids: Collection[int]) -> dict[int, CachedVariant]:
        """The variants with these ids (those that exist)."""
        entries, missing = _split_known(self._by_id, set(variant_ids))
        if missing:
            loaded = self._load_variants(session, sorted(missing))
            self._remember(variants=loaded)
            entries.update(loaded)
        return {variant_id: entry for variant_id, entry in entries.items() if entry is not None}

    def _load_variants(self, session: Session, variant_ids: list[int]) -> dict[int, CachedVariant | None]:
        infos = variants.by_ids(session, variant_ids=variant_ids)
        known = list(infos)
        amounts: dict[int, int] = {}
        own: dict[int, list[OverrideRow]] = {}
        if self.base_list is not None and known:
            amounts = prices.load_base_prices(session, price_list_id=self.base_list.id, variant_ids=known)
            for row in prices.variant_overrides(session, price_list_id=self.base_list.id, variant_ids=known):
                own.setdefault(row.variant_id or 0, []).append(row)
        return {variant_id: CachedVariant(info=infos[variant_id], price=amounts.get(variant_id),
                                          overrides=tuple(own.get(variant_id, ()))) if variant_id in infos else None
                for variant_id in variant_ids}

    def _remember(self, *, ids_of_keys: dict[str, int | None] | None = None,
                  variants: dict[int, CachedVariant | None] | None = None) -> None:
        with self._lock:
            if len(self._by_id) + len(self._id_of_key) > 2 * MAX_VARIANTS:
                self._by_id.clear()
                self._id_of_key.clear()
            self._id_of_key.update(ids_of_keys or {})
            self._by_id.update(variants or {})


def _split_known(cached: dict[K, V], wanted: set[K]) -> tuple[dict[K, V], list[K]]:
    """What the cache holds of ``wanted``, and what it lacks (read key by key: another thread may empty it)."""
    known: dict[K, V] = {}
    missing: list[K] = []
    for key in wanted:
        try:
            known[key] = cached[key]
        except KeyError:
            missing.append(key)
    return known, missing


_current: dict[str, PricingData] = {}
_lock = threading.Lock()


def _database_key(session: Session) -> str:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def _load(session: Session, version: str | None) -> PricingData:
    rules = tuple(rule_of(promotion) for promotion in session.scalars(_RULES))
    rates = tuple(RatePeriod(tax_class=tax_class, rate_bp=rate_bp, valid_from=valid_from, valid_until=valid_until)
                  for tax_class, rate_bp, valid_from, valid_until in session.execute(_RATES))
    found = prices.find_base_list(session)
    base_list = BaseList(id=found[0], currency=found[1]) if found else None
    overrides = tuple(prices.every_variant_overrides(session, price_list_id=base_list.id)) if base_list else ()
    return PricingData(version=version, rules=rules, rates=rates, base_list=base_list, overrides=overrides)


def current(session: Session) -> PricingData:
    """What quotes read, from this process's cache when the pricing version has not moved since it was loaded.

    One query when it has not; a database without a version row is read afresh every time."""
    if session.autoflush:  # as an ORM query would: the session's own pending changes move the token first
        session.flush()
    version = session.connection().execute(_VERSION).scalar()  # the Core path: half the ORM's cost
    key = _database_key(session)
    found = _current.get(key)
    if found is not None and version is not None and found.version == version:
        return found
    fresh = _load(session, version)
    if version is not None:
        with _lock:
            _current[key] = fresh
    return fresh


def clear() -> None:
    """Forget every cached version in this process (the next quote loads afresh); for measuring a cold cache."""
    with _lock:
        _current.clear()
