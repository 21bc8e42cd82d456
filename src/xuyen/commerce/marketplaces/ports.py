"""The other commerce domains' service functions the sync calls, by their contracts.

Catalogue (listings, SKUs), stock (what a channel may sell) and orders (taking over a marketplace order) are called
through these functions only, so the sync names each contract once.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.catalogue.models import ChannelListing
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders import service as orders
from xuyen.commerce.orders.external import ExternalOrder
from xuyen.commerce.stock import service as stock


def listings_of(session: Session, *, channel: SalesChannel, account: str | None = None,
                variant_ids: Collection[int] | None = None) -> list[ChannelListing]:
    """The channel's active listings (of one shop, of some variants)."""
    return catalogue.listings_of(session, channel=channel, account=account, variant_ids=variant_ids)


def skus_of(session: Session, *, variant_ids: Collection[int]) -> dict[int, str]:
    """Our SKU of each variant, to name listings in the activity log."""
    return {variant_id: view.sku for variant_id, view in
            catalogue.variants_by_ids(session, variant_ids=variant_ids).items()}


def available_for_channel(session: Session, *, channel: SalesChannel, variant_ids: Collection[int]) -> dict[int, int]:
    """What the channel may sell of each variant (never on hand: reservations and the channel's buffer are out)."""
    return stock.available_for_channel(session, channel=channel, variant_ids=variant_ids)


def upsert_external_order(session: Session, *, order: ExternalOrder) -> int | None:
    """Create or update our order for a marketplace order; its id."""
    return orders.upsert_external_order(session, order=order).id
