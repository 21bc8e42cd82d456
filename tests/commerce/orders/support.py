"""Test data for orders: a small shop (catalogue rows, base prices, a warehouse and two stores with stock) made
through the tables the catalogue owns and the pricing, stock and loyalty services; and readers of what orders
wrote."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import make_store
from xuyen.commerce.catalogue.models import Category, ChannelListing, Product, TaxClass, Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.building import Customer
from xuyen.commerce.pricing import admin, prices
from xuyen.commerce.stock import locations, moves
from xuyen.commerce.stock.models import LocationKind, StockLevel
from xuyen.commerce.stock.service import StockLine
from xuyen.events.models import Event
from xuyen.loyalty import service as loyalty
from xuyen.outbox import OutboxEvent

ACTOR = "test"
LAN = Customer(name="Nguyễn Thị Lan", phone="0912 345 678")
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Shop:
    """SKU → variant id; the warehouse, and the Hà Nội and Sài Gòn stores with their stock locations."""

    variants: Mapping[str, int]
    category: int
    warehouse: int
    hanoi_store: int
    hanoi: int
    saigon_store: int
    saigon: int


def _variant(session: Session, *, sku: str, name: str, price: int, category_id: int,
             tax_class: TaxClass = TaxClass.standard) -> int:
    number = next(_numbers)
    product = Product(code=f"P{number:04d}-{sku}", name=name, category_id=category_id, tax_class=tax_class)
    session.add(product)
    session.flush()
    variant = Variant(product_id=product.id, sku=sku, barcode=ean13(f"893000{number:06d}"), options={"Cỡ": "M"})
    session.add(variant)
    session.commit()
    admin.set_prices(session, price_list_id=prices.base_price_list(session).id, amounts={variant.id: price},
                     actor=ACTOR)
    return variant.id


def ean13(first12: str) -> str:
    """A barcode with its GS1 check digit."""
    total = sum(int(digit) * (3 if index % 2 else 1) for index, digit in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def barcode_of(session: Session, variant_id: int) -> str:
    """The variant's barcode."""
    variant = session.get(Variant, variant_id)
    assert variant is not None and variant.barcode
    return variant.barcode


def list_on(session: Session, *, variant_id: int, channel: SalesChannel, account: str, item: str,
            model: str = "", sku: str = "") -> None:
    """The variant listed on a marketplace shop under the platform's ids."""
    session.add(ChannelListing(variant_id=variant_id, channel=channel, account=account, external_item_id=item,
                               external_model_id=model, external_sku=sku))
    session.commit()


def make_shop(session: Session, *, stock: int = 10, hanoi_stock: int = 3) -> Shop:
    """A T-shirt (199.000 đ), a shirt (349.000 đ) and a book (reduced VAT, 120.000 đ); ``stock`` of each in the
    warehouse, ``hanoi_stock`` in the Hà Nội store, none in Sài Gòn."""
    admin.install_defaults(session)
    category = Category(slug=f"ao-{next(_numbers)}", name="Áo")
    session.add(category)
    session.commit()
    variants = {
        "AO-DEN-M": _variant(session, sku="AO-DEN-M", name="Áo thun Đen / M", price=199_000, category_id=category.id),
        "SOMI-M": _variant(session, sku="SOMI-M", name="Áo sơ mi / M", price=349_000, category_id=category.id),
        "SACH-1": _variant(session, sku="SACH-1", name="Sách", price=120_000, category_id=category.id,
                           tax_class=TaxClass.reduced),
    }
    hanoi_store = make_store(session, name="Cửa hàng Hà Nội", province="Hà Nội")
    saigon_store = make_store(session, name="Cửa hàng Sài Gòn")
    warehouse = locations.create(session, code=f"WH{next(_numbers)}", name="Kho Bình Dương",
                                 kind=LocationKind.warehouse, priority=10, ships=True, pickup=False)
    hanoi = locations.create(session, code=f"HN{next(_numbers)}", name="Cửa hàng Hà Nội", kind=LocationKind.store,
                             store_id=hanoi_store.id, priority=50, ships=False, pickup=True, province="Hà Nội")
    saigon = locations.create(session, code=f"SG{next(_numbers)}", name="Cửa hàng Sài Gòn",
                              kind=LocationKind.store, store_id=saigon_store.id, priority=60, ships=False,
                              pickup=True)
    receive(session, location_id=warehouse.id, quantities={v: stock for v in variants.values()})
    receive(session, location_id=hanoi.id, quantities={v: hanoi_stock for v in variants.values()})
    return Shop(variants=variants, category=category.id, warehouse=warehouse.id, hanoi_store=hanoi_store.id,
                hanoi=hanoi.id, saigon_store=saigon_store.id, saigon=saigon.id)


def receive(session: Session, *, location_id: int, quantities: Mapping[int, int]) -> None:
    """Stock arriving at a location."""
    lines = [StockLine(variant_id=v, quantity=q) for v, q in quantities.items() if q > 0]
    if lines:
        moves.receive(session, location_id=location_id, lines=lines, actor=ACTOR, reference=f"in-{next(_numbers)}")


def level(session: Session, *, variant_id: int, location_id: int) -> tuple[int, int]:
    """(on hand, reserved) of a variant at a location, as committed."""
    session.rollback()
    row = session.scalar(select(StockLevel).where(StockLevel.variant_id == variant_id,
                                                  StockLevel.location_id == location_id))
    return (row.on_hand, row.reserved) if row is not None else (0, 0)


def topics(session: Session, *, order_id: int | None = None) -> list[str]:
    """The order topics written to the outbox, oldest first."""
    session.rollback()
    query = select(OutboxEvent).where(OutboxEvent.topic.like("order.%")).order_by(OutboxEvent.id)
    if order_id is not None:
        query = query.where(OutboxEvent.aggregate_id == str(order_id))
    return [event.topic for event in session.scalars(query)]


def payload(session: Session, topic: str, *, order_id: int) -> dict[str, Any]:
    """The last payload of ``topic`` for the order."""
    session.rollback()
    event = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic,
                                                      OutboxEvent.aggregate_id == str(order_id))
                            .order_by(OutboxEvent.id.desc())).first()
    assert event is not None, f"no {topic} for order {order_id}"
    return event.payload


def journal_events(session: Session, *, number: str) -> list[str]:
    """The Segment events the event log holds for the order, oldest first."""
    session.rollback()
    return [event.event for event in session.scalars(select(Event).order_by(Event.id))
            if (event.properties or {}).get("order_id") == number]


def stored_value(session: Session, *, profile_id: int) -> int:
    """The customer's stored value balance in đồng."""
    session.rollback()
    return loyalty.balances(session, profile_id=profile_id).stored_value


def top_up(session: Session, *, profile_id: int, amount: int) -> None:
    """Stored value bought at a counter."""
    loyalty.top_up(session, profile_id=profile_id, amount=amount, reference=f"topup-{next(_numbers)}",
                   actor=ACTOR, payment_method="cash")


def profile_of(session: Session, customer: Customer) -> int:
    """The customer's profile, made from their phone as a sign-up on the website would."""
    from xuyen.clock import utcnow
    from xuyen.commerce import journal

    profile_id = journal.record(session, channel=SalesChannel.web, event="Signed Up",
                                message_id=f"signup-{next(_numbers)}", identifiers=customer.all_identifiers(),
                                properties={}, timestamp=utcnow())
    session.commit()
    assert profile_id is not None
    return profile_id
