"""Catalogue services: products with their variants and pictures, and the reads other domains use.

Other domains read the catalogue only through these functions: ``get_variant``, ``get_variant_by_sku``,
``find_variant`` (a till's scan), ``variants_by_ids`` (→ ``VariantView``), ``listing_for`` and ``listings_of``.
SKUs are stored upper-case and unique; barcodes are unique and, when numeric, valid GTINs (see ``codes``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.commerce.catalogue.browse import ProductPage, search_products
from xuyen.commerce.catalogue.categories import category_path, get_category
from xuyen.commerce.catalogue.codes import (
    clean_options,
    normalise_barcode,
    normalise_product_code,
    normalise_sku,
    options_key,
    scan_forms,
    variant_label,
)
from xuyen.commerce.catalogue.listings import (
    add_listing,
    get_listing,
    list_variant,
    listing_for,
    listings_of,
    listings_of_variants,
    unlist,
    update_listing,
)
from xuyen.commerce.catalogue.models import Product, ProductImage, ProductStatus, Variant
from xuyen.commerce.catalogue.schemas import (
    ImageIn,
    ProductDetail,
    ProductIn,
    ProductUpdate,
    VariantIn,
    VariantUpdate,
    VariantView,
)
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.identity.names import fold_name
from xuyen.outbox import emit

# Outbox topic: variants became sellable or stopped being so (their product was archived or activated, or the
# variant itself switched off or on). Payload: product_id, variant_ids.
SELLABLE_CHANGED = "catalogue.sellable_changed"


def _announce_sellable(session: Session, *, product_id: int, variant_ids: list[int]) -> None:
    if variant_ids:
        emit(session, topic=SELLABLE_CHANGED, aggregate_type="product", aggregate_id=product_id,
             payload={"product_id": product_id, "variant_ids": sorted(variant_ids)})

# Re-exported: other domains call every catalogue read and write through this module.
__all__ = [
    "ProductDetail", "ProductPage", "add_listing", "get_listing", "list_variant", "listing_for", "listings_of",
    "listings_of_variants", "search_products", "unlist", "update_listing",
]


# Reading ------------------------------------------------------------------------------------------------


def get_product(session: Session, *, product_id: int) -> Product:
    """The product ``product_id``."""
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"There is no product {product_id}.", code="product_not_found")
    return product


def get_product_by_code(session: Session, *, code: str) -> Product:
    """The product with ``code`` (any case)."""
    product = session.scalar(select(Product).where(Product.code == code.strip().upper()))
    if product is None:
        raise NotFound(f"There is no product with code {code.strip()!r}.", code="product_not_found")
    return product


def variants_of(session: Session, *, product_id: int) -> list[Variant]:
    """The product's variants in display order."""
    return list(session.scalars(select(Variant).where(Variant.product_id == product_id)
                                .order_by(Variant.position, Variant.id)))


def images_of(session: Session, *, product_id: int) -> list[ProductImage]:
    """The product's pictures (its own and its variants') in display order."""
    return list(session.scalars(select(ProductImage).where(ProductImage.product_id == product_id)
                                .order_by(ProductImage.position, ProductImage.id)))


def product_detail(session: Session, *, product_id: int) -> ProductDetail:
    """A product with everything its page shows: category path, variants, pictures, listings."""
    product = get_product(session, product_id=product_id)
    variants = variants_of(session, product_id=product.id)
    return ProductDetail(product=product, category_path=category_path(session, category_id=product.category_id),
                         variants=variants, images=images_of(session, product_id=product.id),
                         listings=listings_of_variants(session, variant_ids=[v.id for v in variants]))


def get_variant(session: Session, *, variant_id: int) -> Variant:
    """The variant ``variant_id``."""
    variant = session.get(Variant, variant_id)
    if variant is None:
        raise NotFound(f"There is no variant {variant_id}.", code="variant_not_found")
    return variant


def get_variant_by_sku(session: Session, *, sku: str) -> Variant:
    """The variant with ``sku`` (any case, surrounding spaces ignored)."""
    variant = session.scalar(select(Variant).where(Variant.sku == " ".join(sku.split()).upper()))
    if variant is None:
        raise NotFound(f"There is no variant with SKU {sku.strip()!r}; check the spelling or search the catalogue.",
                       code="variant_not_found")
    return variant


def find_variant(session: Session, *, code: str) -> Variant:
    """The variant a scanned or typed code names: its SKU or its barcode (a UPC-A read as EAN-13 too)."""
    forms = scan_forms(code)
    if forms:
        for column in (Variant.sku, Variant.barcode):
            variant = session.scalar(select(Variant).where(column.in_(forms)).limit(1))
            if variant is not None:
                return variant
    raise NotFound(f"No variant has the SKU or barcode {code.strip()!r}; scan again or search by name.",
                   code="variant_not_found")


def variants_by_ids(session: Session, *, variant_ids: Iterable[int]) -> dict[int, VariantView]:
    """What other domains need to know of each variant, by id; unknown ids are left out."""
    wanted = sorted(set(variant_ids))
    views: dict[int, VariantView] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(select(Variant, Product).join(Product, Product.id == Variant.product_id)
                               .where(Variant.id.in_(wanted[start:start + 500])))
        for variant, product in rows:
            views[variant.id] = view_of(variant, product)
    return views


def view_of(variant: Variant, product: Product) -> VariantView:
    """A variant's view for other domains."""
    return VariantView(
        variant_id=variant.id, sku=variant.sku, barcode=variant.barcode, product_id=product.id,
        product_code=product.code, product_name=product.name,
        variant_label=variant_label(variant.options or {}, product.option_names or []),
        category_id=product.category_id, tax_class=product.tax_class,
        is_sellable=product.status == ProductStatus.active and variant.is_active,
    )


# Checks -------------------------------------------------------------------------------------------------


def _check_sku_free(session: Session, sku: str, *, except_id: int | None = None) -> None:
    owner = session.scalar(select(Variant.id).where(Variant.sku == sku))
    if owner is not None and owner != except_id:
        raise Conflict(f"The SKU {sku} already belongs to another variant (id {owner}); each SKU names one variant.",
                       code="sku_taken", details={"sku": sku, "variant_id": owner})


def _check_barcode_free(session: Session, barcode: str | None, *, except_id: int | None = None) -> None:
    if barcode is None:
        return
    owner = session.scalar(select(Variant.id).where(Variant.barcode == barcode))
    if owner is not None and owner != except_id:
        raise Conflict(f"The barcode {barcode} already belongs to another variant (id {owner}).",
                       code="barcode_taken", details={"barcode": barcode, "variant_id": owner})


def _check_option_names(variants: Sequence[dict[str, str]], *, names: Sequence[str] | None = None) -> list[str]:
    """Every variant of a product names the same options (``names``, or the first one's), and no two share the
    same values; answers the option names in order."""
    expected = list(names) if names is not None else list(variants[0]) if variants else []
    folded = sorted(fold_name(name) for name in expected)
    seen: set[tuple[tuple[str, str], ...]] = set()
    for options in variants:
        if sorted(fold_name(name) for name in options) != folded:
            raise ValidationFailed(
                f"Every variant of a product names the same options ({', '.join(expected) or 'none'}); "
                f"one has {', '.join(options) or 'none'}.", code="invalid_options")
        key = options_key(options)
        if key in seen:
            label = variant_label(options) or "no options"
            raise ValidationFailed(f"Two variants have the same options ({label}); each needs its own.",
                                   code="duplicate_options")
        seen.add(key)
    return expected


def _check_url(url: str) -> str:
    url = url.strip()
    if not (url.startswith(("https://", "http://")) or (url.startswith("/") and not url.startswith("//"))):
        raise ValidationFailed(f"The picture address {url[:60]!r} must start with https:// (or be a path on this "
                               "site such as /static/…).", code="invalid_image")
    if any(char.isspace() for char in url):
        raise ValidationFailed(f"The picture address {url[:60]!r} contains spaces; encode them as %20.",
                               code="invalid_image")
    return url


def _flush(session: Session) -> None:
    """Flush, turning a unique key another writer took meanwhile into a clear Conflict (the transaction, or the
    caller's savepoint, is then to be rolled back)."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("Another change took the same SKU, barcode or product code at the same moment; "
                       "reload and try again.", code="catalogue_conflict") from exc


# Products -----------------------------------------------------------------------------------------------


def _new_variant(session: Session, *, product_id: int, variant: VariantIn, position: int) -> Variant:
    sku = normalise_sku(variant.sku)
    barcode = normalise_barcode(variant.barcode)
    _check_sku_free(session, sku)
    _check_barcode_free(session, barcode)
    row = Variant(product_id=product_id, sku=sku, barcode=barcode, options=clean_options(variant.options),
                  weight_grams=variant.weight_grams, position=position, is_active=variant.is_active,
                  created_at=utcnow())
    session.add(row)
    return row


def _check_new_codes(variants: Sequence[VariantIn]) -> list[str]:
    skus = [normalise_sku(variant.sku) for variant in variants]
    barcodes = [code for code in (normalise_barcode(variant.barcode) for variant in variants) if code]
    for kind, codes in (("SKU", skus), ("barcode", barcodes)):
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise Conflict(f"The {kind} {', '.join(repeated)} is given to more than one variant.",
                           code="sku_taken" if kind == "SKU" else "barcode_taken")
    return _check_option_names([clean_options(variant.options) for variant in variants])


def add_product(session: Session, *, product: ProductIn, actor: str) -> Product:
    """Add a product with its variants and pictures (helper: no commit)."""
    code = normalise_product_code(product.code)
    if session.scalar(select(Product.id).where(Product.code == code)) is not None:
        raise Conflict(f"A product with code {code} already exists; edit it, or give this one another code.",
                       code="product_code_taken")
    if product.category_id is not None:
        get_category(session, category_id=product.category_id)
    name = " ".join(product.name.split())
    if not name:
        raise ValidationFailed("A product needs a name.", code="invalid_product")
    option_names = _check_new_codes(product.variants)
    now = utcnow()
    row = Product(code=code, name=name, description=product.description.strip(), brand=product.brand.strip(),
                  category_id=product.category_id, tax_class=product.tax_class, status=product.status,
                  option_names=option_names, name_folded=fold_name(name), created_at=now, updated_at=now)
    session.add(row)
    _flush(session)
    for position, variant in enumerate(product.variants):
        _new_variant(session, product_id=row.id, variant=variant, position=position)
    _flush(session)
    _replace_images(session, product=row, images=product.images)
    audit.record(session, actor=actor, action="product.created", subject_type="product", subject_id=row.id,
                 detail={"code": code, "variants": len(product.variants)})
    return row


def create_product(session: Session, *, product: ProductIn, actor: str) -> Product:
    """Create a product with its variants and pictures."""
    row = add_product(session, product=product, actor=actor)
    session.commit()
    return row


def save_product(session: Session, *, product_id: int, changes: ProductUpdate, actor: str) -> Product:
    """Change a product's code, name, description, brand, category, tax class or status (helper: no commit)."""
    row = get_product(session, product_id=product_id)
    given = changes.model_fields_set
    before = {"code": row.code, "name": row.name, "status": row.status.value, "category_id": row.category_id}
    if changes.code is not None:
        code = normalise_product_code(changes.code)
        owner = session.scalar(select(Product.id).where(Product.code == code))
        if owner is not None and owner != row.id:
            raise Conflict(f"The product code {code} belongs to another product.", code="product_code_taken")
        row.code = code
    if changes.name is not None:
        if not changes.name.strip():
            raise ValidationFailed("A product needs a name.", code="invalid_product")
        row.name = " ".join(changes.name.split())
        row.name_folded = fold_name(row.name)
    if changes.description is not None:
        row.description = changes.description.strip()
    if changes.brand is not None:
        row.brand = changes.brand.strip()
    if "category_id" in given:
        if changes.category_id is not None:
            get_category(session, category_id=changes.category_id)
        row.category_id = changes.category_id
    if changes.tax_class is not None:
        row.tax_class = changes.tax_class
    if changes.status is not None and changes.status != row.status:
        was_selling = row.status == ProductStatus.active
        row.status = changes.status
        if was_selling != (row.status == ProductStatus.active):
            _announce_sellable(session, product_id=row.id, variant_ids=[
                variant.id for variant in variants_of(session, product_id=row.id) if variant.is_active])
    row.updated_at = utcnow()
    _flush(session)
    audit.record(session, actor=actor, action="product.updated", subject_type="product", subject_id=row.id,
                 detail={"before": before, "changes": changes.model_dump(mode="json", exclude_unset=True)})
    return row


def update_product(session: Session, *, product_id: int, changes: ProductUpdate, actor: str,
                   images: Sequence[ImageIn] | None = None) -> Product:
    """Change a product's details (code, name, description, brand, category, tax class, status), and its
    pictures too when ``images`` is given."""
    row = save_product(session, product_id=product_id, changes=changes, actor=actor)
    if images is not None:
        replace_images(session, product_id=product_id, images=images, actor=actor)
    session.commit()
    return row


def archive_product(session: Session, *, product_id: int, actor: str) -> Product:
    """Stop selling a product everywhere; it stays for old orders and can be activated again."""
    return update_product(session, product_id=product_id, changes=ProductUpdate(status=ProductStatus.archived),
                          actor=actor)


def activate_product(session: Session, *, product_id: int, actor: str) -> Product:
    """Sell a draft or archived product again."""
    return update_product(session, product_id=product_id, changes=ProductUpdate(status=ProductStatus.active),
                          actor=actor)


# Variants -----------------------------------------------------------------------------------------------


def add_variant(session: Session, *, product_id: int, variant: VariantIn, actor: str) -> Variant:
    """Add a variant to a product (helper: no commit)."""
    product = get_product(session, product_id=product_id)
    existing = variants_of(session, product_id=product.id)
    _check_option_names([dict(row.options or {}) for row in existing] + [clean_options(variant.options)],
                        names=product.option_names or [])
    position = max((row.position for row in existing), default=-1) + 1
    row = _new_variant(session, product_id=product.id, variant=variant, position=position)
    product.updated_at = utcnow()
    _flush(session)
    audit.record(session, actor=actor, action="variant.created", subject_type="variant", subject_id=row.id,
                 detail={"product_id": product.id, "sku": row.sku})
    return row


def create_variant(session: Session, *, product_id: int, variant: VariantIn, actor: str) -> Variant:
    """Add a variant to a product."""
    row = add_variant(session, product_id=product_id, variant=variant, actor=actor)
    session.commit()
    return row


def save_variant(session: Session, *, variant_id: int, changes: VariantUpdate, actor: str) -> Variant:
    """Change a variant's SKU, barcode, options, weight or whether it is sold (helper: no commit)."""
    row = get_variant(session, variant_id=variant_id)
    given = changes.model_fields_set
    before = {"sku": row.sku, "barcode": row.barcode, "options": dict(row.options or {}), "is_active": row.is_active}
    if changes.sku is not None:
        sku = normalise_sku(changes.sku)
        _check_sku_free(session, sku, except_id=row.id)
        row.sku = sku
    if "barcode" in given:
        barcode = normalise_barcode(changes.barcode)
        _check_barcode_free(session, barcode, except_id=row.id)
        row.barcode = barcode
    if changes.options is not None:
        options = clean_options(changes.options)
        others = [dict(v.options or {}) for v in variants_of(session, product_id=row.product_id) if v.id != row.id]
        product = get_product(session, product_id=row.product_id)
        _check_option_names([*others, options], names=product.option_names or [])
        row.options = options
    if "weight_grams" in given:
        row.weight_grams = changes.weight_grams
    if changes.is_active is not None and changes.is_active != row.is_active:
        row.is_active = changes.is_active
        if get_product(session, product_id=row.product_id).status == ProductStatus.active:
            _announce_sellable(session, product_id=row.product_id, variant_ids=[row.id])
    get_product(session, product_id=row.product_id).updated_at = utcnow()
    _flush(session)
    audit.record(session, actor=actor, action="variant.updated", subject_type="variant", subject_id=row.id,
                 detail={"before": before, "changes": changes.model_dump(mode="json", exclude_unset=True)})
    return row


def update_variant(session: Session, *, variant_id: int, changes: VariantUpdate, actor: str) -> Variant:
    """Change a variant's SKU, barcode, options, weight or whether it is sold."""
    row = save_variant(session, variant_id=variant_id, changes=changes, actor=actor)
    session.commit()
    return row


# Pictures -----------------------------------------------------------------------------------------------


def _replace_images(session: Session, *, product: Product, images: Sequence[ImageIn]) -> list[ProductImage]:
    skus = {row.sku: row.id for row in variants_of(session, product_id=product.id)}
    rows: list[ProductImage] = []
    for position, image in enumerate(images):  # every picture checked before the old ones go
        variant_id = None
        if image.variant_sku:
            sku = normalise_sku(image.variant_sku)
            if sku not in skus:
                raise ValidationFailed(f"The picture {image.url[:60]!r} names the SKU {sku}, which is not a variant "
                                       f"of {product.code}.", code="invalid_image")
            variant_id = skus[sku]
        rows.append(ProductImage(product_id=product.id, variant_id=variant_id, url=_check_url(image.url),
                                 alt=image.alt.strip(), position=position))
    for old in images_of(session, product_id=product.id):
        session.delete(old)
    session.add_all(rows)
    session.flush()
    return rows


def replace_images(session: Session, *, product_id: int, images: Sequence[ImageIn], actor: str) -> list[ProductImage]:
    """Replace a product's pictures with ``images``, in that order (helper: no commit)."""
    product = get_product(session, product_id=product_id)
    rows = _replace_images(session, product=product, images=images)
    product.updated_at = utcnow()
    audit.record(session, actor=actor, action="product.images_set", subject_type="product", subject_id=product.id,
                 detail={"count": len(rows)})
    return rows


def set_images(session: Session, *, product_id: int, images: Sequence[ImageIn], actor: str) -> list[ProductImage]:
    """Replace a product's pictures with ``images``, in that order."""
    rows = replace_images(session, product_id=product_id, images=images, actor=actor)
    session.commit()
    return rows


def variant_ids_of(session: Session, *, product_ids: Collection[int]) -> dict[int, list[int]]:
    """The variant ids of each product, by product id."""
    found: dict[int, list[int]] = {product_id: [] for product_id in product_ids}
    if product_ids:
        rows = session.execute(select(Variant.product_id, Variant.id).where(Variant.product_id.in_(product_ids))
                               .order_by(Variant.position, Variant.id))
        for product_id, variant_id in rows:
            found[product_id].append(variant_id)
    return found
