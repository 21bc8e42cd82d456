"""The stock health dashboard: SKUs a channel lists but cannot sell, stock held by reservations, how fast products
sell through, and what runs low. Availability per channel is the stock module's own
(``available_for_channel``: the serving locations' on hand less reserved, less the channel's buffer); the rest is
read from the stock ledger and levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.analytics import tables
from xuyen.analytics.filters import Filters
from xuyen.commerce.catalogue.models import Category, ChannelListing, Product, ProductStatus, Variant
from xuyen.commerce.channels import MARKETPLACES, SalesChannel
from xuyen.commerce.stock.models import (
    Location,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from xuyen.commerce.stock.service import available_for_channel
from xuyen.i18n import translations

LOW_STOCK = 5  # a SKU with this many units or fewer available is low
LIST_LIMIT = 100


@dataclass(frozen=True)
class OutOfStock:
    """One channel: SKUs it lists, and how many of them it has none of to sell."""

    channel: str
    listed: int
    out_of_stock: int
    skus: list[str]


@dataclass(frozen=True)
class Reservations:
    """Active reservations: how many, units held, and when the oldest was made."""

    count: int
    units: int
    oldest: datetime | None


@dataclass(frozen=True)
class SellThrough:
    """Units sold over the period and on hand at its end, for a product or a category."""

    name: str
    sold: int
    on_hand_end: int

    @property
    def rate(self) -> float | None:
        """Units sold / (units sold + units on hand at the end)."""
        total = self.sold + self.on_hand_end
        return self.sold / total if total else None


@dataclass(frozen=True)
class LowStock:
    """A SKU with few units available in the chosen locations."""

    sku: str
    product: str
    available: int


def _sellable_variants(session: Session) -> dict[int, str]:
    """Active variants of active products: id → SKU."""
    query = (select(Variant.id, Variant.sku).join(Product, Product.id == Variant.product_id)
             .where(Variant.is_active.is_(True), Product.status == ProductStatus.active))
    return {variant_id: sku for variant_id, sku in session.execute(query)}


def listed_variants(session: Session, *, channel: SalesChannel, sellable: dict[int, str]) -> list[int]:
    """The variants a channel offers: on a marketplace those with an active listing there; on the shop's own
    channels (web, app, POS, chat) every sellable variant."""
    if channel not in MARKETPLACES:
        return sorted(sellable)
    listed = session.scalars(select(ChannelListing.variant_id).where(
        ChannelListing.channel == channel, ChannelListing.is_active.is_(True)).distinct())
    return sorted(variant_id for variant_id in listed if variant_id in sellable)


def out_of_stock(session: Session, *, channel: SalesChannel | None = None) -> list[OutOfStock]:
    """Per channel (or the one chosen), the listed SKUs with nothing available to sell there (reads only)."""
    sellable = _sellable_variants(session)
    found: list[OutOfStock] = []
    for one in [channel] if channel is not None else list(SalesChannel):
        listed = listed_variants(session, channel=one, sellable=sellable)
        available = available_for_channel(session, channel=one, variant_ids=listed)
        empty = sorted(sellable[variant_id] for variant_id in listed if available.get(variant_id, 0) <= 0)
        found.append(OutOfStock(channel=one.value, listed=len(listed), out_of_stock=len(empty), skus=empty))
    return found


def _location_ids(session: Session, filters: Filters) -> list[int] | None:
    """The store's location when a store is chosen, else None (every location)."""
    if filters.store_id is None:
        return None
    return list(session.scalars(select(Location.id).where(Location.store_id == filters.store_id)))


def reservations(session: Session, *, filters: Filters) -> Reservations:
    """The reservations active now, of the chosen channel and store (reads only)."""
    query = select(func.count(), func.coalesce(func.sum(Reservation.quantity), 0), func.min(Reservation.created_at)) \
        .where(Reservation.status == ReservationStatus.active)
    if filters.channel is not None:
        query = query.where(Reservation.channel == filters.channel.value)
    locations = _location_ids(session, filters)
    if locations is not None:
        query = query.where(Reservation.location_id.in_(locations))
    count, units, oldest = session.execute(query).one()
    return Reservations(count=int(count), units=int(units or 0), oldest=oldest)


def _sold(session: Session, filters: Filters, locations: list[int] | None) -> dict[int, int]:
    query = (select(StockMovement.variant_id, func.sum(StockMovement.on_hand_delta))
             .where(StockMovement.kind == MovementKind.sale, StockMovement.at >= filters.start,
                    StockMovement.at < filters.end).group_by(StockMovement.variant_id))
    if filters.channel is not None:
        query = query.where(StockMovement.channel == filters.channel.value)
    if locations is not None:
        query = query.where(StockMovement.location_id.in_(locations))
    return {variant_id: -int(delta or 0) for variant_id, delta in session.execute(query)}


def _on_hand_at_end(session: Session, filters: Filters, locations: list[int] | None) -> dict[int, int]:
    """Units on hand when the period ended: on hand now less every ledger change after the end."""
    now_query = select(StockLevel.variant_id, func.sum(StockLevel.on_hand)).group_by(StockLevel.variant_id)
    later_query = (select(StockMovement.variant_id, func.sum(StockMovement.on_hand_delta))
                   .where(StockMovement.at >= filters.end).group_by(StockMovement.variant_id))
    if locations is not None:
        now_query = now_query.where(StockLevel.location_id.in_(locations))
        later_query = later_query.where(StockMovement.location_id.in_(locations))
    found = {variant_id: int(units or 0) for variant_id, units in session.execute(now_query)}
    for variant_id, delta in session.execute(later_query):
        found[variant_id] = found.get(variant_id, 0) - int(delta or 0)
    return found


def sell_through(session: Session, *, filters: Filters, by: str = "product") -> list[SellThrough]:
    """Sell-through per product (or ``by="category"``) over the period, in the chosen store and of the chosen
    channel's sales, the highest first (reads only)."""
    locations = _location_ids(session, filters)
    sold = _sold(session, filters, locations)
    on_hand = _on_hand_at_end(session, filters, locations)
    group = (Product.name if by == "product" else func.coalesce(Category.name, ""))
    names = dict(session.execute(select(Variant.id, group).join(Product, Product.id == Variant.product_id)
                                 .outerjoin(Category, Category.id == Product.category_id)).all())
    totals: dict[str, list[int]] = {}
    for variant_id in set(sold) | set(on_hand):
        if variant_id not in names:
            continue
        pair = totals.setdefault(str(names[variant_id]), [0, 0])
        pair[0] += sold.get(variant_id, 0)
        pair[1] += max(on_hand.get(variant_id, 0), 0)
    rows = [SellThrough(name=name, sold=pair[0], on_hand_end=pair[1]) for name, pair in totals.items()
            if pair[0] or pair[1]]
    return sorted(rows, key=lambda row: (-(row.rate or 0), -row.sold, row.name))


def low_stock(session: Session, *, filters: Filters, threshold: int = LOW_STOCK) -> list[LowStock]:
    """Sellable SKUs with at most ``threshold`` units available (on hand less reserved) in the chosen store or all
    locations, the fewest first (reads only)."""
    locations = _location_ids(session, filters)
    available = func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0)
    joined = StockLevel.variant_id == Variant.id
    if locations is not None:
        joined = joined & StockLevel.location_id.in_(locations)
    query = (select(Variant.sku, Product.name, available).join(Product, Product.id == Variant.product_id)
             .outerjoin(StockLevel, joined)
             .where(Variant.is_active.is_(True), Product.status == ProductStatus.active)
             .group_by(Variant.id, Variant.sku, Product.name).having(available <= threshold)
             .order_by(available, Variant.sku).limit(LIST_LIMIT))
    return [LowStock(sku=sku, product=name, available=int(units)) for sku, name, units in session.execute(query)]


# Tables ----------------------------------------------------------------------------------------------------


@tables.exportable("stock", "out-of-stock")
def out_of_stock_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Out-of-stock SKUs per channel."""
    _ = translations(locale).gettext
    rows: list[list[tables.Cell]] = [[row.channel, row.listed, row.out_of_stock, ", ".join(row.skus)]
                                     for row in out_of_stock(session, channel=filters.channel)]
    return tables.Table(title=_("Out of stock by channel"),
                        columns=[_("Channel"), _("Listed SKUs"), _("Out of stock"), _("SKUs")], rows=rows)


@tables.exportable("stock", "sell-through")
def sell_through_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Sell-through per product."""
    _ = translations(locale).gettext
    rows: list[list[tables.Cell]] = [
        [row.name, row.sold, row.on_hand_end, None if row.rate is None else round(row.rate, 4)]
        for row in sell_through(session, filters=filters)]
    return tables.Table(title=_("Sell-through by product"),
                        columns=[_("Product"), _("Units sold"), _("On hand at the end"), _("Sell-through")], rows=rows)


@tables.exportable("stock", "sell-through-categories")
def categories_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Sell-through per category."""
    _ = translations(locale).gettext
    rows: list[list[tables.Cell]] = [
        [row.name, row.sold, row.on_hand_end, None if row.rate is None else round(row.rate, 4)]
        for row in sell_through(session, filters=filters, by="category")]
    return tables.Table(title=_("Sell-through by category"),
                        columns=[_("Category"), _("Units sold"), _("On hand at the end"), _("Sell-through")],
                        rows=rows)


@tables.exportable("stock", "low-stock")
def low_stock_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """SKUs running low."""
    _ = translations(locale).gettext
    rows: list[list[tables.Cell]] = [[row.sku, row.product, row.available]
                                     for row in low_stock(session, filters=filters)]
    return tables.Table(title=_("Low stock"), columns=[_("SKU"), _("Product"), _("Available")], rows=rows)
