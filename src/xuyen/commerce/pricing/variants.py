"""What pricing needs to know of the catalogue's variants (read-only): name, product, category, tax class, and
whether it may be sold. The one place pricing reads the catalogue."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
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


def _query(session: Session, condition: ColumnElement[bool]) -> list[VariantInfo]:
    rows = session.execute(select(Variant, Product).join(Product, Product.id == Variant.product_id).where(condition))
    return [VariantInfo(variant_id=variant.id, sku=variant.sku, product_id=product.id, product_name=product.name,
                        variant_label=" / ".join(str(value) for value in (variant.options or {}).values()),
                        category_id=product.category_id, tax_class=TaxClass(product.tax_class).value,
                        is_sellable=bool(variant.is_active) and product.status == ProductStatus.active)
            for variant, product in rows]


def by_ids(session: Session, *, variant_ids: Collection[int]) -> dict[int, VariantInfo]:
    """The variants with these ids (those that exist)."""
    if not variant_ids:
        return {}
    return {info.variant_id: info for info in _query(session, Variant.id.in_(list(set(variant_ids))))}


def by_skus(session: Session, *, skus: Collection[str]) -> dict[str, VariantInfo]:
    """The variants with these SKUs (those that exist)."""
    if not skus:
        return {}
    return {info.sku: info for info in _query(session, Variant.sku.in_(list(set(skus))))}
