"""What pricing needs to know of the catalogue's variants: name, product, category, tax class, and whether it may
be sold — through the catalogue service's ``variants_by_ids``. The one place pricing touches the catalogue; finding
many variants by SKU at once reads the variants' ids and SKUs (read-only), as a quote needs one query for its lines."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.catalogue.models import Variant
from xuyen.commerce.catalogue.schemas import VariantView


@dataclass(frozen=True)
class VariantInfo:
    """A variant as pricing sees it."""

    variant_id: int
    sku: str
    product_id: int
    name: str
    category_id: int | None
    tax_class: str
    is_sellable: bool

    @classmethod
    def of(cls, view: VariantView) -> VariantInfo:
        return cls(variant_id=view.variant_id, sku=view.sku, product_id=view.product_id, name=view.display_name,
                   category_id=view.category_id, tax_class=str(view.tax_class.value), is_sellable=view.is_sellable)


def sku_key(sku: str) -> str:
    """A SKU as the catalogue stores it (upper-case, inner spaces single), for looking it up."""
    return " ".join(sku.split()).upper()


_IDS_OF_SKUS = select(Variant.sku, Variant.id).where(Variant.sku.in_(bindparam("skus", expanding=True)))


def by_ids(session: Session, *, variant_ids: Collection[int]) -> dict[int, VariantInfo]:
    """The variants with these ids (those that exist)."""
    if not variant_ids:
        return {}
    return {variant_id: VariantInfo.of(view)
            for variant_id, view in catalogue.variants_by_ids(session, variant_ids=variant_ids).items()}


def ids_of_skus(session: Session, *, keys: Collection[str]) -> dict[str, int]:
    """The ids of the variants with these SKU keys (see ``sku_key``), by key; unknown keys are left out."""
    if not keys:
        return {}
    return {row[0]: row[1] for row in session.execute(_IDS_OF_SKUS, {"skus": sorted(set(keys))})}


def by_skus(session: Session, *, skus: Collection[str]) -> dict[str, VariantInfo]:
    """The variants with these SKUs (those that exist), by SKU as given."""
    keys = {sku: sku_key(sku) for sku in skus}
    if not keys:
        return {}
    ids = {row[0]: row[1] for row in session.execute(_IDS_OF_SKUS, {"skus": sorted(set(keys.values()))})}
    infos = by_ids(session, variant_ids=ids.values())
    return {sku: infos[ids[key]] for sku, key in keys.items() if key in ids and ids[key] in infos}
