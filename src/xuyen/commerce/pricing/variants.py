"""What pricing needs to know of the catalogue's variants (read-only): name, product, category, tax class, and
whether it may be sold. The one place pricing reads the catalogue."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from xuyen.commerce.catalogue.models import Product, ProductStatus, TaxClass, Variant


@dataclass(frozen=True)
class VariantInfo:
    """A variant as pricing sees it."""

    variant_id: int
    sku: str
    product_id: int
    product_name: str
    variant_label: str
    category_id: int | None
    tax_class: str
    is_sellable: bool

    @property
    def name(self) -> str:
        """The product name with the variant's options ("Áo thun - Đen / M")."""
        return f"{self.product_name} - {self.variant_label}" if self.variant_label else self.product_name


_COLUMNS = (select(Variant.id, Variant.sku, Variant.options, Variant.is_active, Product.id, Product.name,
                   Product.category_id, Product.tax_class, Product.status)
            .join(Product, Product.id == Variant.product_id))
_BY_IDS = _COLUMNS.where(Variant.id.in_(bindparam("keys", expanding=True)))
_BY_SKUS = _COLUMNS.where(Variant.sku.in_(bindparam("keys", expanding=True)))


def _query(session: Session, statement: Select[Any], keys: list[Any]) -> list[VariantInfo]:
    rows = session.execute(statement, {"keys": keys})
    return [VariantInfo(variant_id=row[0], sku=row[1], product_id=row[4], product_name=row[5],
                        variant_label=" / ".join(str(value) for value in (row[2] or {}).values()),
                        category_id=row[6], tax_class=TaxClass(row[7]).value,
                        is_sellable=bool(row[3]) and row[8] == ProductStatus.active)
            for row in rows]


def by_ids(session: Session, *, variant_ids: Collection[int]) -> dict[int, VariantInfo]:
    """The variants with these ids (those that exist)."""
    if not variant_ids:
        return {}
    return {info.variant_id: info for info in _query(session, _BY_IDS, list(set(variant_ids)))}


def by_skus(session: Session, *, skus: Collection[str]) -> dict[str, VariantInfo]:
    """The variants with these SKUs (those that exist)."""
    if not skus:
        return {}
    return {info.sku: info for info in _query(session, _BY_SKUS, list(set(skus)))}
