"""The other commerce domains' service functions the sync calls, by their contracts.

Catalogue (listings), stock (what a channel may sell) and orders (taking over a marketplace order) are called
through these three functions only, so the sync names each contract once.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from xuyen.commerce.catalogue.models import ChannelListing
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.external import ExternalOrder


def _service(package: str) -> Any:
    return importlib.import_module(f"xuyen.commerce.{package}.service")


def listings_of(session: Session, *, channel: SalesChannel, account: str | None = None,
                variant_ids: Collection[int] | None = None) -> list[ChannelListing]:
    """The channel's listings (of one shop, of some variants): ``catalogue.service.listings_of``."""
    listings: list[ChannelListing] = _service("catalogue").listings_of(
        session, channel=channel, account=account, variant_ids=variant_ids)
    return listings


def available_for_channel(session: Session, *, channel: SalesChannel, variant_ids: Collection[int]) -> dict[int, int]:
    """What the channel may sell of each variant: ``stock.service.available_for_channel``."""
    available: dict[int, int] = _service("stock").available_for_channel(session, channel=channel,
                                                                        variant_ids=variant_ids)
    return available


def upsert_external_order(session: Session, *, order: ExternalOrder) -> int | None:
    """Create or update our order for a marketplace order (``orders.service.upsert_external_order``); its id."""
    created = _service("orders").upsert_external_order(session, order=order)
    return getattr(created, "id", None)
