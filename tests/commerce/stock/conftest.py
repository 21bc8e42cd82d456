"""Stock test data: variants in the catalogue and locations to hold them."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue.models import Product, Variant
from xuyen.commerce.stock import locations
from xuyen.commerce.stock.models import Location, LocationKind

_numbers = itertools.count(1)


def make_variants(session: Session, count: int = 1, *, name: str = "Áo thun cổ tròn") -> list[Variant]:
    """``count`` committed variants of one new product."""
    number = next(_numbers)
    product = Product(code=f"P{number:04d}", name=name)
    session.add(product)
    session.flush()
    made = [Variant(product_id=product.id, sku=f"SKU-{number}-{index}", barcode=f"893{number:04d}{index:05d}",
                    options={"Cỡ": str(index)}) for index in range(count)]
    session.add_all(made)
    session.commit()
    return made


def make_location(session: Session, *, code: str | None = None, kind: LocationKind = LocationKind.store,
                  priority: int = 100, ships: bool = True, pickup: bool = False, province: str = "Hồ Chí Minh",
                  latitude: float | None = None, longitude: float | None = None,
                  store_id: int | None = None) -> Location:
    """A committed location."""
    number = next(_numbers)
    return locations.create(session, code=code or f"L{number:03d}", name=f"Kho {number}", kind=kind,
                            priority=priority, ships=ships, pickup=pickup, province=province, latitude=latitude,
                            longitude=longitude, store_id=store_id)
