"""The shop's Shopee and Lazada shops: connected as demo shops (pointing at nothing reachable: the demo never calls
the internet, and the sync never calls a demo shop), with the state a running sync leaves.

When the catalogue step listed variants on them, each listing gets its stock push as sent (what the channel may
sell), and, when the orders domain is installed, a few marketplace orders are imported through the sync's own
hand-over, so the Marketplaces page shows stock pushes and imported orders in its activity log.
"""

from __future__ import annotations

import importlib.util
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from xuyen.channels.marketplace import MarketplaceOrder, OrderLine
from xuyen.clock import utcnow
from xuyen.commerce.catalogue.models import ChannelListing
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import activity, ports
from xuyen.commerce.marketplaces.connections import connect_helper
from xuyen.commerce.marketplaces.models import (
    ActivityKind,
    MarketplaceConnection,
    StockPush,
    StockPushState,
)
from xuyen.commerce.marketplaces.orders_sync import ImportSummary, hand_over
from xuyen.commerce.marketplaces.stock_sync import listing_label
from xuyen.demo.registry import DemoContext, demo_step

STEP = "sàn TMĐT"
SHOPEE_SHOP = "880001"
LAZADA_SELLER = "200045"
DEMO_HOST = "demo.invalid"  # a reserved name: never resolves
ORDER_COUNT = 6
BUYERS = ("lan.nguyen", "minh.tran", "thu.pham", "hoang.le", "ngoc.vu", "an.do", "bao.dang", "vy.bui")


@demo_step(STEP, order=80)
def add_marketplaces(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Connect the demo Shopee and Lazada shops, then their stock pushes and a few imported orders."""
    catalogue = context.extra.get("catalogue") or {}
    shopee = connect_helper(
        session, channel="shopee", name="Shopee – Thời trang Xuyên", is_demo=True,
        settings={"partner_id": "2001234", "shop_id": str(catalogue.get("shopee_shop", SHOPEE_SHOP)),
                  "api_base": f"https://shopee.{DEMO_HOST}"},
        secrets={"partner_key": "demo", "access_token": "demo", "refresh_token": "demo"})
    lazada = connect_helper(
        session, channel="lazada", name="Lazada – Thời trang Xuyên", is_demo=True,
        settings={"app_key": "100234", "seller_id": str(catalogue.get("lazada_seller", LAZADA_SELLER)),
                  "api_base": f"https://lazada.{DEMO_HOST}/rest", "auth_base": f"https://auth.{DEMO_HOST}/rest"},
        secrets={"app_secret": "demo", "access_token": "demo", "refresh_token": "demo"})
    context.extra["marketplaces"] = {"shopee": shopee.id, "lazada": lazada.id}
    if not catalogue:
        return
    now = utcnow()
    for connection in (shopee, lazada):
        listings = [listing for listing in ports.listings_of(session, channel=connection.channel,
                                                             account=connection.account) if listing.is_active]
        _stock_sent(session, connection, listings, now=now)
        if importlib.util.find_spec("xuyen.commerce.orders.service") is not None and listings:
            _orders(session, rng, connection, listings, now=now)


def _stock_sent(session: Session, connection: MarketplaceConnection, listings: list[ChannelListing], *,
                now: datetime) -> None:
    """Each listing's stock push as the sync leaves it once the platform accepted it."""
    available = ports.available_for_channel(session, channel=connection.channel,
                                            variant_ids=sorted({listing.variant_id for listing in listings}))
    skus = ports.skus_of(session, variant_ids={listing.variant_id for listing in listings})
    for listing in listings:
        quantity = available.get(listing.variant_id, 0)
        label = listing_label(listing, skus.get(listing.variant_id, ""))
        session.add(StockPush(listing_id=listing.id, connection_id=connection.id, variant_id=listing.variant_id,
                              state=StockPushState.sent, generation=1, due_at=now, attempts=0,
                              sent_quantity=quantity, sent_at=now, updated_at=now))
        activity.log(session, connection_id=connection.id, kind=ActivityKind.stock_sent,
                     message=f"Stock of {label} set to {quantity}.",
                     details={"listing_id": listing.id, "variant_id": listing.variant_id, "label": label,
                              "quantity": quantity, "attempt": 1})
    session.flush()


def _orders(session: Session, rng: random.Random, connection: MarketplaceConnection,
            listings: list[ChannelListing], *, now: datetime) -> None:
    """A few orders of the last days, imported as a push would have brought them."""
    prefix = "2512" if connection.channel == SalesChannel.shopee else "7"
    for number in range(ORDER_COUNT):
        chosen = rng.sample(listings, k=min(len(listings), rng.randint(1, 2)))
        placed = now - timedelta(hours=rng.randint(2, 96))
        lines = [OrderLine(item_id=listing.external_item_id, model_id=listing.external_model_id,
                           sku=listing.external_sku, quantity=rng.randint(1, 2),
                           unit_price=rng.choice((149_000, 199_000, 249_000, 349_000)))
                 for listing in chosen]
        status = rng.choice(("to_ship", "to_ship", "shipped", "delivered", "cancelled"))
        shipping = 25_000 if connection.channel == SalesChannel.lazada else 30_000
        order = MarketplaceOrder(
            account=connection.account, order_id=f"{prefix}{number + 1:06d}{rng.randint(100, 999)}", status=status,
            raw_status=_raw_status(connection.channel, status), placed_at=placed.astimezone(UTC),
            updated_at=(placed + timedelta(minutes=rng.randint(5, 600))).astimezone(UTC), lines=lines,
            total=sum(line.unit_price * line.quantity for line in lines) + shipping, shipping_fee=shipping,
            payment_method=rng.choice(("cod", "marketplace")), buyer_id=str(rng.randint(10_000_000, 99_999_999)),
            buyer_name=rng.choice(BUYERS))
        hand_over(session, connection, order, summary=ImportSummary(), source="demo")


def _raw_status(channel: SalesChannel, status: str) -> str:
    shopee = {"to_ship": "READY_TO_SHIP", "shipped": "SHIPPED", "delivered": "COMPLETED", "cancelled": "CANCELLED"}
    lazada = {"to_ship": "pending", "shipped": "shipped", "delivered": "delivered", "cancelled": "canceled"}
    return (shopee if channel == SalesChannel.shopee else lazada)[status]
