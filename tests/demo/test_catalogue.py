"""The demo's catalogue and stock locations: a fashion chain's products, listed on its marketplace shops."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.commerce.catalogue import categories, service
from xuyen.commerce.catalogue.codes import is_valid_gtin
from xuyen.commerce.catalogue.models import Category, ChannelListing, Product, Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock.models import Location, LocationKind
from xuyen.demo import catalogue as demo_catalogue
from xuyen.demo import catalogue_data as data
from xuyen.demo.registry import DemoContext
from xuyen.demo.service import load_demo, load_steps
from xuyen.demo.shop import SHOP
from xuyen.demo.steps import add_stores
from xuyen.ui.pages import STATIC_DIR


def _context_after_catalogue(session: Session) -> DemoContext:
    """Only the stores and the catalogue step, as a later step would find them."""
    context = DemoContext(seed=2026, shop=SHOP)
    add_stores(session, random.Random(1), context)
    demo_catalogue.add_catalogue(session, random.Random(2), context)
    session.commit()
    return context


def test_the_catalogue_step_runs_after_the_customers(session: Session) -> None:
    names = [step.name for step in load_steps()]
    assert demo_catalogue.STEP in names
    assert names.index(demo_catalogue.STEP) > names.index("cửa hàng")


def test_six_categories_two_dozen_products_and_about_150_variants(session: Session) -> None:
    load_demo(session, seed=2026)
    assert [c.name for c in categories.list_categories(session)] == [
        "Áo thun", "Áo sơ mi", "Quần jeans", "Váy đầm", "Giày dép", "Phụ kiện"]
    products = list(session.scalars(select(Product)))
    variants = list(session.scalars(select(Variant)))
    assert len(products) == 24
    assert 130 <= len(variants) <= 170
    assert all(p.brand == "Lụa Mây" and p.category_id is not None for p in products)
    assert all(variant.barcode and is_valid_gtin(variant.barcode) and variant.barcode.startswith("893")
               for variant in variants)
    assert len({variant.barcode for variant in variants}) == len(variants)
    shirt = service.get_variant_by_sku(session, sku="AT001-DEN-M")
    view = service.variants_by_ids(session, variant_ids=[shirt.id])[shirt.id]
    assert (view.product_name, view.variant_label, view.is_sellable) == ("Áo thun cổ tròn cotton", "Đen / M", True)
    assert service.find_variant(session, code=str(shirt.barcode)).id == shirt.id
    scarf = service.get_variant_by_sku(session, sku="PK001-XNG")
    assert service.variants_by_ids(session, variant_ids=[scarf.id])[scarf.id].variant_label == "Xanh ngọc"


def test_every_picture_is_served_by_the_site_itself(session: Session) -> None:
    _context_after_catalogue(session)
    for product in session.scalars(select(Product)):
        images = service.images_of(session, product_id=product.id)
        assert images, product.code
        for image in images:
            assert image.url.startswith("/static/catalogue/")
            assert (STATIC_DIR / image.url.removeprefix("/static/")).is_file()


def test_most_products_are_listed_on_shopee_and_lazada(session: Session) -> None:
    _context_after_catalogue(session)
    listings = list(session.scalars(select(ChannelListing)))
    by_channel = Counter(listing.channel for listing in listings)
    variants = session.scalars(select(Variant)).all()
    assert by_channel[SalesChannel.shopee] > len(variants) * 0.7
    assert by_channel[SalesChannel.lazada] > len(variants) * 0.5
    shopee = [listing for listing in listings if listing.channel == SalesChannel.shopee]
    assert {listing.account for listing in shopee} == {data.SHOPEE_SHOP_ID}
    assert all(listing.external_item_id.isdigit() and listing.external_model_id.isdigit() for listing in shopee)
    lazada = [listing for listing in listings if listing.channel == SalesChannel.lazada]
    skus = {variant.id: variant.sku for variant in variants}
    assert all(listing.external_sku == skus[listing.variant_id] for listing in lazada)

    one = shopee[5]
    found = service.listing_for(session, channel=SalesChannel.shopee, account=data.SHOPEE_SHOP_ID,
                                external_item_id=one.external_item_id, external_model_id=one.external_model_id)
    assert found is not None and found.variant_id == one.variant_id


def test_a_location_per_store_and_the_central_warehouse(session: Session) -> None:
    _context_after_catalogue(session)
    locations = {row.code: row for row in session.scalars(select(Location))}
    assert set(locations) == {"HN01", "DN01", "HCM01", "KHO-BD"}
    warehouse = locations["KHO-BD"]
    assert (warehouse.name, warehouse.kind, warehouse.priority, warehouse.ships, warehouse.pickup) == (
        "Kho tổng Bình Dương", LocationKind.warehouse, 10, True, False)
    for code in ("HN01", "DN01", "HCM01"):
        store = locations[code]
        assert store.kind == LocationKind.store and store.pickup and store.store_id is not None
        assert store.priority > warehouse.priority


def test_later_steps_find_variants_prices_and_locations_in_the_context(session: Session) -> None:
    context = _context_after_catalogue(session)
    found = context.extra["catalogue"]
    assert set(found) >= {"variants", "products", "categories", "prices", "shopee_shop", "lazada_seller"}
    assert found["prices"]["VD001-XNG-M"] == 1_250_000
    variant = session.get(Variant, found["variants"]["VD001-XNG-M"])
    assert variant is not None and variant.sku == "VD001-XNG-M"
    assert set(found["products"]) == {spec.code for spec in data.PRODUCTS}
    assert session.get(Category, found["categories"]["Giày dép"]) is not None
    locations = context.extra["locations"]
    assert locations["KHO-BD"].id and locations["HCM01"].store_id == context.stores["HCM01"].id
