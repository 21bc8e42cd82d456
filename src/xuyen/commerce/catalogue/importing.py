"""Importing a catalogue file (CSV or .xlsx, one row per variant): all or nothing, upserting by SKU.

Every row is checked, and every error reported with its row number, before anything is kept: a file with any
error changes nothing, so the shop owner fixes the rows the report names and imports the same file again.
Products are found by their code and variants by their SKU; a cell left empty leaves the value as it is.
Importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.commerce.catalogue import rows as sheet_rows
from xuyen.commerce.catalogue import service
from xuyen.commerce.catalogue.categories import ensure_category_path
from xuyen.commerce.catalogue.codes import options_key
from xuyen.commerce.catalogue.columns import parse_status, parse_tax_class
from xuyen.commerce.catalogue.models import ChannelListing, Product, ProductStatus, TaxClass, Variant
from xuyen.commerce.catalogue.rows import Row, RowError, RowFailed
from xuyen.commerce.catalogue.schemas import ImageIn, ListingIn, ProductIn, ProductUpdate, VariantIn, VariantUpdate
from xuyen.commerce.catalogue.sheets import read_sheet
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import ValidationFailed, XuyenError

MAX_ROWS = 50_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ERRORS_SHOWN = 500
Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass
class ImportReport:
    """What an import did (or, with errors or a dry run, would have done)."""

    format: str
    rows: int
    dry_run: bool
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    listings_set: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every row was accepted."""
        return not self.errors

    @property
    def applied(self) -> bool:
        """Whether the changes were kept."""
        return self.ok and not self.dry_run


def import_catalogue(session: Session, *, data: bytes, file_name: str, actor: str, dry_run: bool = False,
                     sheet: str | None = None, progress: Progress | None = None) -> ImportReport:
    """Import a catalogue file: every row checked, and all of it kept or none (nothing with ``dry_run``)."""
    table = read_sheet(data, file_name=file_name, sheet=sheet, max_rows=MAX_ROWS)
    read = sheet_rows.read_rows(table.headers, table.rows)
    report = ImportReport(format=table.format, rows=len(table.rows), dry_run=dry_run,
                          ignored_columns=read.ignored_columns, errors=list(read.errors))
    accounts = _accounts(session, read.rows)
    done = 0
    for group in read.products():
        savepoint = session.begin_nested()
        try:
            _apply_product(session, group, report=report, actor=actor, accounts=accounts)
            savepoint.commit()
        except RowFailed as failed:
            savepoint.rollback()
            report.errors.append(failed.at)
        except XuyenError as exc:
            savepoint.rollback()
            report.errors.append(RowError(row=group[0].number, column="", code=exc.code, message=exc.message))
        done += len(group)
        if progress is not None:
            progress(done, len(read.rows))
    report.errors.sort(key=lambda error: (error.row, error.column))
    if report.applied:
        audit.record(session, actor=actor, action="catalogue.imported", subject_type="catalogue", subject_id="-",
                     detail={"file": file_name[:200], "rows": report.rows, "products_created": report.products_created,
                             "products_updated": report.products_updated,
                             "variants_created": report.variants_created,
                             "variants_updated": report.variants_updated, "listings_set": report.listings_set})
        session.commit()
    else:
        session.rollback()
    return report


# Applying one product's rows ----------------------------------------------------------------------------


def _checked(row: Row, column: str, check: Callable[[], T]) -> T:
    try:
        return check()
    except XuyenError as exc:
        raise RowFailed(RowError(row=row.number, column=column, code=exc.code, message=exc.message)) from exc


def _first(rows: list[Row], key: str) -> tuple[Row, str] | None:
    return next(((row, row.values[key]) for row in rows if row.values.get(key)), None)


def _category_id(session: Session, rows: list[Row], actor: str) -> tuple[bool, int | None]:
    given = _first(rows, "category")
    if given is None:
        return False, None
    row, path = given
    category = _checked(row, "category", lambda: ensure_category_path(session, path=path, actor=actor))
    return True, category.id if category else None


def _check_codes(session: Session, rows: list[Row], product: Product | None) -> None:
    for row in rows:
        owner = session.scalar(select(Variant).where(Variant.sku == row.sku))
        if owner is not None and (product is None or owner.product_id != product.id):
            other = session.get(Product, owner.product_id)
            raise RowFailed(RowError(
                row=row.number, column="sku", code="sku_taken",
                message=f"The SKU {row.sku} belongs to product {other.code if other else owner.product_id}; a "
                        f"variant cannot move to {row.product_code} by import."))
        if row.barcode:
            holder = session.scalar(select(Variant).where(Variant.barcode == row.barcode))
            if holder is not None and holder.sku != row.sku:
                raise RowFailed(RowError(row=row.number, column="barcode", code="barcode_taken",
                                         message=f"The barcode {row.barcode} belongs to the SKU {holder.sku}."))


def _images(rows: list[Row]) -> list[ImageIn] | None:
    if not any(row.product_images or row.variant_images for row in rows):
        return None
    wanted: dict[tuple[str, str | None], None] = {}
    for row in rows:
        wanted.update({(url, None): None for url in row.product_images})
    for row in rows:
        wanted.update({(url, row.sku): None for url in row.variant_images})
    return [ImageIn(url=url, variant_sku=sku) for url, sku in wanted]


def _apply_product(session: Session, rows: list[Row], *, report: ImportReport, actor: str,
                   accounts: dict[SalesChannel, str | None]) -> None:
    first = rows[0]
    product = session.scalar(select(Product).where(Product.code == first.product_code))
    _check_codes(session, rows, product)
    has_category, category_id = _category_id(session, rows, actor)
    values = {key: found[1] for key in sheet_rows.PRODUCT_FIELDS if (found := _first(rows, key))}
    images = _images(rows)
    if product is None:
        if "product_name" not in values:
            raise RowFailed(RowError(row=first.number, column="product_name", code="invalid_product",
                                     message=f"{first.product_code} is a new product: give it a name."))
        product = _checked(first, "", lambda: service.add_product(session, actor=actor, product=ProductIn(
            code=first.product_code, name=values["product_name"], description=values.get("description", ""),
            brand=values.get("brand", ""), category_id=category_id,
            tax_class=parse_tax_class(values.get("tax_class", "")) or TaxClass.standard,
            status=parse_status(values.get("status", "")) or ProductStatus.active,
            variants=[VariantIn(sku=row.sku, barcode=row.barcode, options=row.options, weight_grams=row.weight_grams)
                      for row in rows],
            images=images or [])))
        report.products_created += 1
        report.variants_created += len(rows)
    else:
        changed = _update_product(session, product, values, has_category, category_id, actor)
        for row in rows:
            _upsert_variant(session, product, row, report=report, actor=actor)
        if images is not None and _current_images(session, product) != [(i.url, i.variant_sku) for i in images]:
            _checked(first, "product_images", lambda: service.replace_images(
                session, product_id=product.id, images=images, actor=actor))
            changed = True
        report.products_updated += int(changed)
    for row in rows:
        _set_listings(session, row, report=report, actor=actor, accounts=accounts)


def _update_product(session: Session, product: Product, values: dict[str, str], has_category: bool,
                    category_id: int | None, actor: str) -> bool:
    changes: dict[str, object] = {}
    if "product_name" in values and " ".join(values["product_name"].split()) != product.name:
        changes["name"] = values["product_name"]
    if "description" in values and values["description"].strip() != product.description:
        changes["description"] = values["description"]
    if "brand" in values and values["brand"].strip() != product.brand:
        changes["brand"] = values["brand"]
    if has_category and category_id != product.category_id:
        changes["category_id"] = category_id
    tax_class = parse_tax_class(values.get("tax_class", ""))
    if tax_class is not None and tax_class != product.tax_class:
        changes["tax_class"] = tax_class
    status = parse_status(values.get("status", ""))
    if status is not None and status != product.status:
        changes["status"] = status
    if changes:
        service.save_product(session, product_id=product.id, changes=ProductUpdate.model_validate(changes),
                             actor=actor)
    return bool(changes)


def _upsert_variant(session: Session, product: Product, row: Row, *, report: ImportReport, actor: str) -> None:
    variant = session.scalar(select(Variant).where(Variant.sku == row.sku))
    if variant is None:
        _checked(row, "options", lambda: service.add_variant(session, product_id=product.id, actor=actor, variant=(
            VariantIn(sku=row.sku, barcode=row.barcode, options=row.options, weight_grams=row.weight_grams))))
        report.variants_created += 1
        return
    changes: dict[str, object] = {}
    if row.barcode and row.barcode != variant.barcode:
        changes["barcode"] = row.barcode
    if row.options and options_key(row.options) != options_key(variant.options or {}):
        changes["options"] = row.options
    if row.weight_grams is not None and row.weight_grams != variant.weight_grams:
        changes["weight_grams"] = row.weight_grams
    if changes:
        _checked(row, "options", lambda: service.save_variant(
            session, variant_id=variant.id, changes=VariantUpdate.model_validate(changes), actor=actor))
        report.variants_updated += 1


def _current_images(session: Session, product: Product) -> list[tuple[str, str | None]]:
    """The product's pictures as a file lists them: the product's own first, then each variant's in turn."""
    images = service.images_of(session, product_id=product.id)
    found: list[tuple[str, str | None]] = [(image.url, None) for image in images if image.variant_id is None]
    for variant in service.variants_of(session, product_id=product.id):
        found.extend((image.url, variant.sku) for image in images if image.variant_id == variant.id)
    return found


# Listings -----------------------------------------------------------------------------------------------


def _accounts(session: Session, rows: list[Row]) -> dict[SalesChannel, str | None]:
    """The shop to list in when a row names none: the only one the file or the catalogue knows on the channel."""
    found: dict[SalesChannel, str | None] = {}
    for channel, column in ((SalesChannel.shopee, "shopee_shop"), (SalesChannel.lazada, "lazada_seller")):
        known = {row.values[column] for row in rows if row.values.get(column)}
        known |= set(session.scalars(select(ChannelListing.account).where(ChannelListing.channel == channel)
                                     .distinct()))
        found[channel] = known.pop() if len(known) == 1 else None
    return found


def _set_listings(session: Session, row: Row, *, report: ImportReport, actor: str,
                  accounts: dict[SalesChannel, str | None]) -> None:
    wanted: list[tuple[str, ListingIn]] = []
    if row.values.get("shopee_item"):
        shop = row.values.get("shopee_shop") or accounts[SalesChannel.shopee]
        if not shop:
            raise RowFailed(RowError(row=row.number, column="shopee_shop", code="invalid_listing",
                                     message="Which Shopee shop? Fill in the Shopee shop ID column."))
        wanted.append(("shopee_item", ListingIn(channel=SalesChannel.shopee, account=shop,
                                                external_item_id=row.values["shopee_item"],
                                                external_model_id=row.values.get("shopee_model", ""))))
    if row.values.get("lazada_item"):
        seller = row.values.get("lazada_seller") or accounts[SalesChannel.lazada]
        if not seller:
            raise RowFailed(RowError(row=row.number, column="lazada_seller", code="invalid_listing",
                                     message="Which Lazada shop? Fill in the Lazada seller ID column."))
        wanted.append(("lazada_item", ListingIn(channel=SalesChannel.lazada, account=seller,
                                                external_item_id=row.values["lazada_item"],
                                                external_sku=row.values.get("lazada_sku") or row.sku)))
    if not wanted:
        return
    variant = service.get_variant_by_sku(session, sku=row.sku)
    for column, listing in wanted:
        if _is_listed(session, variant.id, listing):
            continue
        try:
            service.add_listing(session, variant_id=variant.id, listing=listing, actor=actor)
        except XuyenError as exc:
            raise RowFailed(RowError(row=row.number, column=column, code=exc.code, message=exc.message)) from exc
        report.listings_set += 1


def _is_listed(session: Session, variant_id: int, listing: ListingIn) -> bool:
    current = session.scalar(select(ChannelListing).where(
        ChannelListing.channel == listing.channel, ChannelListing.account == listing.account.strip(),
        ChannelListing.variant_id == variant_id))
    model = "" if listing.external_model_id.strip() == "0" else listing.external_model_id.strip()
    return current is not None and current.is_active and (
        current.external_item_id, current.external_model_id, current.external_sku) == (
        listing.external_item_id.strip(), model, listing.external_sku.strip())


def rejection(report: ImportReport) -> ValidationFailed:
    """The error ``import_rejected`` that lists every row error of a file that had some (for the API)."""
    first = report.errors[0]
    return ValidationFailed(
        f"{len(report.errors)} problems in the file (first: row {first.row}: {first.message}); nothing was "
        "imported. Fix the rows listed and import the file again.", code="import_rejected",
        details={"errors": [asdict(error) for error in report.errors[:MAX_ERRORS_SHOWN]]})
