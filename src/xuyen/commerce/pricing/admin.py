"""Managing prices: price lists, each variant's base price, price overrides, VAT rates, and what a variant costs
where (for the pages). Every change of a price or an override emits ``pricing.changed`` with the variant ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen import audit, outbox
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import prices, variants
from xuyen.commerce.pricing.models import OverrideKind, Price, PriceList, PriceOverride, PricingVersion, VatRate
from xuyen.commerce.pricing.rules import bump_version, current_version, percent_to_bp
from xuyen.commerce.pricing.variants import VariantInfo
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.stores import service as stores

CHANGED_TOPIC = "pricing.changed"
MAX_AMOUNT = 10**12
MAX_PRICES_PER_CALL = 5000
TAX_CLASSES = ("standard", "standard_not_reduced", "reduced", "exempt")

# The VAT rates an empty database starts with (the same as the migration seeds).
DEFAULT_VAT_RATES: tuple[tuple[str, int | None, date, date | None, str], ...] = (
    ("standard", 1000, date(1999, 1, 1), None, "Luật Thuế GTGT"),
    ("standard", 800, date(2022, 2, 1), date(2022, 12, 31), "Nghị quyết 43/2022/QH15"),
    ("standard", 800, date(2023, 7, 1), date(2026, 12, 31), "Nghị định 44/2023, 94/2023, 72/2024, 180/2024, 174/2025"),
    ("standard_not_reduced", 1000, date(1999, 1, 1), None, "Luật Thuế GTGT"),
    ("reduced", 500, date(1999, 1, 1), None, "Luật Thuế GTGT"),
    ("exempt", None, date(1999, 1, 1), None, "Không chịu thuế GTGT"),
)


def emit_changed(session: Session, *, variant_ids: list[int] | None) -> None:
    """Tell later consumers that these variants' prices changed; None: every variant (helper: no commit)."""
    payload: dict[str, Any] = {"variant_ids": sorted(set(variant_ids or [])), "all_variants": variant_ids is None}
    outbox.emit(session, topic=CHANGED_TOPIC, aggregate_type="pricing", aggregate_id="prices", payload=payload)


def install_defaults(session: Session) -> None:
    """Make the base price list in đồng, the version row and the VAT rates, where they are missing."""
    add_defaults(session)
    session.commit()


def add_defaults(session: Session) -> None:
    """What ``install_defaults`` makes, where it is missing (helper: no commit)."""
    if session.scalar(select(PriceList.id).where(PriceList.base_currency == prices.BASE_CURRENCY)) is None:
        session.add(PriceList(code=prices.BASE_CURRENCY, name="Giá bán lẻ", currency=prices.BASE_CURRENCY,
                              minor_units=0, base_currency=prices.BASE_CURRENCY, is_active=True))
    if session.get(PricingVersion, 1) is None:
        bump_version(session)
    if session.scalar(select(VatRate.id).limit(1)) is None:
        session.add_all(VatRate(tax_class=tax_class, rate_bp=rate_bp, valid_from=start, valid_until=end, note=note)
                        for tax_class, rate_bp, start, end, note in DEFAULT_VAT_RATES)
        bump_version(session)
    session.flush()


# Price lists and prices ------------------------------------------------------------------------------------


def list_price_lists(session: Session) -> list[PriceList]:
    """Every price list, base lists first."""
    return list(session.scalars(select(PriceList).order_by(PriceList.base_currency.is_(None), PriceList.code)))


def get_price_list(session: Session, *, price_list_id: int) -> PriceList:
    """The price list with this id."""
    found = session.get(PriceList, price_list_id)
    if found is None:
        raise NotFound(f"There is no price list {price_list_id}.", code="price_list_not_found")
    return found


def create_price_list(session: Session, *, code: str, name: str, currency: str, minor_units: int, base: bool,
                      actor: str) -> PriceList:
    """Create a price list (the base list of its currency when ``base``)."""
    code, currency = code.strip().upper(), currency.strip().upper()
    if not code or not name.strip() or len(currency) != 3 or not currency.isalpha() or not 0 <= minor_units <= 4:
        raise ValidationFailed("A price list needs a code, a name, a three-letter currency code and 0 to 4 minor "
                               "units.", code="invalid_price_list")
    price_list = PriceList(code=code, name=name.strip(), currency=currency, minor_units=minor_units,
                           base_currency=currency if base else None, is_active=True)
    try:
        with session.begin_nested():
            session.add(price_list)
    except IntegrityError as exc:
        raise Conflict(f"A price list with code {code} exists already, or {currency} has a base list already.",
                       code="price_list_exists") from exc
    audit.record(session, actor=actor, action="pricing.price_list_created", subject_type="price_list",
                 subject_id=price_list.id, detail={"code": code, "currency": currency})
    session.commit()
    return price_list


def _amount(value: int, *, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_AMOUNT:
        raise ValidationFailed(f"{what} must be a whole number from 0 to {MAX_AMOUNT:,} (in minor units).",
                               code="invalid_price")
    return value


def set_prices(session: Session, *, price_list_id: int, amounts: Mapping[int, int], actor: str,
               sku_amounts: Mapping[str, int] | None = None) -> int:
    """Set the price of each variant given (variant id → amount, and SKU → amount); how many prices changed."""
    changed = add_prices(session, price_list_id=price_list_id, amounts=amounts, actor=actor, sku_amounts=sku_amounts)
    session.commit()
    return changed


def add_prices(session: Session, *, price_list_id: int, amounts: Mapping[int, int], actor: str,
               sku_amounts: Mapping[str, int] | None = None) -> int:
    """Set prices as ``set_prices`` does (helper: no commit)."""
    price_list = get_price_list(session, price_list_id=price_list_id)
    if not 0 < len(amounts) + len(sku_amounts or {}) <= MAX_PRICES_PER_CALL:
        raise ValidationFailed(f"Give 1 to {MAX_PRICES_PER_CALL} prices at a time.", code="invalid_price")
    checked = {variant_id: _amount(amount, what="A price") for variant_id, amount in amounts.items()}
    if sku_amounts:
        by_sku = variants.by_skus(session, skus=[sku.strip() for sku in sku_amounts])
        unknown = sorted(sku for sku in sku_amounts if sku.strip() not in by_sku)
        if unknown:
            raise NotFound(f"Unknown SKUs: {', '.join(unknown)}.", code="variant_not_found",
                           details={"skus": unknown})
        checked |= {by_sku[sku.strip()].variant_id: _amount(amount, what="A price")
                    for sku, amount in sku_amounts.items()}
    known = variants.by_ids(session, variant_ids=list(checked))
    missing = sorted(set(checked) - set(known))
    if missing:
        raise NotFound(f"There are no variants {missing}.", code="variant_not_found", details={"ids": missing})
    existing = {row.variant_id: row for row in session.scalars(select(Price).where(
        Price.price_list_id == price_list.id, Price.variant_id.in_(list(checked))))}
    now = utcnow()
    changed = []
    for variant_id, amount in checked.items():
        row = existing.get(variant_id)
        if row is None:
            session.add(Price(price_list_id=price_list.id, variant_id=variant_id, amount=amount, updated_at=now,
                              updated_by=actor))
        elif row.amount != amount:
            row.amount, row.updated_at, row.updated_by = amount, now, actor
        else:
            continue
        changed.append(variant_id)
    if changed:
        emit_changed(session, variant_ids=changed)
        audit.record(session, actor=actor, action="pricing.prices_set", subject_type="price_list",
                     subject_id=price_list.id, detail={"variant_ids": changed[:100], "count": len(changed)})
    return len(changed)


# Overrides -------------------------------------------------------------------------------------------------

OVERRIDE_FIELDS = ("variant_id", "channel", "store_id", "tier", "kind", "amount", "percent", "round_to", "reason",
                   "starts_at", "ends_at", "is_active")


def get_override(session: Session, *, override_id: int) -> PriceOverride:
    """The override with this id."""
    found = session.get(PriceOverride, override_id)
    if found is None:
        raise NotFound(f"There is no price override {override_id}.", code="override_not_found")
    return found


def list_overrides(session: Session, *, variant_id: int | None = None, active_only: bool = False,
                   limit: int = 500) -> list[PriceOverride]:
    """Overrides, newest first: of one variant (its own and those for every variant), or all."""
    query = select(PriceOverride).order_by(PriceOverride.id.desc()).limit(limit)
    if variant_id is not None:
        query = query.where((PriceOverride.variant_id == variant_id) | PriceOverride.variant_id.is_(None))
    if active_only:
        query = query.where(PriceOverride.is_active.is_(True))
    return list(session.scalars(query))


def _check_override(session: Session, values: dict[str, Any]) -> list[str]:
    problems = []
    kind = values.get("kind")
    if kind not in {item.value for item in OverrideKind}:
        problems.append("kind must be fixed or percent")
    if kind == OverrideKind.fixed.value and (not isinstance(values.get("amount"), int) or isinstance(
            values.get("amount"), bool) or not 0 <= values["amount"] <= MAX_AMOUNT):
        problems.append("a fixed override needs an amount from 0")
    if kind == OverrideKind.percent.value and (values.get("percent_bp") is None
                                                or not -10_000 <= values["percent_bp"] <= 100_000
                                                or values["percent_bp"] == 0):
        problems.append("a percent override needs a percentage from -100 to 1000, not 0")
    if values.get("channel") is not None and values["channel"] not in {item.value for item in SalesChannel}:
        problems.append(f"{values['channel']!r} is not a sales channel")
    if not isinstance(values.get("round_to"), int) or not 1 <= values["round_to"] <= 1_000_000:
        problems.append("round_to must be from 1 to 1,000,000")
    if len(values.get("reason") or "") > 300 or len(values.get("tier") or "") > 64:
        problems.append("the reason takes at most 300 characters, the tier 64")
    if values.get("starts_at") and values.get("ends_at") and values["ends_at"] <= values["starts_at"]:
        problems.append("the end must come after the start")
    if values.get("variant_id") is not None and not variants.by_ids(session, variant_ids=[values["variant_id"]]):
        problems.append(f"there is no variant {values['variant_id']}")
    if values.get("store_id") is not None:
        try:
            stores.get(session, store_id=values["store_id"])
        except NotFound:
            problems.append(f"there is no store {values['store_id']}")
    return problems


def _override_values(changes: Mapping[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(OVERRIDE_FIELDS))
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(unknown)}.", code="invalid_override")
    values = {**current, **changes}
    if "percent" in changes:
        values["percent_bp"] = None if changes["percent"] is None else percent_to_bp(changes["percent"])
    values.pop("percent", None)
    for key in ("channel", "tier"):
        if isinstance(values.get(key), str):
            values[key] = values[key].strip() or None
    if isinstance(values.get("kind"), OverrideKind):
        values["kind"] = values["kind"].value
    return values


def _save_override(session: Session, override: PriceOverride, values: dict[str, Any], *, actor: str,
                   action: str) -> PriceOverride:
    problems = _check_override(session, values)
    if problems:
        raise ValidationFailed("The price override is not valid: " + "; ".join(problems) + ".",
                               code="invalid_override", details={"problems": problems})
    for key, value in values.items():
        setattr(override, key, OverrideKind(value) if key == "kind" else value)
    if override.kind is OverrideKind.fixed:
        override.percent_bp = None
    else:
        override.amount = None
    session.add(override)
    session.flush()
    emit_changed(session, variant_ids=None if override.variant_id is None else [override.variant_id])
    audit.record(session, actor=actor, action=action, subject_type="price_override", subject_id=override.id,
                 detail={key: str(value) for key, value in values.items()})
    return override


def create_override(session: Session, *, changes: Mapping[str, Any], actor: str) -> PriceOverride:
    """Create a price override on the base list (fields as ``OVERRIDE_FIELDS``)."""
    override = add_override(session, changes=changes, actor=actor)
    session.commit()
    return override


def add_override(session: Session, *, changes: Mapping[str, Any], actor: str) -> PriceOverride:
    """Add a price override as ``create_override`` does (helper: no commit)."""
    price_list = prices.base_price_list(session)
    defaults: dict[str, Any] = {"variant_id": None, "channel": None, "store_id": None, "tier": None,
                                "amount": None, "percent_bp": None, "round_to": 1, "reason": "", "starts_at": None,
                                "ends_at": None, "is_active": True}
    override = PriceOverride(price_list_id=price_list.id, created_by=actor, created_at=utcnow())
    return _save_override(session, override, _override_values(changes, defaults), actor=actor,
                          action="pricing.override_created")


def update_override(session: Session, *, override_id: int, changes: Mapping[str, Any], actor: str) -> PriceOverride:
    """Change an override's fields given (``is_active: false`` deactivates it)."""
    override = get_override(session, override_id=override_id)
    current = {key: getattr(override, key) for key in OVERRIDE_FIELDS if key != "percent"}
    current["percent_bp"] = override.percent_bp
    saved = _save_override(session, override, _override_values(changes, current), actor=actor,
                           action="pricing.override_updated")
    session.commit()
    return saved


@dataclass(frozen=True)
class VariantPricing:
    """A variant's base price and every override that may touch it, each with where it applies and whether it
    is live now (for the pages)."""

    variant: VariantInfo
    base_price: int | None
    overrides: list[tuple[PriceOverride, str, bool]]


def variant_pricing(session: Session, *, variant_id: int, at: datetime | None = None) -> VariantPricing:
    """What a variant costs on the base list, and every override that may change it."""
    info = variants.by_ids(session, variant_ids=[variant_id]).get(variant_id)
    if info is None:
        raise NotFound(f"There is no variant {variant_id}.", code="variant_not_found")
    price_list = prices.base_price_list(session)
    base = prices.load_base_prices(session, price_list_id=price_list.id, variant_ids=[variant_id])
    moment = at or utcnow()
    rows = [(item, prices.applies_to(item), prices.is_live(item, moment))
            for item in list_overrides(session, variant_id=variant_id)]
    return VariantPricing(variant=info, base_price=base.get(variant_id), overrides=rows)


def find_variant(session: Session, *, sku: str) -> VariantInfo:
    """The variant with this SKU."""
    info = variants.by_skus(session, skus=[sku.strip()]).get(sku.strip())
    if info is None:
        raise NotFound(f"There is no variant with SKU {sku.strip()!r}.", code="variant_not_found")
    return info


# VAT rates -------------------------------------------------------------------------------------------------


def list_vat_rates(session: Session) -> list[VatRate]:
    """Every VAT rate period, by tax class and start."""
    return list(session.scalars(select(VatRate).order_by(VatRate.tax_class, VatRate.valid_from)))


def add_vat_rate(session: Session, *, tax_class: str, rate_bp: int | None, valid_from: date,
                 valid_until: date | None, note: str, actor: str) -> VatRate:
    """Add a VAT rate period for a tax class (a temporary rate lies on top of the open-ended one)."""
    problems = []
    if tax_class not in TAX_CLASSES:
        problems.append(f"the tax class must be one of {', '.join(TAX_CLASSES)}")
    if rate_bp is not None and not 0 <= rate_bp <= 10_000:
        problems.append("the rate must be from 0 to 100 percent, or empty for goods not subject to VAT")
    if valid_until is not None and valid_until < valid_from:
        problems.append("the period must end on or after its start")
    if len(note) > 300:
        problems.append("the note takes at most 300 characters")
    if problems:
        raise ValidationFailed("The VAT rate is not valid: " + "; ".join(problems) + ".", code="invalid_vat_rate",
                               details={"problems": problems})
    rate = VatRate(tax_class=tax_class, rate_bp=rate_bp, valid_from=valid_from, valid_until=valid_until, note=note)
    try:
        with session.begin_nested():
            session.add(rate)
    except IntegrityError as exc:
        raise Conflict(f"Tax class {tax_class} already has a rate starting on {valid_from.isoformat()}; change "
                       "that one instead.", code="vat_rate_exists") from exc
    bump_version(session)
    audit.record(session, actor=actor, action="pricing.vat_rate_added", subject_type="vat_rate",
                 subject_id=rate.id, detail={"tax_class": tax_class, "rate_bp": rate_bp,
                                             "valid_from": valid_from.isoformat()})
    session.commit()
    return rate


def delete_vat_rate(session: Session, *, vat_rate_id: int, actor: str) -> None:
    """Remove a VAT rate period (a mistaken one; past invoices keep what they showed)."""
    rate = session.get(VatRate, vat_rate_id)
    if rate is None:
        raise NotFound(f"There is no VAT rate {vat_rate_id}.", code="vat_rate_not_found")
    audit.record(session, actor=actor, action="pricing.vat_rate_deleted", subject_type="vat_rate",
                 subject_id=rate.id, detail={"tax_class": rate.tax_class, "rate_bp": rate.rate_bp,
                                             "valid_from": rate.valid_from.isoformat()})
    session.delete(rate)
    bump_version(session)
    session.commit()


def version(session: Session) -> str:
    """The current pricing version token (changes with every promotion or VAT change)."""
    return current_version(session)
