"""The shop's Shopee and Lazada shops: connected as demo shops (pointing at nothing reachable: the demo never calls
the internet, and the sync never calls a demo shop), with the state a running sync leaves.

When the catalogue step listed variants on them, each listing gets its stock push as sent (what the channel may
sell), and the Shopee and Lazada orders the orders step made are recorded as imported, so the Marketplaces page
shows stock pushes and imported orders in its activity log.
"""

from __future__ import annotations

import random
from datetime import datetime

from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.catalogue.models import ChannelListing
from xuyen.commerce.marketplaces import activity, ports
from xuyen.commerce.marketplaces.connections import connect_helper
from xuyen.commerce.marketplaces.models import (
    ActivityKind,
    MarketplaceConnection,
    SeenOrder,
    StockPush,
    StockPushState,
)
from xuyen.commerce.marketplaces.stock_sync import listing_label
from xuyen.commerce.orders import service as orders
from xuyen.demo.registry import DemoContext, demo_step

STEP = "sàn TMĐT"
SHOPEE_SHOP = "880001"
LAZADA_SELLER = "200045"
DEMO_HOST = "demo.invalid"  # a reserved name: never resolves


@demo_step(STEP, order=80)
def add_marketplaces(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Connect the demo Shopee and Lazada shops, then their stock pushes and imported orders."""
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
        _imported_orders(session, connection)


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


def _imported_orders(session: Session, connection: MarketplaceConnection) -> None:
    """The shop's orders the orders step made, recorded as the sync records what it imported."""
    found, _ = orders.list_orders(session, channel=connection.channel, limit=200)
    for order in sorted(found, key=lambda row: row.created_at):
        if order.account != connection.account or not order.external_id:
            continue
        state = _STATES.get(order.status.value, "to_ship")
        updated = order.external_updated_at or order.created_at
        session.add(SeenOrder(connection_id=connection.id, external_id=order.external_id,
                              raw_status=order.external_status or state, status=state, external_updated_at=updated,
                              order_id=order.id, imported_at=updated))
        entry = activity.log(session, connection_id=connection.id, kind=ActivityKind.order_imported,
                             message=f"Order {order.external_id} imported ({order.external_status}, "
                                     f"{order.total:,} đ).",
                             details={"order_id": order.external_id, "status": state,
                                      "raw_status": order.external_status, "total": order.total,
                                      "source": "push", "our_order_id": order.id})
        entry.created_at = updated
    session.flush()


# Our order's state, as the sync's state of a marketplace order.
_STATES = {"pending_payment": "unpaid", "placed": "to_ship", "fulfilling": "to_ship", "shipped": "shipped",
           "completed": "delivered", "cancelled": "cancelled"}
