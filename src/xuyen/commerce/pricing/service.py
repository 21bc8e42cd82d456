"""Pricing services other domains call: ``quote`` (what a cart costs on a channel, reads only), and the coupon
helpers the orders domain calls when an order is placed (``redeem_coupons``) or cancelled (``release_coupons``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xuyen.clock import to_local, utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import cache, prices
from xuyen.commerce.pricing.cache import CachedVariant, PricingData
from xuyen.commerce.pricing.engine import CartContext, CartLine, PricedCart, apply_promotions, is_eligible
from xuyen.commerce.pricing.models import Coupon, CouponRedemption, Promotion
from xuyen.commerce.pricing.schemas import (
    MAX_COUPONS,
    MAX_QUANTITY,
    MAX_QUOTE_LINES,
    CouponResult,
    Quote,
    QuoteIn,
)
from xuyen.commerce.pricing.variants import VariantInfo
from xuyen.commerce.pricing.vat import RateUnknown, percent, rate_on, split, totals_per_rate
from xuyen.db import reading
from xuyen.errors import Conflict, ValidationFailed
from xuyen.identity import service as identity
from xuyen.loyalty import service as loyalty
from xuyen.stores import service as stores

VAT_TIMEZONE = "Asia/Ho_Chi_Minh"
MAX_CODE_LENGTH = 64


@dataclass(frozen=True)
class QuoteRequestLine:
    """A line to quote: a SKU (or a variant id) and a quantity."""

    sku: str | None
    quantity: int
    variant_id: int | None = None


def normalise_code(code: str) -> str:
    """A coupon code as stored: trimmed and upper-cased."""
    return code.strip().upper()


# The quote -------------------------------------------------------------------------------------------------


def quote(session: Session, *, channel: SalesChannel, lines: Sequence[QuoteRequestLine], store_id: int | None = None,
          profile_id: int | None = None, tier: str | None = None, coupon_codes: Sequence[str] = (),
          at: datetime | None = None) -> Quote:
    """What the cart costs on ``channel`` at ``at`` (default now): prices, promotions, coupons, totals and VAT."""
    if at is not None and at.tzinfo is None:
        raise ValidationFailed("Give the quote's moment with a time zone (e.g. 2026-11-20T10:00:00+07:00).",
                               code="invalid_moment")
    moment = (at or utcnow()).astimezone(UTC)
    _check_lines(lines)
    if len(coupon_codes) > MAX_COUPONS:
        raise ValidationFailed(f"At most {MAX_COUPONS} coupon codes per quote.", code="too_many_coupons")
    if store_id is not None:
        stores.get(session, store_id=store_id)
    tier = tier if tier is not None else _tier_of(session, profile_id)
    current = cache.current(session)
    found, gifts_found = _variants_of(session, current, lines)
    if current.base_list is None:
        raise prices.no_base_list()
    quoted = {entry.info.variant_id: entry for entry in (*found, *gifts_found.values())}
    base = {variant_id: entry.price for variant_id, entry in quoted.items() if entry.price is not None}
    _check_priced(found, base)
    overrides = [*current.overrides, *(row for entry in quoted.values() for row in entry.overrides)]
    context = prices.PriceContext(channel=channel.value, at=moment, store_id=store_id, tier=tier)
    resolved = prices.resolve(base, overrides, context=context)
    cart = [CartLine(variant_id=entry.info.variant_id, sku=entry.info.sku, product_id=entry.info.product_id,
                     category_id=entry.info.category_id, quantity=line.quantity,
                     unit_price=resolved[entry.info.variant_id].unit_price)
            for entry, line in zip(found, lines, strict=True)]
    cart_context = CartContext(channel=channel.value, at=moment, tier=tier)
    coupons = _check_coupons(session, codes=coupon_codes, profile_id=profile_id, context=cart_context,
                             current=current)
    unlocked = frozenset(result.promotion_id for result in coupons if result.accepted and result.promotion_id)
    cart_context = CartContext(channel=channel.value, at=moment, tier=tier, unlocked=unlocked)
    gifts = {sku: CartLine(variant_id=entry.info.variant_id, sku=sku, product_id=entry.info.product_id,
                           category_id=entry.info.category_id, quantity=1,
                           unit_price=resolved[entry.info.variant_id].unit_price)
             for sku, entry in gifts_found.items() if entry.info.variant_id in resolved}
    priced = apply_promotions(cart, current.rules, cart_context, gifts)
    applied_ids = {item.rule_id for item in priced.applied}
    coupons = [result.model_copy(update={"applied": result.promotion_id in applied_ids}) if result.accepted
               else result for result in coupons]
    infos_by_id = {variant_id: entry.info for variant_id, entry in quoted.items()}
    return _quote_of(priced, infos_by_id=infos_by_id, resolved=resolved, coupons=coupons, current=current,
                     currency=current.base_list.currency, channel=channel, store_id=store_id,
                     profile_id=profile_id, tier=tier, at=moment)


def quote_request(session: Session, *, request: QuoteIn) -> Quote:
    """The quote for an API request: the store by id or code, the customer by profile id or identifier.

    A quote only reads, in a transaction of its own (``reading``): on SQLite, quotes do not queue for the write lock.
    """
    with reading(session):
        return _quote_request(session, request=request)


def _quote_request(session: Session, *, request: QuoteIn) -> Quote:
    store_id = request.store_id
    if request.store_code is not None:
        store = stores.get_by_code(session, code=request.store_code)
        if store_id is not None and store_id != store.id:
            raise ValidationFailed("store_id and store_code name different stores; give one.", code="store_mismatch")
        store_id = store.id
    customer = request.customer
    profile_id = customer.profile_id if customer else None
    if customer is not None and customer.type is not None:
        if customer.value is None or profile_id is not None:
            raise ValidationFailed("Name the customer by profile_id, or by type and value.", code="invalid_customer")
        profile_id = identity.lookup_profile(session, type=customer.type, value=customer.value).profile.id
    lines = [QuoteRequestLine(sku=line.sku, quantity=line.quantity, variant_id=line.variant_id)
             for line in request.lines]
    return quote(session, channel=request.channel, lines=lines, store_id=store_id, profile_id=profile_id,
                 tier=customer.tier if customer else None, coupon_codes=request.coupon_codes, at=request.at)


def _check_lines(lines: Sequence[QuoteRequestLine]) -> None:
    if not lines:
        raise ValidationFailed("The cart is empty: give at least one line.", code="empty_cart")
    if len(lines) > MAX_QUOTE_LINES:
        raise ValidationFailed(f"A quote takes at most {MAX_QUOTE_LINES} lines; this one has {len(lines)}.",
                               code="too_many_lines")
    for number, line in enumerate(lines, start=1):
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise ValidationFailed(f"Line {number}: the quantity must be from 1 to {MAX_QUANTITY}, not "
                                   f"{line.quantity}.", code="invalid_quantity", details={"line": number})
        if (line.sku is None) == (line.variant_id is None):
            raise ValidationFailed(f"Line {number}: give either a SKU or a variant id.", code="invalid_line",
                                   details={"line": number})


def _variants_of(session: Session, current: PricingData,
                 lines: Sequence[QuoteRequestLine]) -> tuple[list[CachedVariant], dict[str, CachedVariant]]:
    """The cart's variants in line order, and the sellable gift variants promotions may add."""
    by_sku = current.by_skus(session, skus=[*(line.sku.strip() for line in lines if line.sku is not None),
                                            *current.gift_skus])
    by_id = current.by_ids(session, variant_ids=[line.variant_id for line in lines if line.variant_id is not None])
    found: list[CachedVariant] = []
    unknown: list[str] = []
    for line in lines:
        entry = by_sku.get(line.sku.strip()) if line.sku is not None else by_id.get(line.variant_id or 0)
        if entry is None:
            unknown.append(line.sku if line.sku is not None else f"variant {line.variant_id}")
        else:
            found.append(entry)
    if unknown:
        raise ValidationFailed(f"Unknown SKU or variant: {', '.join(unknown)}. Check the codes against the "
                               "catalogue.", code="unknown_sku", details={"unknown": unknown})
    gifts = {sku: by_sku[sku] for sku in current.gift_skus if sku in by_sku and by_sku[sku].info.is_sellable}
    unsellable = [entry.info.sku for entry in found if not entry.info.is_sellable]
    if unsellable:
        raise ValidationFailed(f"Not for sale (inactive or not an active product): {', '.join(unsellable)}.",
                               code="variant_not_sellable", details={"skus": unsellable})
    return found, gifts


def _check_priced(found: Sequence[CachedVariant], base: dict[int, int]) -> None:
    missing = sorted({entry.info.sku for entry in found if entry.info.variant_id not in base})
    if missing:
        raise ValidationFailed(f"No price on the base price list for: {', '.join(missing)}. Give them a price "
                               "first.", code="price_missing", details={"skus": missing})


def _tier_of(session: Session, profile_id: int | None) -> str | None:
    """The customer's loyalty tier (the loyalty domain's)."""
    return None if profile_id is None else loyalty.tier_of(session, profile_id=profile_id)


def _rate_of(current: PricingData, *, tax_class: str, day: date) -> int | None:
    try:
        return rate_on(current.rates, tax_class=tax_class, day=day)
    except RateUnknown as exc:
        raise ValidationFailed(f"No VAT rate is set for tax class {tax_class} on {day.isoformat()}; an owner must "
                               "add one.", code="vat_rate_missing") from exc


def _quote_of(priced: PricedCart, *, infos_by_id: dict[int, VariantInfo], resolved: dict[int, prices.ResolvedPrice],
              coupons: list[CouponResult], current: PricingData, currency: str, channel: SalesChannel,
              store_id: int | None, profile_id: int | None, tier: str | None, at: datetime) -> Quote:
    day = to_local(at, VAT_TIMEZONE).date()
    quote_lines = []
    vat_lines: list[tuple[int | None, int, int]] = []
    rates: dict[str, int | None] = {}
    for index, line in enumerate(priced.lines):
        info = infos_by_id[line.variant_id]
        if info.tax_class not in rates:
            rates[info.tax_class] = _rate_of(current, tax_class=info.tax_class, day=day)
        rate_bp = rates[info.tax_class]
        total = priced.line_total(index)
        net, vat = split(total, rate_bp)
        vat_lines.append((rate_bp, net, vat))
        price = resolved.get(line.variant_id)
        listed = price is not None and not line.is_gift
        quote_lines.append({
            "variant_id": line.variant_id, "sku": line.sku, "name": info.name, "product_id": line.product_id,
            "category_id": line.category_id, "quantity": line.quantity,
            "list_price": price.list_price if price is not None and listed else line.unit_price,
            "unit_price": line.unit_price, "discount": priced.line_discounts[index], "total": total,
            "vat_rate": percent(rate_bp), "vat_amount": vat, "net_amount": net, "is_gift": line.is_gift,
            "promotions": [{"promotion_id": item.rule_id, "name": item.name, "amount": item.per_line[index]}
                           for item in priced.applied if item.per_line[index]],
            "adjustments": [vars(adjustment) for adjustment in price.adjustments]
            if price is not None and listed else []})
    codes = {result.promotion_id: result.code for result in coupons if result.accepted}
    discounts = [{"promotion_id": item.rule_id, "name": item.name, "code": codes.get(item.rule_id),
                  "amount": item.amount} for item in priced.applied]
    per_rate = [{"rate": percent(item.rate_bp), "net": item.net, "vat": item.vat}
                for item in totals_per_rate(vat_lines)]
    # One validation of plain values (pydantic-core) costs a tenth of constructing each nested model in Python.
    return Quote.model_validate({
        "currency": currency, "channel": channel, "store_id": store_id, "profile_id": profile_id, "tier": tier,
        "at": at, "lines": quote_lines, "discounts": discounts, "coupons": coupons, "subtotal": priced.subtotal,
        "discount_total": priced.discount_total, "total": priced.total, "vat": per_rate})


# Coupons ---------------------------------------------------------------------------------------------------


def _check_coupons(session: Session, *, codes: Sequence[str], profile_id: int | None, context: CartContext,
                   current: PricingData) -> list[CouponResult]:
    wanted = list(dict.fromkeys(normalise_code(code) for code in codes if code.strip()))
    if not wanted:
        return []
    found = {coupon.code: coupon for coupon in session.scalars(
        select(Coupon).where(Coupon.code.in_([code[:MAX_CODE_LENGTH] for code in wanted])))}
    rules = {rule.id: rule for rule in current.rules}
    results: list[CouponResult] = []
    unlocked: set[int] = set()
    for code in wanted:
        coupon = found.get(code)
        if coupon is None or not coupon.is_active or coupon.promotion_id not in rules:
            results.append(_rejected(code, "coupon_unknown", "There is no active coupon with this code."))
            continue
        rule = rules[coupon.promotion_id]
        trial = CartContext(channel=context.channel, at=context.at, tier=context.tier,
                            unlocked=frozenset({rule.id}))
        if not is_eligible(rule, trial):
            results.append(_rejected(code, "coupon_not_valid_here", "The coupon's promotion is not valid on this "
                                     "channel, for this customer or at this time.", rule.id))
        elif coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
            results.append(_rejected(code, "coupon_used_up", "The coupon has been used as often as it may be.",
                                     rule.id))
        elif _customer_limit_reached(session, coupon, profile_id):
            results.append(_rejected(code, "coupon_already_used", "This customer has already used the coupon as "
                                     "often as they may.", rule.id))
        elif rule.id in unlocked:
            results.append(_rejected(code, "coupon_same_promotion", "Another code of the request already unlocks "
                                     "the same promotion.", rule.id))
        else:
            unlocked.add(rule.id)
            results.append(CouponResult(code=code, accepted=True, promotion_id=rule.id))
    return results


def _rejected(code: str, reason: str, message: str, promotion_id: int | None = None) -> CouponResult:
    return CouponResult(code=code, accepted=False, promotion_id=promotion_id, reason=reason, message=message)


def _customer_uses(session: Session, coupon_id: int, profile_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(CouponRedemption).where(
        CouponRedemption.coupon_id == coupon_id, CouponRedemption.profile_id == profile_id,
        CouponRedemption.released_at.is_(None))) or 0)


def _customer_limit_reached(session: Session, coupon: Coupon, profile_id: int | None) -> bool:
    if coupon.per_customer_limit is None or profile_id is None:
        return False
    return _customer_uses(session, coupon.id, profile_id) >= coupon.per_customer_limit


def redeem_coupons(session: Session, *, codes: Sequence[str], profile_id: int | None, reference: str,
                   at: datetime) -> list[CouponRedemption]:
    """Record that order ``reference`` uses these coupons, all or none (helper: no commit).

    Idempotent per reference. The use count goes up in one conditional UPDATE, so a limited coupon is never used
    more often than it may be, whatever runs at once; Conflict ``coupon_used_up`` or ``coupon_already_used`` (the
    customer's own limit) otherwise, with nothing recorded.
    """
    wanted = list(dict.fromkeys(normalise_code(code) for code in codes if code.strip()))
    if not wanted:
        return []
    if not reference.strip() or len(reference) > 100:
        raise ValidationFailed("A coupon redemption needs the order's reference (at most 100 characters).",
                               code="invalid_reference")
    with session.begin_nested():
        return [_redeem_one(session, code=code, profile_id=profile_id, reference=reference, at=at)
                for code in wanted]


def _redeem_one(session: Session, *, code: str, profile_id: int | None, reference: str,
                at: datetime) -> CouponRedemption:
    coupon = session.scalar(select(Coupon).where(Coupon.code == code[:MAX_CODE_LENGTH]))
    if coupon is None or not coupon.is_active:
        raise Conflict(f"There is no active coupon {code}.", code="coupon_unknown")
    existing = session.scalar(select(CouponRedemption).where(CouponRedemption.coupon_id == coupon.id,
                                                             CouponRedemption.reference == reference))
    if existing is not None and existing.released_at is None:
        return existing
    promotion = session.get(Promotion, coupon.promotion_id)
    if promotion is None or not promotion.is_active or (promotion.starts_at and at < promotion.starts_at) or (
            promotion.ends_at and at >= promotion.ends_at):
        raise Conflict(f"The promotion of coupon {code} is not running at this time.", code="coupon_not_valid_here")
    taken = session.execute(update(Coupon).where(
        Coupon.id == coupon.id, (Coupon.max_uses.is_(None)) | (Coupon.uses < Coupon.max_uses))
        .values(uses=Coupon.uses + 1).execution_options(synchronize_session=False))
    session.expire(coupon, ["uses"])
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"Coupon {code} has been used as often as it may be.", code="coupon_used_up")
    # The UPDATE holds the coupon's row lock until commit: redemptions of the coupon count the customer's uses
    # one at a time.
    if coupon.per_customer_limit is not None and profile_id is not None and \
            _customer_uses(session, coupon.id, profile_id) >= coupon.per_customer_limit:
        raise Conflict(f"This customer has already used coupon {code} as often as they may.",
                       code="coupon_already_used")
    if existing is not None:
        existing.released_at = None
        existing.redeemed_at = at
        existing.profile_id = profile_id
        return existing
    redemption = CouponRedemption(coupon_id=coupon.id, reference=reference, profile_id=profile_id, redeemed_at=at)
    session.add(redemption)
    session.flush()
    return redemption


def release_coupons(session: Session, *, reference: str) -> int:
    """Give back the coupons order ``reference`` used (on cancel); how many (helper: no commit)."""
    found = list(session.scalars(select(CouponRedemption).where(CouponRedemption.reference == reference,
                                                                CouponRedemption.released_at.is_(None))
                                 .order_by(CouponRedemption.coupon_id)))
    now = utcnow()
    for redemption in found:
        session.execute(update(Coupon).where(Coupon.id == redemption.coupon_id, Coupon.uses > 0)
                        .values(uses=Coupon.uses - 1).execution_options(synchronize_session=False))
        redemption.released_at = now
        coupon = session.get(Coupon, redemption.coupon_id)
        if coupon is not None:
            session.expire(coupon, ["uses"])
    session.flush()
    return len(found)
