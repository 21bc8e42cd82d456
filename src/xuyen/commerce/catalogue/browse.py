"""Finding products: search by name (with or without Vietnamese diacritics), product code, SKU or barcode, filtered
by category (its subcategories included) and status."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from xuyen.commerce.catalogue.categories import get_category
from xuyen.commerce.catalogue.codes import scan_forms
from xuyen.commerce.catalogue.models import (
    Category,
    Product,
    ProductStatus,
    Variant,
)
from xuyen.identity.names import fold_name

MAX_QUERY = 200
MAX_LIMIT = 200


@dataclass(frozen=True)
class ProductPage:
    """One page of a product search, the number of matches in all, and each product's variant count."""

    products: list[Product]
    total: int
    variant_counts: dict[int, int]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _category_and_below(session: Session, category_id: int) -> list[int]:
    get_category(session, category_id=category_id)
    children: dict[int | None, list[int]] = {}
    for row_id, parent_id in session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(parent_id, []).append(row_id)
    found, pending = [], [category_id]
    while pending:
        current = pending.pop()
        if current not in found:
            found.append(current)
            pending.extend(children.get(current, []))
    return found


def _matches(query: str) -> ColumnElement[bool]:
    """Products whose folded name holds every word of the query, or whose code, SKUs or barcodes it names."""
    words = fold_name(query).split()
    by_name = and_(*(Product.name_folded.like(f"%{_escape(word)}%", escape="\\") for word in words))
    code = " ".join(query.split()).upper()
    forms = scan_forms(query)
    by_code = or_(Product.code.like(f"{_escape(code)}%", escape="\\"),
                  Product.id.in_(select(Variant.product_id).where(or_(
                      Variant.sku.like(f"{_escape(code)}%", escape="\\"), Variant.barcode.in_(forms)))))
    return or_(by_name, by_code) if words else by_code


def search_products(session: Session, *, query: str = "", category_id: int | None = None,
                    status: ProductStatus | None = None, limit: int = 50, offset: int = 0) -> ProductPage:
    """Products matching ``query`` (every word of the name, without diacritics; or the start of a code or SKU;
    or a barcode), in a category and its subcategories, with a status; by name."""
    query = " ".join(query.split())[:MAX_QUERY]
    conditions: list[ColumnElement[bool]] = []
    if query:
        conditions.append(_matches(query))
    if category_id is not None:
        conditions.append(Product.category_id.in_(_category_and_below(session, category_id)))
    if status is not None:
        conditions.append(Product.status == status)
    total = session.scalar(select(func.count()).select_from(Product).where(*conditions)) or 0
    products = list(session.scalars(select(Product).where(*conditions).order_by(Product.name_folded, Product.id)
                                    .limit(min(max(limit, 1), MAX_LIMIT)).offset(max(offset, 0))))
    counts: dict[int, int] = {product.id: 0 for product in products}
    if products:
        rows = session.execute(select(Variant.product_id, func.count()).where(Variant.product_id.in_(counts))
                               .group_by(Variant.product_id))
        counts.update({product_id: int(count) for product_id, count in rows})
    return ProductPage(products=products, total=int(total), variant_counts=counts)
