"""What orders ask of the other commerce domains, in one place: catalogue, pricing, stock and loyalty services.

Orders never touch those domains' tables; every call goes through their service functions, named here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.catalogue.models import ChannelListing, Variant
from xuyen.commerce.catalogue.schemas import VariantView
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import admin as pricing_admin
from xuyen.commerce.pricing import service as pricing
from xuyen.commerce.pricing import vat
from xuyen.commerce.pricing.schemas import Quote
from xuyen.commerce.stock import locations
from xuyen.commerce.stock import service as stock
from xuyen.commerce.stock.models import Location
from xuyen.errors import ValidationFailed
from xuyen.loyalty import service as loyalty

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Want:
    """A quantity of one variant an order needs."""

    variant_id: int
    quantity: int


# catalogue --------------------------------------------------------------------------------------------------

def variants_by_ids(session: Session, *, variant_ids: Sequence[int]) -> dict[int, VariantView]:
    """The catalogue's views of the variants (sku, names, product, category, tax class, sellable)."""
    return dict(catalogue.variants_by_ids(session, variant_ids=list(variant_ids)))


def find_variant(session: Session, *, code: str) -> Variant:
    """The variant with this SKU or barcode (NotFound ``variant_not_found`` otherwise)."""
    return catalogue.find_variant(session, code=code)


def listing_for(session: Session, *, channel: SalesChannel, account: str, external_item_id: str,
                external_model_id: str = "", external_sku: str = "") -> ChannelListing | None:
    """The channel listing for a marketplace's ids, or None when the catalogue does not know it."""
    return catalogue.listing_for(session, channel=channel, account=account, external_item_id=external_item_id,
                                    external_model_id=external_model_id, external_sku=external_sku)


# pricing ----------------------------------------------------------------------------------------------------

def quote(session: Session, *, channel: SalesChannel, lines: Sequence[tuple[str, int]], store_id: int | None,
          profile_id: int | None, coupon_codes: Sequence[str], at: datetime | None = None) -> Quote:
    """The pricing engine's quote for SKUs and quantities (prices, discounts, VAT)."""
    request = [pricing.QuoteRequestLine(sku=sku, quantity=quantity) for sku, quantity in lines]
    return pricing.quote(session, channel=channel, lines=request, store_id=store_id, profile_id=profile_id,
                         coupon_codes=list(coupon_codes), at=at)


def redeem_coupons(session: Session, *, codes: Sequence[str], profile_id: int | None, reference: str,
                   at: datetime) -> None:
    """Record the coupons' use for the order (Conflict when used up)."""
    if codes:
        pricing.redeem_coupons(session, codes=list(codes), profile_id=profile_id, reference=reference, at=at)


def release_coupons(session: Session, *, reference: str) -> None:
    """Give back the coupons the order used."""
    pricing.release_coupons(session, reference=reference)


def vat_split(session: Session, *, tax_class: str, total: int, at: datetime) -> tuple[str | None, int, int]:
    """A VAT-inclusive amount of goods of ``tax_class`` sold at ``at`` as (rate in percent, before VAT, VAT), by
    the rates the pricing domain keeps; no known rate: no VAT (rate None)."""
    periods = [vat.RatePeriod(tax_class=row.tax_class, rate_bp=row.rate_bp, valid_from=row.valid_from,
                              valid_until=row.valid_until) for row in pricing_admin.list_vat_rates(session)]
    try:
        rate_bp = vat.rate_on(periods, tax_class=tax_class, day=at.astimezone(VIETNAM).date())
    except vat.RateUnknown:
        return None, total, 0
    net, tax = vat.split(total, rate_bp)
    rate = vat.percent(rate_bp)
    return (None if rate is None else format(rate, "f")), net, tax


# stock ------------------------------------------------------------------------------------------------------

def _stock_lines(wants: Sequence[Want]) -> list[stock.StockLine]:
    return [stock.StockLine(variant_id=want.variant_id, quantity=want.quantity) for want in wants]


def reserve(session: Session, *, reference: str, wants: Sequence[Want], channel: SalesChannel, actor: str,
            expires_at: datetime | None, location_id: int | None = None,
            near: tuple[float, float] | None = None) -> None:
    """Hold stock for the order, all or nothing (OutOfStock, a Conflict, when short)."""
    if wants:
        stock.reserve(session, reference=reference, lines=_stock_lines(wants), channel=channel, actor=actor,
                      expires_at=expires_at, location_id=location_id, near=near)


def release(session: Session, *, reference: str, actor: str, reason: str) -> int:
    """Let go of the stock the order holds."""
    return stock.release(session, reference=reference, actor=actor, reason=reason)


def keep_held(session: Session, *, reference: str) -> bool:
    """Make the order's active reservations last until shipped; False when it holds none any more."""
    return stock.set_expiry(session, reference=reference, expires_at=None) > 0


def fulfil(session: Session, *, reference: str, actor: str) -> None:
    """Turn the order's held stock into a sale."""
    stock.fulfil(session, reference=reference, actor=actor)


def sell(session: Session, *, reference: str, wants: Sequence[Want], location_id: int, actor: str) -> None:
    """Sell over the counter from a location."""
    if wants:
        stock.sell(session, reference=reference, lines=_stock_lines(wants), location_id=location_id, actor=actor)


def return_to_stock(session: Session, *, reference: str, wants: Sequence[Want], location_id: int, actor: str,
                    reason: str) -> None:
    """Put returned goods back on the shelf where they came back."""
    if wants:
        stock.return_to_stock(session, reference=reference, lines=_stock_lines(wants), location_id=location_id,
                              actor=actor, reason=reason)


def held_at(session: Session, *, reference: str) -> int | None:
    """The location holding the order's stock (the first, when several do), or None."""
    for reservation in stock.reservations_of(session, reference=reference):
        return reservation.location_id
    return None


def location_of_store(session: Session, *, store_id: int) -> Location:
    """The stock location of a store."""
    return locations.location_of_store(session, store_id=store_id)


def get_location(session: Session, *, location_id: int) -> Location:
    """A stock location."""
    return locations.get(session, location_id=location_id)


def is_out_of_stock(error: Exception) -> bool:
    """Whether the stock domain refused for lack of stock."""
    return isinstance(error, stock.OutOfStock)


# loyalty ----------------------------------------------------------------------------------------------------

LoyaltyAccount = Literal["points", "stored_value"]


def points_for(session: Session, *, profile_id: int, amount: int) -> int:
    """How many points pay ``amount`` đồng (a point is worth the programme's point value); ValidationFailed when
    the amount is not a whole number of points."""
    value = loyalty.balances(session, profile_id=profile_id).point_value
    if value <= 0 or amount % value:
        raise ValidationFailed(f"Points pay in steps of {value:,} đồng (one point); {amount:,} đồng is not.",
                               code="invalid_points_amount", details={"point_value": value})
    return amount // value


def _units(session: Session, *, profile_id: int, account: LoyaltyAccount, amount: int) -> int:
    return points_for(session, profile_id=profile_id, amount=amount) if account == "points" else amount


def spend(session: Session, *, profile_id: int, account: LoyaltyAccount, amount: int, reference: str,
          actor: str) -> None:
    """Take stored value or points (``amount`` in đồng) from the customer's balance."""
    loyalty.spend(session, profile_id=profile_id, account=account, reference=reference, actor=actor,
                  amount=_units(session, profile_id=profile_id, account=account, amount=amount))


def refund(session: Session, *, profile_id: int, account: LoyaltyAccount, amount: int, reference: str,
           actor: str) -> None:
    """Give stored value or points (``amount`` in đồng) back to the customer."""
    loyalty.refund(session, profile_id=profile_id, account=account, reference=reference, actor=actor,
                   amount=_units(session, profile_id=profile_id, account=account, amount=amount))
