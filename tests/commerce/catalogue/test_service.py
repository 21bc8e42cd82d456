"""The catalogue's services: products with variants, SKUs and barcodes, and the reads other domains use."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.commerce.catalogue.helpers import ACTOR, ean, make_tshirt, tshirt
from xuyen.audit import list_entries
from xuyen.commerce.catalogue import categories, service
from xuyen.commerce.catalogue.models import Product, ProductImage, ProductStatus, TaxClass, Variant
from xuyen.commerce.catalogue.schemas import (
    CategoryIn,
    ImageIn,
    ProductIn,
    ProductUpdate,
    VariantIn,
    VariantUpdate,
)
from xuyen.errors import Conflict, NotFound, ValidationFailed


def _count(session: Session, model: type[Product] | type[Variant] | type[ProductImage]) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_product_is_created_with_its_variants_images_and_an_audit_entry(session: Session) -> None:
    shirts = categories.create_category(session, category=CategoryIn(name="Áo thun"), actor=ACTOR)
    product = make_tshirt(session, category_id=shirts.id)

    variants = service.variants_of(session, product_id=product.id)
    assert [v.sku for v in variants] == ["AT-001-DEN-M", "AT-001-DEN-L", "AT-001-TRA-M", "AT-001-TRA-L"]
    assert variants[0].options == {"Màu": "Đen", "Cỡ": "M"}
    session.expire_all()
    assert service.get_product(session, product_id=product.id).option_names == ["Màu", "Cỡ"]
    assert variants[0].barcode == ean(1)
    images = service.images_of(session, product_id=product.id)
    assert [(i.url, i.variant_id) for i in images] == [
        ("https://cdn.example.vn/ao.jpg", None), ("/static/catalogue/ao-thun.svg", variants[2].id)]
    assert product.status == ProductStatus.active and product.tax_class == TaxClass.standard
    entries = list_entries(session, subject_type="product", subject_id=product.id)
    assert [(e.actor, e.action) for e in entries] == [(ACTOR, "product.created")]


def test_the_contract_reads_by_id_sku_and_scan(session: Session) -> None:
    product = make_tshirt(session)
    black_m = service.get_variant_by_sku(session, sku=" at-001-den-m ")
    assert service.get_variant(session, variant_id=black_m.id) is black_m
    assert service.find_variant(session, code="at-001-den-m").id == black_m.id
    assert service.find_variant(session, code=ean(1)).id == black_m.id

    views = service.variants_by_ids(session, variant_ids=[black_m.id, 999_999])
    view = views[black_m.id]
    assert set(views) == {black_m.id}
    assert (view.sku, view.product_id, view.product_code, view.product_name, view.variant_label) == (
        "AT-001-DEN-M", product.id, "AT-001", "Áo thun cổ tròn", "Đen / M")
    assert view.is_sellable and view.tax_class == TaxClass.standard
    assert view.display_name == "Áo thun cổ tròn (Đen / M)"

    for call in (lambda: service.get_variant(session, variant_id=999_999),
                 lambda: service.get_variant_by_sku(session, sku="NOPE"),
                 lambda: service.find_variant(session, code="0000")):
        with pytest.raises(NotFound) as missing:
            call()
        assert missing.value.code == "variant_not_found"


def test_labels_keep_the_order_of_options_the_shop_gave(session: Session) -> None:
    service.create_product(session, actor=ACTOR, product=ProductIn(code="QJ-1", name="Quần jeans", variants=[
        VariantIn(sku="QJ-1-28-XD", options={"Vòng eo": "28", "Màu": "Xanh đậm"})]))
    session.expire_all()
    variant = service.get_variant_by_sku(session, sku="QJ-1-28-XD")
    assert service.variants_by_ids(session, variant_ids=[variant.id])[variant.id].variant_label == "28 / Xanh đậm"


def test_a_upc_a_is_kept_as_ean_13_and_found_either_way(session: Session) -> None:
    upc = "036000291452"  # a real UPC-A with its check digit
    service.create_product(session, actor=ACTOR, product=ProductIn(
        code="IMP-1", name="Kem dưỡng nhập khẩu", variants=[VariantIn(sku="IMP-1", barcode=upc)]))
    variant = service.get_variant_by_sku(session, sku="IMP-1")
    assert variant.barcode == "0" + upc
    assert service.find_variant(session, code=upc).id == variant.id
    assert service.find_variant(session, code="0" + upc).id == variant.id


@pytest.mark.parametrize(("barcode", "fragment"), [
    ("8930000000012", "check digit"),  # last digit wrong
    ("893000000001", "check digit"),  # 12 digits read as a UPC-A: its check digit fails
    ("12345", "5 digits"),
    ("MÃ VẠCH", "letters without diacritics"),
])
def test_a_bad_barcode_is_refused_with_what_to_do(session: Session, barcode: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        service.create_product(session, actor=ACTOR, product=ProductIn(
            code="X-1", name="X", variants=[VariantIn(sku="X-1", barcode=barcode)]))
    assert refused.value.code == "invalid_barcode"
    assert fragment in refused.value.message
    assert _count(session, Product) == 0


@pytest.mark.parametrize("sku", ["ÁO-01", "AT 001", "AT!01", "   "])
def test_a_bad_sku_is_refused(session: Session, sku: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        service.create_product(session, actor=ACTOR, product=ProductIn(
            code="X-1", name="X", variants=[VariantIn(sku=sku)]))
    assert refused.value.code == "invalid_sku"


def test_skus_and_barcodes_are_unique_across_products_and_nothing_is_half_written(session: Session) -> None:
    make_tshirt(session)
    variants_before = _count(session, Variant)

    with pytest.raises(Conflict) as taken:
        service.create_product(session, product=tshirt("AT-002", first_barcode=100).model_copy(update={
            "variants": [VariantIn(sku="AT-001-DEN-M", options={"Màu": "Đen"})]}), actor=ACTOR)
    assert taken.value.code == "sku_taken"
    with pytest.raises(Conflict) as barcode_taken:
        service.create_product(session, actor=ACTOR, product=ProductIn(
            code="AT-003", name="Áo", variants=[VariantIn(sku="AT-003", barcode=ean(2))]))
    assert barcode_taken.value.code == "barcode_taken"
    with pytest.raises(Conflict) as code_taken:
        service.create_product(session, product=tshirt("at-001", first_barcode=100), actor=ACTOR)
    assert code_taken.value.code == "product_code_taken"
    with pytest.raises(Conflict) as twice:
        service.create_product(session, actor=ACTOR, product=ProductIn(code="AT-004", name="Áo", variants=[
            VariantIn(sku="AT-004-A", options={"Cỡ": "M"}), VariantIn(sku="at-004-a", options={"Cỡ": "L"})]))
    assert twice.value.code == "sku_taken"

    assert _count(session, Product) == 1
    assert _count(session, Variant) == variants_before


def test_variants_of_a_product_name_the_same_options_and_differ_in_values(session: Session) -> None:
    with pytest.raises(ValidationFailed) as mixed:
        service.create_product(session, actor=ACTOR, product=ProductIn(code="P", name="P", variants=[
            VariantIn(sku="P-1", options={"Màu": "Đen", "Cỡ": "M"}), VariantIn(sku="P-2", options={"Màu": "Đỏ"})]))
    assert mixed.value.code == "invalid_options"
    with pytest.raises(ValidationFailed) as same:
        service.create_product(session, actor=ACTOR, product=ProductIn(code="P", name="P", variants=[
            VariantIn(sku="P-1", options={"Màu": "Đen"}), VariantIn(sku="P-2", options={"màu": " đen "})]))
    assert same.value.code == "duplicate_options"
    product = make_tshirt(session)
    with pytest.raises(ValidationFailed):
        service.create_variant(session, product_id=product.id, actor=ACTOR,
                               variant=VariantIn(sku="AT-001-DEN-XL", options={"Màu": "Đen"}))
    added = service.create_variant(session, product_id=product.id, actor=ACTOR,
                                   variant=VariantIn(sku="AT-001-DEN-XL", options={"Cỡ": "XL", "Màu": "Đen"}))
    assert added.position == 4


def test_updating_a_product_and_a_variant(session: Session) -> None:
    product = make_tshirt(session)
    dresses = categories.create_category(session, category=CategoryIn(name="Váy đầm"), actor=ACTOR)
    updated = service.update_product(session, product_id=product.id, actor=ACTOR, changes=ProductUpdate(
        name="  Áo thun   cổ tròn 2026 ", category_id=dresses.id, tax_class=TaxClass.standard_not_reduced))
    assert (updated.name, updated.category_id, updated.tax_class) == (
        "Áo thun cổ tròn 2026", dresses.id, TaxClass.standard_not_reduced)
    assert service.update_product(session, product_id=product.id, actor=ACTOR,
                                  changes=ProductUpdate(category_id=None)).category_id is None

    variant = service.get_variant_by_sku(session, sku="AT-001-DEN-M")
    changed = service.update_variant(session, variant_id=variant.id, actor=ACTOR,
                                     changes=VariantUpdate(sku="at-001-black-m", barcode=None, is_active=False))
    assert (changed.sku, changed.barcode, changed.is_active) == ("AT-001-BLACK-M", None, False)
    assert not service.variants_by_ids(session, variant_ids=[variant.id])[variant.id].is_sellable
    other = service.get_variant_by_sku(session, sku="AT-001-DEN-L")
    with pytest.raises(Conflict):
        service.update_variant(session, variant_id=other.id, actor=ACTOR,
                               changes=VariantUpdate(sku="AT-001-BLACK-M"))
    with pytest.raises(ValidationFailed) as clash:
        service.update_variant(session, variant_id=other.id, actor=ACTOR,
                               changes=VariantUpdate(options={"Màu": "Trắng", "Cỡ": "M"}))
    assert clash.value.code == "duplicate_options"
    actions = [e.action for e in list_entries(session, subject_type="variant", subject_id=variant.id)]
    assert actions == ["variant.updated"]


def test_archiving_stops_sales_and_activating_resumes_them(session: Session) -> None:
    product = make_tshirt(session)
    variant_id = service.get_variant_by_sku(session, sku="AT-001-TRA-L").id
    service.archive_product(session, product_id=product.id, actor=ACTOR)
    assert not service.variants_by_ids(session, variant_ids=[variant_id])[variant_id].is_sellable
    service.activate_product(session, product_id=product.id, actor=ACTOR)
    assert service.variants_by_ids(session, variant_ids=[variant_id])[variant_id].is_sellable


def test_images_are_replaced_in_order_and_checked(session: Session) -> None:
    product = make_tshirt(session)
    service.set_images(session, product_id=product.id, actor=ACTOR, images=[
        ImageIn(url="https://cdn.example.vn/2.jpg", variant_sku="at-001-den-l"),
        ImageIn(url="https://cdn.example.vn/1.jpg")])
    assert [(i.url, i.position) for i in service.images_of(session, product_id=product.id)] == [
        ("https://cdn.example.vn/2.jpg", 0), ("https://cdn.example.vn/1.jpg", 1)]
    for bad in ("javascript:alert(1)", "//evil.example/x.png", "ftp://x/y.jpg"):
        with pytest.raises(ValidationFailed) as refused:
            service.set_images(session, product_id=product.id, actor=ACTOR, images=[ImageIn(url=bad)])
        assert refused.value.code == "invalid_image"
    with pytest.raises(ValidationFailed):
        service.set_images(session, product_id=product.id, actor=ACTOR,
                           images=[ImageIn(url="https://cdn.example.vn/x.jpg", variant_sku="OTHER-SKU")])
    assert len(service.images_of(session, product_id=product.id)) == 2


def test_unknown_products_and_categories(session: Session) -> None:
    with pytest.raises(NotFound) as missing:
        service.get_product(session, product_id=12345)
    assert missing.value.code == "product_not_found"
    with pytest.raises(NotFound) as no_category:
        make_tshirt(session, category_id=777)
    assert no_category.value.code == "category_not_found"
    make_tshirt(session)
    assert service.get_product_by_code(session, code=" at-001 ").code == "AT-001"
