"""Exporting the catalogue as the import reads it: one row per variant, CSV or .xlsx, headers in Vietnamese or
English. Exporting and importing the file again changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.commerce.catalogue.categories import category_paths
from xuyen.commerce.catalogue.codes import ordered_options
from xuyen.commerce.catalogue.columns import COLUMNS, LANGUAGES, OPTION_PREFIXES, status_word, tax_word
from xuyen.commerce.catalogue.listings import listings_of_variants
from xuyen.commerce.catalogue.models import ChannelListing, Product, ProductImage, Variant
from xuyen.commerce.catalogue.sheets import FORMATS, write_csv, write_xlsx
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import ValidationFailed
from xuyen.identity.names import fold_name

BATCH = 500
Progress = Callable[[int], None]


def _option_names(products: list[Product]) -> list[str]:
    names: dict[str, str] = {}
    for product in products:
        for name in product.option_names or []:
            names.setdefault(fold_name(name), name)
    return list(names.values())


def _listing(listings: list[ChannelListing], channel: SalesChannel) -> ChannelListing | None:
    return next((row for row in listings if row.channel == channel and row.is_active), None)


def catalogue_table(session: Session, *, language: str = "vi",
                    progress: Progress | None = None) -> tuple[list[str], list[list[str]]]:
    """The catalogue's header and rows (one per variant, products by code)."""
    if language not in LANGUAGES:
        raise ValidationFailed(f"Export in vi or en, not {language!r}.", code="invalid_language")
    products = list(session.scalars(select(Product).order_by(Product.code)))
    options = _option_names(products)
    headers = [column.header(language) for column in COLUMNS] + [OPTION_PREFIXES[language] + name for name in options]
    paths = category_paths(session)
    rows: list[list[str]] = []
    for start in range(0, len(products), BATCH):
        batch = {product.id: product for product in products[start:start + BATCH]}
        variants = list(session.scalars(select(Variant).where(Variant.product_id.in_(batch))
                                        .order_by(Variant.product_id, Variant.position, Variant.id)))
        images = list(session.scalars(select(ProductImage).where(ProductImage.product_id.in_(batch))
                                      .order_by(ProductImage.position, ProductImage.id)))
        listings = listings_of_variants(session, variant_ids=[variant.id for variant in variants])
        by_product: dict[int, list[Variant]] = {}
        for variant in variants:
            by_product.setdefault(variant.product_id, []).append(variant)
        for product_id, product in batch.items():
            product_images = " ".join(image.url for image in images
                                      if image.product_id == product_id and image.variant_id is None)
            for variant in by_product.get(product_id, []):
                variant_images = " ".join(image.url for image in images if image.variant_id == variant.id)
                shopee = _listing(listings[variant.id], SalesChannel.shopee)
                lazada = _listing(listings[variant.id], SalesChannel.lazada)
                values = {
                    "product_code": product.code, "product_name": product.name,
                    "category": paths.get(product.category_id, "") if product.category_id else "",
                    "brand": product.brand, "tax_class": tax_word(product.tax_class, language),
                    "status": status_word(product.status, language), "description": product.description,
                    "sku": variant.sku, "barcode": variant.barcode or "",
                    "weight_grams": "" if variant.weight_grams is None else str(variant.weight_grams),
                    "product_images": product_images, "variant_images": variant_images,
                    "shopee_shop": shopee.account if shopee else "",
                    "shopee_item": shopee.external_item_id if shopee else "",
                    "shopee_model": shopee.external_model_id if shopee else "",
                    "lazada_seller": lazada.account if lazada else "",
                    "lazada_item": lazada.external_item_id if lazada else "",
                    "lazada_sku": lazada.external_sku if lazada else "",
                }
                own = {fold_name(name): str(value) for name, value in
                       ordered_options(variant.options or {}, product.option_names or []).items()}
                rows.append([values[column.field] for column in COLUMNS]
                            + [own.get(fold_name(name), "") for name in options])
        if progress is not None:
            progress(min(start + BATCH, len(products)))
    return headers, rows


def export_catalogue(session: Session, *, fmt: str = "xlsx", language: str = "vi",
                     progress: Progress | None = None) -> bytes:
    """The whole catalogue as a CSV or .xlsx file that ``import_catalogue`` reads back unchanged."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"Export as csv or xlsx, not {fmt!r}.", code="invalid_format")
    headers, rows = catalogue_table(session, language=language, progress=progress)
    if fmt == "csv":
        return write_csv(headers, rows)
    return write_xlsx(headers, rows, title="Sản phẩm" if language == "vi" else "Products")
