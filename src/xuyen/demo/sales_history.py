"""A year of the demo shop's past sales, so its dashboards have returning customers, cohorts and repeat purchases
to show: most of the demo's customers first bought three to twelve months ago, at the till of their usual store or
on Shopee and Lazada, and some came back several times (and again in the recent months the orders step plays).

Each sale's goods arrive just before it (a receipt in the same savepoint as the sale, so a sale the prices refuse
takes its receipt with it), so what the stores and the warehouse hold today is exactly what the orders step left.
Leaves in ``context.extra["lịch sử mua hàng"]``: ``orders`` (how many per channel) and ``customers`` (how many
people bought, told apart by phone).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import service as orders
from xuyen.commerce.orders.building import Customer, LineIn, PaymentIn
from xuyen.commerce.orders.external import ExternalLine, ExternalOrder, ExternalStatus
from xuyen.commerce.orders.models import Order, PaymentMethod
from xuyen.commerce.orders.pos import sell_at_till
from xuyen.commerce.stock import moves
from xuyen.commerce.stock.models import Location
from xuyen.commerce.stock.service import StockLine
from xuyen.customers.service import refresh_customers
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.errors import XuyenError

STEP = "lịch sử mua hàng"
ACTOR = "demo"
BUYERS = 260  # of the demo's customers, how many bought in the past year
OLDEST_DAYS, NEWEST_DAYS = 365, 95  # the history ends where the orders step's recent months begin
MARKETPLACE_SHARE = 0.25
VISITS = (1, 1, 1, 2, 2, 3, 4)  # purchases per buyer over the year: most once, some loyal


@dataclass(frozen=True)
class _Sale:
    """One past purchase, planned before any stock moves."""

    at: datetime
    channel: SalesChannel
    customer: Customer
    lines: list[tuple[str, int]]
    store: Location | None


@demo_step(STEP, order=72)
def add_sales_history(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Plan a year of purchases, receive their goods, then ring them up at the tills and on the marketplaces."""
    found: dict[str, Any] = context.extra["catalogue"]
    places: dict[str, Location] = context.extra["locations"]
    stores = sorted((place for place in places.values() if place.store_id is not None), key=lambda p: p.code)
    warehouse = next(place for place in places.values() if place.store_id is None)
    people = list(context.extra.get("khách hàng", {}).get("people", []))[:400]
    if not stores or not people:
        return
    listed = {channel: _listed_skus(session, channel=channel, found=found)
              for channel in (SalesChannel.shopee, SalesChannel.lazada)}
    sales = _plan(rng, people=rng.sample(people, min(BUYERS, len(people))), stores=stores,
                  skus=sorted(found["variants"]), listed=listed, now=utcnow())
    made: Counter[str] = Counter()
    for number, sale in enumerate(sorted(sales, key=lambda planned: planned.at)):
        if _ring_up(session, sale, found=found, number=number, warehouse=warehouse):
            made[sale.channel.value] += 1
    session.flush()
    refresh_customers(session, profile_ids=session.scalars(select(Order.profile_id).distinct()
                                                           .where(Order.profile_id.is_not(None))))
    context.extra[STEP] = {"orders": dict(made), "customers": len({sale.customer.phone for sale in sales})}


def _listed_skus(session: Session, *, channel: SalesChannel, found: dict[str, Any]) -> list[str]:
    account = found["shopee_shop"] if channel is SalesChannel.shopee else found["lazada_seller"]
    variant_ids = {listing.variant_id for listing in catalogue.listings_of(session, channel=channel, account=account)}
    return sorted(sku for sku, variant_id in found["variants"].items() if variant_id in variant_ids)


def _plan(rng: random.Random, *, people: list[Any], stores: list[Location], skus: list[str],
          listed: dict[SalesChannel, list[str]], now: datetime) -> list[_Sale]:
    sales = []
    for person in people:
        home = rng.choice(stores)
        customer = Customer(name=person.name.full, phone=person.phone)
        visits = rng.choice(VISITS)
        first = rng.uniform(NEWEST_DAYS + 30 * (visits - 1), OLDEST_DAYS) if visits > 1 else \
            rng.uniform(NEWEST_DAYS, OLDEST_DAYS)
        for visit in range(visits):
            days_ago = max(NEWEST_DAYS, first - visit * rng.uniform(25, 60))
            channel = rng.choice((SalesChannel.shopee, SalesChannel.lazada)) \
                if rng.random() < MARKETPLACE_SHARE else SalesChannel.pos
            online = channel is not SalesChannel.pos and len(listed[channel]) >= 2
            choices = listed[channel] if online else skus
            channel = channel if online else SalesChannel.pos
            lines = [(sku, 1) for sku in rng.sample(choices, rng.randint(1, 2))]
            at = now - timedelta(days=days_ago, minutes=rng.randint(0, 600))
            sales.append(_Sale(at=at, channel=channel, customer=customer, lines=lines,
                               store=None if online else home))
    return sales


def _ring_up(session: Session, sale: _Sale, *, found: dict[str, Any], number: int, warehouse: Location) -> bool:
    """Receive one planned sale's goods and record the sale through the orders domain, together or not at all."""
    place = sale.store or warehouse  # the marketplaces ship from the warehouse
    try:
        with session.begin_nested():
            moves.add_receipt(session, location_id=place.id, actor=ACTOR, reference=f"PN-LS-{number:05d}",
                              reason="Hàng về theo mùa", lines=[StockLine(found["variants"][sku], quantity)
                                                              for sku, quantity in sale.lines])
            if sale.store is not None:
                sell_at_till(session, store_id=sale.store.store_id or 0, actor=f"Thu ngân {sale.store.code}",
                             lines=[LineIn(sku, quantity) for sku, quantity in sale.lines],
                             payments=[PaymentIn(PaymentMethod.cash)], customer=sale.customer, at=sale.at)
                return True
            return _marketplace_sale(session, sale, found=found, number=number)
    except XuyenError:
        return False


def _marketplace_sale(session: Session, sale: _Sale, *, found: dict[str, Any], number: int) -> bool:
    account = found["shopee_shop"] if sale.channel is SalesChannel.shopee else found["lazada_seller"]
    listings = {listing.variant_id: listing
                for listing in catalogue.listings_of(session, channel=sale.channel, account=account)}
    wanted = {found["variants"][sku] for sku, _ in sale.lines}
    picked = [listings[variant_id] for variant_id in sorted(wanted) if variant_id in listings]
    if not picked:
        return False
    views = catalogue.variants_by_ids(session, variant_ids=[listing.variant_id for listing in picked])
    prices: dict[str, int] = found["prices"]
    lines = [ExternalLine(external_item_id=listing.external_item_id, external_model_id=listing.external_model_id,
                          external_sku=listing.external_sku, quantity=1, name=views[listing.variant_id].display_name,
                          unit_price=prices.get(views[listing.variant_id].sku, 199_000))
             for listing in picked if listing.variant_id in views]
    prefix = "SPE" if sale.channel is SalesChannel.shopee else "LZD"
    for step, status in enumerate((ExternalStatus.to_ship, ExternalStatus.shipped, ExternalStatus.delivered)):
        orders.upsert_external_order(session, order=ExternalOrder(
            channel=sale.channel, account=account, external_id=f"{prefix}LS{sale.at:%y%m%d}{number:05d}",
            status=status, placed_at=sale.at, updated_at=sale.at + timedelta(days=step), lines=lines,
            shipping_fee=20_000, total=sum(line.unit_price for line in lines) + 20_000, payment_method="cod",
            buyer_identifiers=[("phone", sale.customer.phone, None)], buyer_name=sale.customer.name,
            shipping_address={"address": "Địa chỉ trên sàn"}, raw_status=status.value.upper()))
    return True
