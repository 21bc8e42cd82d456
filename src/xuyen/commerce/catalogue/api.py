"""The catalogue API: products with variants and pictures, categories, channel listings, and the till's lookup.

Agents and above read (shop-floor staff look products up and scan them); managers and above change the catalogue.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.commerce.catalogue import categories, service
from xuyen.commerce.catalogue.exporting import export_catalogue
from xuyen.commerce.catalogue.importing import MAX_FILE_BYTES, ImportReport, import_catalogue, rejection
from xuyen.commerce.catalogue.models import ProductStatus
from xuyen.commerce.catalogue.schemas import (
    MAX_ID,
    MAX_IMAGES,
    CategoryIn,
    CategoryOut,
    CategoryUpdate,
    ImageIn,
    ImageOut,
    ImportReportOut,
    ListingIn,
    ListingOut,
    ProductIn,
    ProductListOut,
    ProductOut,
    ProductSummaryOut,
    ProductUpdate,
    RowErrorOut,
    VariantIn,
    VariantLookupOut,
    VariantOut,
    VariantUpdate,
    variant_out,
)
from xuyen.commerce.channels import SalesChannel
from xuyen.config import Settings
from xuyen.errors import PayloadTooLarge
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(prefix="/catalogue", tags=["catalogue"])

MAX_LIMIT = 200
IMPORT_PATHS = ("/api/v1/catalogue/import", "/catalogue/import")
MULTIPART_OVERHEAD = 64 * 1024
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def body_limits(settings: Settings) -> dict[str, int]:
    """A catalogue file may be larger than other request bodies (the API's import and the import page)."""
    return dict.fromkeys(IMPORT_PATHS, MAX_FILE_BYTES + MULTIPART_OVERHEAD)


def read_upload(upload: UploadFile) -> bytes:
    """The uploaded file's bytes, refusing a file over the import limit without reading it all."""
    data = upload.file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(f"The file is larger than {MAX_FILE_BYTES // 1_048_576} MB; split the catalogue "
                              "into several files and import each.", code="file_too_large")
    return data


def report_out(report: ImportReport) -> ImportReportOut:
    """An import's report as the API answers it."""
    return ImportReportOut(
        format=report.format, rows=report.rows, dry_run=report.dry_run, applied=report.applied,
        products_created=report.products_created, products_updated=report.products_updated,
        variants_created=report.variants_created, variants_updated=report.variants_updated,
        listings_set=report.listings_set, ignored_columns=report.ignored_columns,
        errors=[RowErrorOut(row=e.row, column=e.column, code=e.code, message=e.message) for e in report.errors])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
ProductId = Annotated[int, Path(ge=1, le=MAX_ID, description="The product's id.")]
VariantId = Annotated[int, Path(ge=1, le=MAX_ID, description="The variant's id.")]
CategoryId = Annotated[int, Path(ge=1, le=MAX_ID, description="The category's id.")]
ListingId = Annotated[int, Path(ge=1, le=MAX_ID, description="The listing's id.")]

_PRODUCT_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such product (product_not_found)"}}
_VARIANT_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such variant (variant_not_found)"}}
_CODES_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "The SKU, barcode or product code belongs to another (sku_taken, barcode_taken, "
                         "product_code_taken)"},
    422: {"description": "A malformed SKU, barcode, option or picture address (invalid_sku, invalid_barcode, "
                         "invalid_options, duplicate_options, invalid_image)"},
}


def _detail(session: Session, product_id: int) -> ProductOut:
    return ProductOut.of(service.product_detail(session, product_id=product_id))


# Products -----------------------------------------------------------------------------------------------


@router.get("/products", summary="Search products")
def search_products(
    session: Db,
    _caller: Agent,
    q: Annotated[str, Query(max_length=200, description="Words of the name (with or without diacritics), the "
                                                        "start of a product code or SKU, or a barcode.")] = "",
    category_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Its subcategories too.")] = None,
    status: ProductStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ProductListOut:
    """Products by name, a page at a time, with the number that match in all."""
    page = service.search_products(session, query=q, category_id=category_id, status=status, limit=limit,
                                   offset=offset)
    return ProductListOut(total=page.total, items=[
        ProductSummaryOut.of(product, variant_count=page.variant_counts.get(product.id, 0))
        for product in page.products])


@router.post("/products", status_code=201, summary="Create a product with its variants", responses={
    **_CODES_REFUSED, 404: {"description": "No such category (category_not_found)"}})
def create_product(body: ProductIn, session: Db, caller: Manager) -> ProductOut:
    """A new product, its variants (at least one) and pictures, all or nothing."""
    product = service.create_product(session, product=body, actor=actor_name(caller))
    return _detail(session, product.id)


@router.get("/products/{product_id}", summary="Read a product", responses=_PRODUCT_404)
def read_product(product_id: ProductId, session: Db, _caller: Agent) -> ProductOut:
    """The product with its variants, their listings, and its pictures."""
    return _detail(session, product_id)


@router.patch("/products/{product_id}", summary="Change a product", responses={**_PRODUCT_404, **_CODES_REFUSED})
def update_product(product_id: ProductId, body: ProductUpdate, session: Db, caller: Manager) -> ProductOut:
    """Change the product's code, name, description, brand, category, tax class or status."""
    service.update_product(session, product_id=product_id, changes=body, actor=actor_name(caller))
    return _detail(session, product_id)


@router.post("/products/{product_id}/archive", summary="Archive a product", responses=_PRODUCT_404)
def archive_product(product_id: ProductId, session: Db, caller: Manager) -> ProductOut:
    """Stop selling the product on every channel; it stays for old orders."""
    service.archive_product(session, product_id=product_id, actor=actor_name(caller))
    return _detail(session, product_id)


@router.post("/products/{product_id}/activate", summary="Activate a product", responses=_PRODUCT_404)
def activate_product(product_id: ProductId, session: Db, caller: Manager) -> ProductOut:
    """Sell a draft or archived product."""
    service.activate_product(session, product_id=product_id, actor=actor_name(caller))
    return _detail(session, product_id)


@router.put("/products/{product_id}/images", summary="Replace a product's pictures", responses={
    **_PRODUCT_404, 422: {"description": "A bad address or a SKU of another product (invalid_image)"}})
def set_images(product_id: ProductId, body: Annotated[list[ImageIn], Body(max_length=MAX_IMAGES)], session: Db,
               caller: Manager) -> list[ImageOut]:
    """The product's pictures become these, in this order."""
    rows = service.set_images(session, product_id=product_id, images=body, actor=actor_name(caller))
    return [ImageOut.of(row) for row in rows]


@router.post("/products/{product_id}/variants", status_code=201, summary="Add a variant",
             responses={**_PRODUCT_404, **_CODES_REFUSED})
def create_variant(product_id: ProductId, body: VariantIn, session: Db, caller: Manager) -> VariantOut:
    """A new variant of the product, with the same option names as the others."""
    variant = service.create_variant(session, product_id=product_id, variant=body, actor=actor_name(caller))
    return _variant(session, variant.id)


# Variants -----------------------------------------------------------------------------------------------


def _variant(session: Session, variant_id: int) -> VariantOut:
    variant = service.get_variant(session, variant_id=variant_id)
    product = service.get_product(session, product_id=variant.product_id)
    listings = service.listings_of_variants(session, variant_ids=[variant.id])[variant.id]
    return variant_out(variant, option_names=product.option_names or [], listings=listings)


@router.get("/variants/lookup", summary="Look a variant up by SKU or barcode (a till's scan)",
            responses=_VARIANT_404)
def lookup_variant(session: Db, _caller: Agent,
                   code: Annotated[str, Query(min_length=1, max_length=64, description="A SKU or a barcode.")],
                   ) -> VariantLookupOut:
    """The variant a scanned barcode or typed SKU names, with its product."""
    variant = service.find_variant(session, code=code)
    return VariantLookupOut.of(service.variants_by_ids(session, variant_ids=[variant.id])[variant.id])


@router.get("/variants/{variant_id}", summary="Read a variant", responses=_VARIANT_404)
def read_variant(variant_id: VariantId, session: Db, _caller: Agent) -> VariantOut:
    """The variant with its listings."""
    return _variant(session, variant_id)


@router.patch("/variants/{variant_id}", summary="Change a variant", responses={**_VARIANT_404, **_CODES_REFUSED})
def update_variant(variant_id: VariantId, body: VariantUpdate, session: Db, caller: Manager) -> VariantOut:
    """Change the variant's SKU, barcode, options, weight, or stop selling it (``is_active: false``)."""
    service.update_variant(session, variant_id=variant_id, changes=body, actor=actor_name(caller))
    return _variant(session, variant_id)


# Listings -----------------------------------------------------------------------------------------------


@router.post("/variants/{variant_id}/listings", status_code=201, summary="List a variant on a channel",
             responses={**_VARIANT_404, 409: {"description": "That item/model is another variant's (listing_taken)"},
                        422: {"description": "A marketplace listing without its shop or ids (invalid_listing)"}})
def list_variant(variant_id: VariantId, body: ListingIn, session: Db, caller: Manager) -> ListingOut:
    """List the variant in a channel's shop under the ids the channel gave it (or change those ids)."""
    return ListingOut.of(service.list_variant(session, variant_id=variant_id, listing=body, actor=actor_name(caller)))


@router.get("/listings", summary="List a channel's listings")
def read_listings(
    session: Db,
    _caller: Agent,
    channel: SalesChannel,
    account: Annotated[str | None, Query(max_length=64, description="One shop of the channel.")] = None,
    active_only: bool = True,
) -> list[ListingOut]:
    """The variants listed on a channel (in one shop), active ones only unless asked."""
    rows = service.listings_of(session, channel=channel, account=account, active_only=active_only)
    return [ListingOut.of(row) for row in rows]


@router.delete("/listings/{listing_id}", summary="Unlist a variant from a channel",
               responses={404: {"description": "No such listing (listing_not_found)"}})
def unlist(listing_id: ListingId, session: Db, caller: Manager) -> ListingOut:
    """Stop selling the variant on that channel; the listing stays, inactive, so old orders still map."""
    return ListingOut.of(service.unlist(session, listing_id=listing_id, actor=actor_name(caller)))


# Categories ---------------------------------------------------------------------------------------------


@router.get("/categories", summary="List categories")
def list_categories(session: Db, _caller: Agent) -> list[CategoryOut]:
    """Every category in tree order, with its path from the top."""
    paths = categories.category_paths(session)
    return [CategoryOut.of(row, path=paths.get(row.id, row.name)) for row in categories.list_categories(session)]


@router.post("/categories", status_code=201, summary="Create a category", responses={
    409: {"description": "A sibling has that name, or the slug is taken (category_exists, category_slug_taken)"}})
def create_category(body: CategoryIn, session: Db, caller: Manager) -> CategoryOut:
    """A new category at the top or under a parent."""
    row = categories.create_category(session, category=body, actor=actor_name(caller))
    return CategoryOut.of(row, path=categories.category_path(session, category_id=row.id))


@router.patch("/categories/{category_id}", summary="Change a category",
              responses={404: {"description": "No such category (category_not_found)"}})
def update_category(category_id: CategoryId, body: CategoryUpdate, session: Db, caller: Manager) -> CategoryOut:
    """Rename a category, move it under another, or change its position."""
    row = categories.update_category(session, category_id=category_id, changes=body, actor=actor_name(caller))
    return CategoryOut.of(row, path=categories.category_path(session, category_id=row.id))


@router.delete("/categories/{category_id}", status_code=204, summary="Delete an empty category", responses={
    404: {"description": "No such category"}, 409: {"description": "It still holds products (category_in_use)"}})
def delete_category(category_id: CategoryId, session: Db, caller: Manager) -> Response:
    """Delete a category that holds no products and no subcategories."""
    categories.delete_category(session, category_id=category_id, actor=actor_name(caller))
    return Response(status_code=204)


# Files --------------------------------------------------------------------------------------------------


@router.post("/import", summary="Import products and variants from a CSV or Excel file", responses={
    413: {"description": "Over 20 MB (file_too_large)"},
    422: {"description": "Not a CSV or .xlsx file, no SKU or product code column (not_a_spreadsheet, "
                         "missing_columns, …), or rows with errors (import_rejected, with every row's error in "
                         "details.errors): nothing is imported then"}})
def import_file(
    session: Db,
    caller: Manager,
    file: Annotated[UploadFile, File(description="The CSV or .xlsx file, one row per variant.")],
    dry_run: Annotated[bool, Form(description="Only check the file and report what would change.")] = False,
    sheet: Annotated[str | None, Form(max_length=200, description="The Excel sheet (default: the first).")] = None,
) -> ImportReportOut:
    """Every row checked, then all kept or none; products matched by code and variants by SKU."""
    report = import_catalogue(session, data=read_upload(file), file_name=file.filename or "", actor=actor_name(caller),
                              dry_run=dry_run, sheet=sheet)
    if report.errors and not dry_run:
        raise rejection(report)
    return report_out(report)


@router.get("/export", summary="Export the catalogue as a CSV or Excel file", response_class=Response,
            responses={200: {"content": {CONTENT_TYPES["csv"]: {}, CONTENT_TYPES["xlsx"]: {}}}})
def export_file(
    session: Db,
    _caller: Manager,
    fmt: Annotated[str, Query(alias="format", pattern="^(csv|xlsx)$")] = "xlsx",
    lang: Annotated[str, Query(pattern="^(vi|en)$", description="The headers' language.")] = "vi",
) -> Response:
    """Every product and variant, one row per variant, in the format the import reads."""
    data = export_catalogue(session, fmt=fmt, language=lang)
    return Response(data, media_type=CONTENT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="catalogue.{fmt}"'})
