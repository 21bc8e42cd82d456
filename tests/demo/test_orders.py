"""The demo's orders: every channel over the last months, pickups, a cancellation, and a return of an online
order in the Hà Nội store refunded to stored value; an order the stock cannot serve is left out, never a crash."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce import journal
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Fulfilment, Order, OrderReturn, OrderStatus, RefundTo
from xuyen.commerce.pricing import admin, prices
from xuyen.commerce.stock import moves
from xuyen.commerce.stock.models import Location
from xuyen.commerce.stock.service import StockLine
from xuyen.demo import catalogue as demo_catalogue
from xuyen.demo import orders as demo_orders
from xuyen.demo.registry import DemoContext
from xuyen.demo.service import load_steps
from xuyen.demo.shop import SHOP
from xuyen.demo.steps import add_stores
from xuyen.inbox.models import Conversation


def _shop_with_stock(session: Session) -> DemoContext:
    context = DemoContext(seed=2026, shop=SHOP)
    add_stores(session, random.Random(1), context)
    demo_catalogue.add_catalogue(session, random.Random(2), context)
    session.commit()
    admin.install_defaults(session)
    found = context.extra["catalogue"]
    admin.set_prices(session, price_list_id=prices.base_price_list(session).id, actor="test",
                     amounts={found["variants"][sku]: price for sku, price in found["prices"].items()})
    places: dict[str, Location] = context.extra["locations"]
    for place in places.values():
        moves.receive(session, location_id=place.id, actor="test", reference=f"PN-{place.code}",
                      lines=[StockLine(variant_id, 20) for variant_id in found["variants"].values()])
    profile_id = journal.record(session, channel=SalesChannel.web, event="Signed Up", message_id="signup-1",
                                identifiers=[("phone", "0912345678", None)], properties={}, timestamp=utcnow())
    assert profile_id is not None
    session.add(Conversation(profile_id=profile_id, last_message_at=utcnow()))
    session.commit()
    return context


def test_the_orders_step_runs_after_the_catalogue_and_the_stock() -> None:
    steps = {step.name: step.order for step in load_steps()}
    assert steps[demo_orders.STEP] > steps[demo_catalogue.STEP]


def test_orders_from_every_channel_a_cancellation_and_a_return_in_hanoi(session: Session) -> None:
    context = _shop_with_stock(session)
    demo_orders.add_orders(session, random.Random(7), context)
    session.commit()
    made = context.extra[demo_orders.STEP]["orders"]
    assert set(made) == {"web", "pos", "chat", "shopee", "lazada"}
    rows = list(session.scalars(select(Order)))
    assert Counter(o.channel.value for o in rows) == Counter(made)
    assert all(utcnow() - timedelta(days=91) <= o.created_at <= utcnow() for o in rows)
    assert any(o.fulfilment is Fulfilment.pickup and o.status is OrderStatus.completed for o in rows)
    assert any(o.status is OrderStatus.cancelled and o.channel.value == "web" for o in rows)
    stores = {o.store_id for o in rows if o.channel.value == "pos"}
    assert stores == {store.id for store in context.stores.values()}
    (returned,) = session.scalars(select(OrderReturn))
    hanoi = context.extra["locations"]["HN01"]
    assert returned.location_id == hanoi.id and returned.refund_to is RefundTo.stored_value
    order = session.get(Order, returned.order_id)
    assert order is not None and order.channel.value == "web" and order.number == \
        context.extra[demo_orders.STEP]["return_order"]


def test_without_stock_the_step_leaves_orders_out(session: Session) -> None:
    context = DemoContext(seed=2026, shop=SHOP)
    add_stores(session, random.Random(1), context)
    demo_catalogue.add_catalogue(session, random.Random(2), context)
    demo_orders.add_orders(session, random.Random(7), context)
    session.commit()
    assert context.extra[demo_orders.STEP]["return_order"] is None
