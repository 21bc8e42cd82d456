"""A small known stock for the stock health tests, made through the stock and catalogue services.

    warehouse W (ships)     receipts: A-S 10, N-1 3
    store S (does not ship) receipts: A-S 2, A-M 4
    Áo dài lụa (category Áo dài): A-S, A-M;  Nón lá (no category): N-1

    sold over the counter at S: A-S 2;  reserved and fulfilled on the web at W: A-S 4
    reserved on the web at W and still held: N-1 1;  the web keeps a buffer of 2 of N-1
    A-M is listed on Shopee (served by W, where it has none)

Now: W holds A-S 6, N-1 3 (1 reserved); S holds A-S 0, A-M 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue.categories import add_category
from xuyen.commerce.catalogue.listings import add_listing
from xuyen.commerce.catalogue.models import Product, Variant
from xuyen.commerce.catalogue.schemas import ListingIn
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import buffers, locations, moves
from xuyen.commerce.stock import service as stock
from xuyen.commerce.stock.models import LocationKind
from xuyen.commerce.stock.service import StockLine
from xuyen.stores import service as stores


@dataclass(frozen=True)
class KnownStock:
    """The ids the tests need."""

    store_id: int
    warehouse_id: int
    shop_id: int


def _product(session: Session, code: str, name: str, skus: list[str], category_id: int | None) -> list[int]:
    product = Product(code=code, name=name, category_id=category_id)
    session.add(product)
    session.flush()
    variants = [Variant(product_id=product.id, sku=sku, options={"Cỡ": sku[-1]}) for sku in skus]
    session.add_all(variants)
    session.flush()
    return [variant.id for variant in variants]


def build(session: Session) -> KnownStock:
    """Write the known stock and commit."""
    store = stores.create(session, code="HN1", name="Cửa hàng Hàng Gai", province="Hà Nội")
    category = add_category(session, name="Áo dài", actor="test")
    small, medium = _product(session, "AODAI", "Áo dài lụa", ["A-S", "A-M"], category.id)
    (hat,) = _product(session, "NON", "Nón lá", ["N-1"], None)
    warehouse = locations.add(session, code="W", name="Kho tổng", kind=LocationKind.warehouse, ships=True)
    shop = locations.add(session, code="S", name="Hàng Gai", kind=LocationKind.store, store_id=store.id, ships=False)
    session.flush()
    moves.add_receipt(session, location_id=warehouse.id, lines=[StockLine(small, 10), StockLine(hat, 3)], actor="test")
    moves.add_receipt(session, location_id=shop.id, lines=[StockLine(small, 2), StockLine(medium, 4)], actor="test")
    stock.sell(session, reference="POS-1", lines=[StockLine(small, 2)], location_id=shop.id, actor="test")
    stock.reserve(session, reference="WEB-1", lines=[StockLine(small, 4)], channel=SalesChannel.web, actor="test",
                  expires_at=None, location_id=warehouse.id)
    stock.fulfil(session, reference="WEB-1", actor="test")
    stock.reserve(session, reference="WEB-2", lines=[StockLine(hat, 1)], channel=SalesChannel.web, actor="test",
                  expires_at=None, location_id=warehouse.id)
    buffers.put_buffer(session, channel=SalesChannel.web, quantity=2, variant_id=hat, actor="test")
    add_listing(session, variant_id=medium, listing=ListingIn(channel=SalesChannel.shopee, account="220314588",
                                                              external_item_id="1", external_model_id="2"),
                actor="test")
    session.commit()
    return KnownStock(store_id=store.id, warehouse_id=warehouse.id, shop_id=shop.id)
