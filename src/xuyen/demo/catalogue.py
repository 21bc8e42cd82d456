"""The shop's catalogue and the places that hold its stock.

Adds the six categories and 24 products of ``catalogue_data`` with their variants, pictures (placeholders
served by this site: the demo needs no internet) and their listings in the Shopee and Lazada shops, then one stock
location per store and the central warehouse. Leaves in ``context.extra``:

- ``"catalogue"``: ``variants`` (variant id by SKU), ``products`` (product id by code), ``categories`` (id by
  name), ``prices`` (the retail price by SKU, VAT included), ``shopee_shop`` and ``lazada_seller``;
- ``"locations"``: the ``Location`` rows by code (each store's code, and ``KHO-BD`` for the warehouse).
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue import categories, service
from xuyen.commerce.catalogue.models import ProductStatus
from xuyen.commerce.catalogue.schemas import ImageIn, ListingIn, ProductIn, VariantIn
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import locations
from xuyen.commerce.stock.models import Location, LocationKind
from xuyen.demo import catalogue_data as data
from xuyen.demo.registry import DemoContext, demo_step

STEP = "sản phẩm"
ACTOR = "demo"
IMAGE_ROOT = "/static/catalogue"


@demo_step(STEP, order=60)
def add_catalogue(session: Session, rng: random.Random, context: DemoContext) -> None:
    """The categories, products, variants, pictures and marketplace listings, then the stock locations."""
    category_ids = {spec.name: categories.add_category(session, name=spec.name, position=position,
                                                       actor=ACTOR).id
                    for position, spec in enumerate(data.CATEGORIES)}
    images = {spec.name: spec.image for spec in data.CATEGORIES}
    found: dict[str, Any] = {"variants": {}, "products": {}, "categories": category_ids, "prices": {},
                             "shopee_shop": data.SHOPEE_SHOP_ID, "lazada_seller": data.LAZADA_SELLER_ID}
    reference = 1
    for index, spec in enumerate(data.PRODUCTS):
        variants = data.variants(spec, first_reference=reference)
        reference += len(variants)
        product = service.add_product(session, product=_product_in(spec, variants, category_ids, images), actor=ACTOR)
        found["products"][spec.code] = product.id
        ids = {row.sku: row.id for row in service.variants_of(session, product_id=product.id)}
        for position, variant in enumerate(variants):
            found["variants"][variant.sku] = ids[variant.sku]
            found["prices"][variant.sku] = spec.price
            _list(session, index=index, position=position, spec=spec, sku=variant.sku, variant_id=ids[variant.sku])
    context.extra["catalogue"] = found
    context.extra["locations"] = add_locations(session, context)


def _product_in(spec: data.ProductSpec, variants: list[data.VariantSpec], category_ids: dict[str, int],
                images: dict[str, str]) -> ProductIn:
    return ProductIn(
        code=spec.code, name=spec.name, description=spec.description, brand=data.BRAND,
        category_id=category_ids[spec.category], status=ProductStatus.active,
        variants=[VariantIn(sku=variant.sku, barcode=variant.barcode, options=variant.options)
                  for variant in variants],
        images=[ImageIn(url=f"{IMAGE_ROOT}/{images[spec.category]}", alt=spec.name)],
    )


def _list(session: Session, *, index: int, position: int, spec: data.ProductSpec, sku: str,
          variant_id: int) -> None:
    if spec.shopee:
        service.add_listing(session, variant_id=variant_id, actor=ACTOR, listing=ListingIn(
            channel=SalesChannel.shopee, account=data.SHOPEE_SHOP_ID, external_item_id=data.shopee_item_id(index),
            external_model_id=data.shopee_model_id(index, position)))
    if spec.lazada:
        service.add_listing(session, variant_id=variant_id, actor=ACTOR, listing=ListingIn(
            channel=SalesChannel.lazada, account=data.LAZADA_SELLER_ID, external_item_id=data.lazada_item_id(index),
            external_sku=sku))


def add_locations(session: Session, context: DemoContext) -> dict[str, Location]:
    """One location per store (sells, hands over pickups) and the central warehouse (ships first)."""
    found: dict[str, Location] = {}
    for code, store in context.stores.items():
        found[code] = locations.add(
            session, code=code, name=store.name, kind=LocationKind.store, store_id=store.id, province=store.province,
            address=store.address, latitude=store.latitude, longitude=store.longitude, priority=100, ships=True,
            pickup=True)
    warehouse = data.WAREHOUSE
    found[warehouse.code] = locations.add(
        session, code=warehouse.code, name=warehouse.name, kind=LocationKind.warehouse, province=warehouse.province,
        address=warehouse.address, latitude=warehouse.latitude, longitude=warehouse.longitude, priority=10,
        ships=True, pickup=False)
    return found
