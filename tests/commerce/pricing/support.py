"""Test data for pricing: a small catalogue with base prices, made through the tables the catalogue owns and the
pricing services."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue import categories
from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.catalogue.models import TaxClass
from xuyen.commerce.catalogue.schemas import CategoryIn, ProductIn, VariantIn
from xuyen.commerce.pricing import admin, prices, promotions
from xuyen.commerce.pricing.models import Promotion

ACTOR = "test"
IN_2026 = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
IN_2027 = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Shop:
    """The ids of the demo catalogue: SKU → variant id, and the categories."""

    variants: Mapping[str, int]
    shirts: int
    accessories: int


def make_variant(session: Session, *, sku: str, name: str, price: int | None, category_id: int | None = None,
                 tax_class: TaxClass = TaxClass.standard, active: bool = True) -> int:
    """A product with one variant, made through the catalogue (and its base price, when given); the variant's id."""
    number = next(_numbers)
    product = catalogue.create_product(session, product=ProductIn(
        code=f"P{number:04d}-{sku}", name=name, category_id=category_id, tax_class=tax_class,
        variants=[VariantIn(sku=sku, options={"Cỡ": "M"}, is_active=active)]), actor=ACTOR)
    variant_id = catalogue.variants_of(session, product_id=product.id)[0].id
    if price is not None:
        admin.set_prices(session, price_list_id=prices.base_price_list(session).id, amounts={variant_id: price},
                         actor=ACTOR)
    return variant_id


def make_shop(session: Session) -> Shop:
    """Three shirts, a cap, a book (reduced VAT), rice (exempt) and a bag (never reduced)."""
    admin.install_defaults(session)
    shirts = categories.create_category(session, category=CategoryIn(name=f"Áo {next(_numbers)}"), actor=ACTOR)
    accessories = categories.create_category(session, category=CategoryIn(name=f"Phụ kiện {next(_numbers)}"),
                                             actor=ACTOR)
    found = {
        "AO-1": make_variant(session, sku="AO-1", name="Áo thun", price=199_000, category_id=shirts.id),
        "AO-2": make_variant(session, sku="AO-2", name="Áo sơ mi", price=349_000, category_id=shirts.id),
        "AO-3": make_variant(session, sku="AO-3", name="Áo khoác", price=799_000, category_id=shirts.id),
        "MU-1": make_variant(session, sku="MU-1", name="Mũ lưỡi trai", price=99_000, category_id=accessories.id),
        "SACH-1": make_variant(session, sku="SACH-1", name="Sách", price=120_000, tax_class=TaxClass.reduced),
        "GAO-1": make_variant(session, sku="GAO-1", name="Gạo", price=150_000, tax_class=TaxClass.exempt),
        "TUI-1": make_variant(session, sku="TUI-1", name="Túi", price=450_000,
                              tax_class=TaxClass.standard_not_reduced),
    }
    return Shop(variants=found, shirts=shirts.id, accessories=accessories.id)


def make_promotion(session: Session, **changes: Any) -> Promotion:
    """A promotion through the service (name defaults)."""
    return promotions.create_promotion(session, changes={"name": f"KM {next(_numbers)}", **changes}, actor=ACTOR)
