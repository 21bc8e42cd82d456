"""The catalogue pages: products (search, filter by category and status), a product with its variants, pictures
and channel listings, forms to create and change them, and the import and export of catalogue files.

Agents and above look products up; managers and above change the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.commerce.catalogue import categories, service
from xuyen.commerce.catalogue.api import CONTENT_TYPES, read_upload
from xuyen.commerce.catalogue.exporting import export_catalogue
from xuyen.commerce.catalogue.importing import ImportReport, import_catalogue
from xuyen.commerce.catalogue.models import ProductStatus, TaxClass
from xuyen.commerce.catalogue.schemas import (
    MAX_ID,
    ImageIn,
    ListingIn,
    ProductIn,
    ProductUpdate,
    VariantIn,
    VariantUpdate,
)
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import XuyenError
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

BASE = "/catalogue"
PAGE_SIZE = 50
NEW_VARIANT_ROWS = 12
MAX_IMAGES_TEXT = 50_000

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
ProductId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
VariantId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
ListingId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
FormText = Annotated[str, Form()]
FormList = Annotated[list[str], Form()]

STATUS_LABELS: dict[str, str] = {
    ProductStatus.active: N_("Selling"),
    ProductStatus.draft: N_("Draft"),
    ProductStatus.archived: N_("Archived"),
}
TAX_LABELS: dict[str, str] = {
    TaxClass.standard: N_("Standard VAT (reduced while a VAT cut applies)"),
    TaxClass.standard_not_reduced: N_("Standard VAT, never reduced"),
    TaxClass.reduced: N_("Reduced VAT"),
    TaxClass.exempt: N_("No VAT"),
}


@dataclass
class ProductForm:
    """What was typed into the product form (kept when the form comes back with an error)."""

    code: str = ""
    name: str = ""
    category_id: str = ""
    brand: str = ""
    tax_class: str = TaxClass.standard.value
    status: str = ProductStatus.active.value
    description: str = ""
    option1: str = "Màu"
    option2: str = "Cỡ"
    images: str = ""
    rows: list[dict[str, str]] = field(default_factory=list)


def _see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


def _message(error: Exception) -> str:
    if isinstance(error, XuyenError):
        return error.message
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', '')}"
    return str(error)


def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return render(request, template, {**context, "status_labels": STATUS_LABELS, "tax_labels": TAX_LABELS,
                                      "channels": [channel.value for channel in SalesChannel]},
                  status_code=status_code)


def _urls(text: str) -> list[str]:
    return [line.strip() for line in text[:MAX_IMAGES_TEXT].splitlines() if line.strip()]


# Products ------------------------------------------------------------------------------------------------


@router.get(BASE)
def products_page(request: Request, session: DbSession, viewer: AgentViewer,
                  q: Annotated[str, Query(max_length=200)] = "",
                  category: Annotated[str, Query(max_length=12)] = "",
                  status: Annotated[str, Query(max_length=12)] = "",
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    """Products by name, with search and filters."""
    category_id = int(category) if category.isdigit() and 0 < int(category) <= MAX_ID else None
    chosen = ProductStatus(status) if status in {s.value for s in ProductStatus} else None
    try:
        found = service.search_products(session, query=q, category_id=category_id, status=chosen, limit=PAGE_SIZE,
                                        offset=(page - 1) * PAGE_SIZE)
    except XuyenError:
        found = service.search_products(session, query=q, status=chosen, limit=PAGE_SIZE,
                                        offset=(page - 1) * PAGE_SIZE)
        category_id = None
    paths = categories.category_paths(session)
    return _render(request, "catalogue/list.html", {
        "query": q, "category_id": category_id, "status": chosen.value if chosen else "", "page": page,
        "found": found, "pages": max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "paths": paths,
        "categories": [(row.id, paths.get(row.id, row.name)) for row in categories.list_categories(session)],
    })


def _product_page(request: Request, session: Session, *, product_id: int, notice: str = "", error: str = "",
                  status_code: int = 200) -> Response:
    detail = service.product_detail(session, product_id=product_id)
    return _render(request, "catalogue/product.html", {
        "detail": detail, "product": detail.product, "notice": notice, "error": error,
        "labels": {variant.id: service.view_of(variant, detail.product).variant_label for variant in detail.variants},
        "skus": {variant.id: variant.sku for variant in detail.variants},
    }, status_code=status_code)


@router.get(BASE + "/products/{product_id:int}")
def product_page(request: Request, session: DbSession, viewer: AgentViewer, product_id: ProductId,
                 notice: Annotated[str, Query(max_length=40)] = "") -> Response:
    """A product with its variants, pictures and listings."""
    return _product_page(request, session, product_id=product_id, notice=notice)


def _form_page(request: Request, session: Session, *, form: ProductForm, product_id: int | None = None,
               error: str = "", status_code: int = 200) -> Response:
    paths = categories.category_paths(session)
    return _render(request, "catalogue/product_form.html", {
        "form": form, "product_id": product_id, "error": error,
        "categories": [(row.id, paths.get(row.id, row.name)) for row in categories.list_categories(session)],
    }, status_code=status_code)


@router.get(BASE + "/products/new")
def new_product_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The form for a new product and its variants."""
    form = ProductForm(rows=[{"sku": "", "barcode": "", "value1": "", "value2": ""}] * NEW_VARIANT_ROWS)
    return _form_page(request, session, form=form)


def _variants(form: ProductForm) -> list[VariantIn]:
    names = [name.strip() for name in (form.option1, form.option2)]
    variants = []
    for row in form.rows:
        if not row["sku"].strip():
            continue
        values = [row["value1"], row["value2"]]
        options = {name: value.strip() for name, value in zip(names, values, strict=True) if name and value.strip()}
        variants.append(VariantIn(sku=row["sku"][:64], barcode=row["barcode"][:64] or None, options=options))
    return variants


@router.post(BASE + "/products/new")
def create_product(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                   code: FormText = "", name: FormText = "", category_id: FormText = "", brand: FormText = "",
                   tax_class: FormText = "standard", status: FormText = "active", description: FormText = "",
                   option1: FormText = "", option2: FormText = "", images: FormText = "", sku: FormList = [],  # noqa: B006
                   barcode: FormList = [], value1: FormList = [], value2: FormList = []) -> Response:  # noqa: B006
    """Create the product from the form, or show the form again with what is wrong."""
    check_csrf(viewer.auth_session, csrf_token)
    count = min(max(len(sku), NEW_VARIANT_ROWS), 300)
    padded = [(sku + [""] * count)[i] for i in range(count)]
    rows = [{"sku": padded[i], "barcode": (barcode + [""] * count)[i], "value1": (value1 + [""] * count)[i],
             "value2": (value2 + [""] * count)[i]} for i in range(count)]
    form = ProductForm(code=code, name=name, category_id=category_id, brand=brand, tax_class=tax_class,
                       status=status, description=description, option1=option1, option2=option2, images=images,
                       rows=rows)
    try:
        product = service.create_product(session, actor=actor_name(viewer.principal), product=ProductIn(
            code=code[:64], name=name[:300], brand=brand[:100], description=description[:20_000],
            category_id=int(category_id) if category_id.isdigit() else None,
            tax_class=TaxClass(tax_class) if tax_class in TaxClass.__members__ else TaxClass.standard,
            status=ProductStatus(status) if status in ProductStatus.__members__ else ProductStatus.active,
            variants=_variants(form), images=[ImageIn(url=url[:1000]) for url in _urls(images)]))
    except (XuyenError, ValidationError) as exc:
        session.rollback()
        return _form_page(request, session, form=form, error=_message(exc), status_code=422)
    return _see_other(f"{BASE}/products/{product.id}?notice=created")


@router.get(BASE + "/products/{product_id:int}/edit")
def edit_product_page(request: Request, session: DbSession, viewer: ManagerViewer, product_id: ProductId) -> Response:
    """The form to change a product's details and pictures."""
    detail = service.product_detail(session, product_id=product_id)
    product = detail.product
    form = ProductForm(code=product.code, name=product.name, category_id=str(product.category_id or ""),
                       brand=product.brand, tax_class=product.tax_class.value, status=product.status.value,
                       description=product.description,
                       images="\n".join(image.url for image in detail.images if image.variant_id is None))
    return _form_page(request, session, form=form, product_id=product_id)


@router.post(BASE + "/products/{product_id:int}/edit")
def save_product(request: Request, session: DbSession, viewer: ManagerViewer, product_id: ProductId,
                 csrf_token: FormText = "", code: FormText = "", name: FormText = "", category_id: FormText = "",
                 brand: FormText = "", tax_class: FormText = "standard", status: FormText = "active",
                 description: FormText = "", images: FormText = "") -> Response:
    """Save the product's details and its own pictures (the variants' pictures stay)."""
    check_csrf(viewer.auth_session, csrf_token)
    form = ProductForm(code=code, name=name, category_id=category_id, brand=brand, tax_class=tax_class,
                       status=status, description=description, images=images)
    try:
        detail = service.product_detail(session, product_id=product_id)
        skus = {variant.id: variant.sku for variant in detail.variants}
        kept = [ImageIn(url=image.url, alt=image.alt, variant_sku=skus.get(image.variant_id))
                for image in detail.images if image.variant_id is not None]
        service.update_product(session, product_id=product_id, actor=actor_name(viewer.principal),
                               changes=ProductUpdate(
                                   code=code[:64], name=name[:300], brand=brand[:100], description=description[:20_000],
                                   category_id=int(category_id) if category_id.isdigit() else None,
                                   tax_class=TaxClass(tax_class) if tax_class in TaxClass.__members__ else None,
                                   status=ProductStatus(status) if status in ProductStatus.__members__ else None),
                               images=[ImageIn(url=url[:1000]) for url in _urls(images)] + kept)
    except (XuyenError, ValidationError) as exc:
        session.rollback()
        return _form_page(request, session, form=form, product_id=product_id, error=_message(exc), status_code=422)
    return _see_other(f"{BASE}/products/{product_id}?notice=saved")


@router.post(BASE + "/products/{product_id:int}/status")
def change_status(request: Request, session: DbSession, viewer: ManagerViewer, product_id: ProductId,
                  csrf_token: FormText = "", action: FormText = "") -> Response:
    """Archive the product, or sell it again."""
    check_csrf(viewer.auth_session, csrf_token)
    if action == "archive":
        service.archive_product(session, product_id=product_id, actor=actor_name(viewer.principal))
    else:
        service.activate_product(session, product_id=product_id, actor=actor_name(viewer.principal))
    return _see_other(f"{BASE}/products/{product_id}?notice={'archived' if action == 'archive' else 'activated'}")


@router.post(BASE + "/products/{product_id:int}/variants")
def add_variant(request: Request, session: DbSession, viewer: ManagerViewer, product_id: ProductId,
                csrf_token: FormText = "", sku: FormText = "", barcode: FormText = "",
                name: FormList = [], value: FormList = []) -> Response:  # noqa: B006
    """Add a variant with the product's options."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        options = {n: v for n, v in zip(name, value, strict=False) if n.strip()}
        service.create_variant(session, product_id=product_id, actor=actor_name(viewer.principal),
                               variant=VariantIn(sku=sku[:64] or " ", barcode=barcode[:64] or None, options=options))
    except (XuyenError, ValidationError) as exc:
        session.rollback()
        return _product_page(request, session, product_id=product_id, error=_message(exc), status_code=422)
    return _see_other(f"{BASE}/products/{product_id}?notice=variant_added")


# Variants and listings ---------------------------------------------------------------------------------


def _variant_page(request: Request, session: Session, *, variant_id: int, error: str = "", notice: str = "",
                  status_code: int = 200) -> Response:
    variant = service.get_variant(session, variant_id=variant_id)
    product = service.get_product(session, product_id=variant.product_id)
    return _render(request, "catalogue/variant.html", {
        "variant": variant, "product": product, "error": error, "notice": notice,
        "options": [(name, (variant.options or {}).get(name, "")) for name in product.option_names or []],
        "label": service.view_of(variant, product).variant_label,
        "listings": service.listings_of_variants(session, variant_ids=[variant.id])[variant.id],
    }, status_code=status_code)


@router.get(BASE + "/variants/{variant_id:int}")
def variant_page(request: Request, session: DbSession, viewer: ManagerViewer, variant_id: VariantId,
                 notice: Annotated[str, Query(max_length=40)] = "") -> Response:
    """A variant's form and its listings."""
    return _variant_page(request, session, variant_id=variant_id, notice=notice)


@router.post(BASE + "/variants/{variant_id:int}")
def save_variant(request: Request, session: DbSession, viewer: ManagerViewer, variant_id: VariantId,
                 csrf_token: FormText = "", sku: FormText = "", barcode: FormText = "", weight_grams: FormText = "",
                 is_active: FormText = "", name: FormList = [], value: FormList = []) -> Response:  # noqa: B006
    """Save the variant's SKU, barcode, options, weight and whether it is sold."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        weight = int(weight_grams) if weight_grams.strip().isdigit() else None
        service.update_variant(session, variant_id=variant_id, actor=actor_name(viewer.principal),
                               changes=VariantUpdate(sku=sku[:64] or " ", barcode=barcode[:64] or None,
                                                     weight_grams=weight, is_active=is_active == "on",
                                                     options={n: v for n, v in zip(name, value, strict=False)}))
    except (XuyenError, ValidationError) as exc:
        session.rollback()
        return _variant_page(request, session, variant_id=variant_id, error=_message(exc), status_code=422)
    return _see_other(f"{BASE}/variants/{variant_id}?notice=saved")


@router.post(BASE + "/variants/{variant_id:int}/listings")
def list_variant(request: Request, session: DbSession, viewer: ManagerViewer, variant_id: VariantId,
                 csrf_token: FormText = "", channel: FormText = "", account: FormText = "",
                 external_item_id: FormText = "", external_model_id: FormText = "",
                 external_sku: FormText = "") -> Response:
    """List the variant on a channel."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        service.list_variant(session, variant_id=variant_id, actor=actor_name(viewer.principal), listing=ListingIn(
            channel=SalesChannel(channel) if channel in SalesChannel.__members__ else SalesChannel.web,
            account=account[:64], external_item_id=external_item_id[:64], external_model_id=external_model_id[:64],
            external_sku=external_sku[:128]))
    except (XuyenError, ValidationError) as exc:
        session.rollback()
        return _variant_page(request, session, variant_id=variant_id, error=_message(exc), status_code=422)
    return _see_other(f"{BASE}/variants/{variant_id}?notice=listed")


@router.post(BASE + "/listings/{listing_id:int}/unlist")
def unlist(request: Request, session: DbSession, viewer: ManagerViewer, listing_id: ListingId,
           csrf_token: FormText = "") -> Response:
    """Stop selling the variant on the listing's channel."""
    check_csrf(viewer.auth_session, csrf_token)
    listing = service.unlist(session, listing_id=listing_id, actor=actor_name(viewer.principal))
    return _see_other(f"{BASE}/variants/{listing.variant_id}?notice=unlisted")


# Files -------------------------------------------------------------------------------------------------


def _files_page(request: Request, *, report: ImportReport | None = None, error: str = "",
                file_name: str = "", status_code: int = 200) -> Response:
    return _render(request, "catalogue/files.html", {"report": report, "error": error, "file_name": file_name},
                   status_code=status_code)


@router.get(BASE + "/import")
def files_page(request: Request, viewer: ManagerViewer) -> Response:
    """Upload a catalogue file; download the catalogue."""
    return _files_page(request)


@router.post(BASE + "/import")
def import_page(request: Request, session: DbSession, viewer: ManagerViewer, file: Annotated[UploadFile, File()],
                csrf_token: FormText = "", dry_run: FormText = "") -> Response:
    """Check the file and import it (all or nothing), then show the report."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        report = import_catalogue(session, data=read_upload(file), file_name=file.filename or "",
                                  actor=actor_name(viewer.principal), dry_run=dry_run == "on")
    except XuyenError as exc:
        session.rollback()
        return _files_page(request, error=exc.message, file_name=file.filename or "", status_code=exc.status)
    return _files_page(request, report=report, file_name=file.filename or "",
                       status_code=200 if report.ok else 422)


@router.get(BASE + "/export.{fmt}")
def export_page(session: DbSession, viewer: ManagerViewer,
                fmt: Annotated[str, PathParam(pattern="^(csv|xlsx)$")],
                lang: Annotated[str, Query(pattern="^(vi|en)$")] = "vi") -> Response:
    """Download the catalogue as the import reads it."""
    data = export_catalogue(session, fmt=fmt, language=lang)
    return Response(data, media_type=CONTENT_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="catalogue.{fmt}"'})
