"""Reading stock: levels with their variants' names, the ledger, reservations, and a SKU's stock per location for
customers ("is it in the Đà Nẵng store?"). Reads only; the catalogue's tables are read, never written."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from xuyen.commerce.catalogue.models import Product, ProductStatus, Variant
from xuyen.commerce.stock import locations
from xuyen.commerce.stock.models import (
    Location,
    MovementKind,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)
from xuyen.errors import NotFound, ValidationFailed

MAX_PAGE = 500


@dataclass(frozen=True)
class VariantName:
    """How a variant is shown: its SKU, its product's name and its options ("Đen / M")."""

    variant_id: int
    sku: str
    product_name: str
    label: str


@dataclass(frozen=True)
class LevelView:
    """A level with the names that go with it."""

    variant: VariantName
    location_id: int
    location_code: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        """On hand minus reserved."""
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class LocationStock:
    """What a customer may know of one location: how many are available, and how far it is."""

    location: Location
    available: int
    distance_km: float | None


@dataclass(frozen=True)
class SkuAvailability:
    """A SKU's stock per location, nearest (or same province) first."""

    variant: VariantName
    locations: list[LocationStock]


def _label(options: object) -> str:
    return " / ".join(str(value) for value in options.values()) if isinstance(options, dict) else ""


def _names(session: Session, query: Select[int, str, str, Any]) -> dict[int, VariantName]:
    return {row[0]: VariantName(row[0], row[1], row[2], _label(row[3])) for row in session.execute(query)}


def _name_query() -> Select[int, str, str, Any]:
    return (select(Variant.id, Variant.sku, Product.name, Variant.options)
            .join(Product, Product.id == Variant.product_id))


def variant_names(session: Session, *, variant_ids: Sequence[int]) -> dict[int, VariantName]:
    """The names of ``variant_ids`` (unknown ones are left out)."""
    if not variant_ids:
        return {}
    return _names(session, _name_query().where(Variant.id.in_(sorted(set(variant_ids)))))


def find_variant(session: Session, *, code: str, sellable_only: bool = False) -> VariantName:
    """The variant whose SKU or barcode is ``code`` (with ``sellable_only``: an active variant of an active
    product, as customers may see)."""
    code = code.strip()
    if not code or len(code) > 64:
        raise ValidationFailed("Give a SKU or a barcode (up to 64 characters).", code="invalid_sku")
    query = _name_query().where(or_(Variant.sku == code, Variant.barcode == code))
    if sellable_only:
        query = query.where(Variant.is_active.is_(True), Product.status == ProductStatus.active)
    found = _names(session, query)
    if not found:
        raise NotFound(f"There is no variant with SKU or barcode {code!r}.", code="variant_not_found")
    return next(iter(found.values()))


def _fold(text: str) -> str:
    """Lower case without Vietnamese marks, so "da nang" finds "Đà Nẵng"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).casefold().strip()


def availability_for_sku(session: Session, *, sku: str, near: tuple[float, float] | None = None,
                         province: str = "") -> SkuAvailability:
    """A sellable SKU's available stock at every active location: nearest to ``near`` first, else the locations of
    ``province`` first, then by name."""
    variant = find_variant(session, code=sku, sellable_only=True)
    places = locations.list_all(session, active_only=True)
    found = {row[0]: row[1] for row in session.execute(
        select(StockLevel.location_id, StockLevel.on_hand - StockLevel.reserved)
        .where(StockLevel.variant_id == variant.variant_id))}
    wanted = _fold(province)
    rows = [LocationStock(location=place, available=max(int(found.get(place.id, 0)), 0),
                          distance_km=None if near is None else _rounded(locations.distance_km(place, near)))
            for place in places]

    def key(row: LocationStock) -> tuple[float, int, str]:
        distance = math.inf if row.distance_km is None else row.distance_km
        same = 0 if wanted and _fold(row.location.province) == wanted else 1
        return (distance if near is not None else 0.0), same, row.location.name

    return SkuAvailability(variant=variant, locations=sorted(rows, key=key))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def list_levels(session: Session, *, search: str = "", variant_id: int | None = None, location_id: int | None = None,
                limit: int = 100, offset: int = 0, variant_ids: Sequence[int] | None = None) -> list[LevelView]:
    """Levels with their variant's SKU and product name, filtered by SKU or product name (``search``), by
    variant or by location; by SKU, then location."""
    query = (select(StockLevel.variant_id, StockLevel.location_id, Location.code, StockLevel.on_hand,
                    StockLevel.reserved)
             .join(Location, Location.id == StockLevel.location_id)
             .join(Variant, Variant.id == StockLevel.variant_id)
             .join(Product, Product.id == Variant.product_id)
             .order_by(Variant.sku, Location.priority, Location.id)
             .limit(min(max(limit, 1), MAX_PAGE if variant_ids is None else MAX_PAGE * 20)).offset(max(offset, 0)))
    if variant_ids is not None:
        query = query.where(StockLevel.variant_id.in_(sorted(set(variant_ids))))
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(Variant.sku).like(pattern), func.lower(Product.name).like(pattern),
                                Variant.barcode == search.strip()))
    if variant_id is not None:
        query = query.where(StockLevel.variant_id == variant_id)
    if location_id is not None:
        query = query.where(StockLevel.location_id == location_id)
    rows = session.execute(query).all()
    names = variant_names(session, variant_ids=[row[0] for row in rows])
    return [LevelView(variant=names[row[0]], location_id=row[1], location_code=row[2], on_hand=row[3],
                      reserved=row[4]) for row in rows if row[0] in names]


def ledger(session: Session, *, variant_id: int | None = None, location_id: int | None = None, reference: str = "",
           kind: MovementKind | None = None, before_id: int | None = None, limit: int = 100) -> list[StockMovement]:
    """Ledger lines, newest first, filtered by variant, location, reference or kind; ``before_id`` pages back."""
    query = select(StockMovement).order_by(StockMovement.id.desc()).limit(min(max(limit, 1), MAX_PAGE))
    if variant_id is not None:
        query = query.where(StockMovement.variant_id == variant_id)
    if location_id is not None:
        query = query.where(StockMovement.location_id == location_id)
    if reference.strip():
        query = query.where(StockMovement.reference == reference.strip())
    if kind is not None:
        query = query.where(StockMovement.kind == kind)
    if before_id is not None:
        query = query.where(StockMovement.id < before_id)
    return list(session.scalars(query))


def list_reservations(session: Session, *, reference: str = "", status: ReservationStatus | None = None,
                      variant_id: int | None = None, location_id: int | None = None,
                      limit: int = 100) -> list[Reservation]:
    """Reservations, newest first, filtered by reference, status, variant or location."""
    query = select(Reservation).order_by(Reservation.id.desc()).limit(min(max(limit, 1), MAX_PAGE))
    if reference.strip():
        query = query.where(Reservation.reference == reference.strip())
    if status is not None:
        query = query.where(Reservation.status == status)
    if variant_id is not None:
        query = query.where(Reservation.variant_id == variant_id)
    if location_id is not None:
        query = query.where(Reservation.location_id == location_id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class GridRow:
    """One variant's levels at every location of the grid."""

    variant: VariantName
    cells: dict[int, LevelView]

    def total(self, field: str) -> int:
        """A column's sum over the locations (``on_hand``, ``reserved`` or ``available``)."""
        return sum(getattr(cell, field) for cell in self.cells.values())


@dataclass(frozen=True)
class Grid:
    """Variants × locations: what the stock page shows."""

    locations: list[Location]
    rows: list[GridRow]


def grid(session: Session, *, search: str = "", limit: int = 100) -> Grid:
    """Up to ``limit`` variants with stock somewhere (matching ``search``: SKU, barcode or product name), by SKU,
    with their level at every location."""
    ids = (select(StockLevel.variant_id).join(Variant, Variant.id == StockLevel.variant_id)
           .join(Product, Product.id == Variant.product_id).group_by(StockLevel.variant_id, Variant.sku)
           .order_by(Variant.sku).limit(min(max(limit, 1), MAX_PAGE)))
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        ids = ids.where(or_(func.lower(Variant.sku).like(pattern), func.lower(Product.name).like(pattern),
                            Variant.barcode == search.strip()))
    variant_ids = list(session.scalars(ids))
    rows: dict[int, GridRow] = {}
    if variant_ids:
        for level in list_levels(session, variant_id=None, limit=MAX_PAGE * 20, search="",
                                 variant_ids=variant_ids):
            rows.setdefault(level.variant.variant_id, GridRow(level.variant, {})).cells[level.location_id] = level
    ordered = sorted(rows.values(), key=lambda row: row.variant.sku)
    return Grid(locations=locations.list_all(session, active_only=True), rows=ordered)
