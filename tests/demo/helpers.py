"""A snapshot of what the demo built, as plain values to compare."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.events.models import Source
from xuyen.loyalty import tiers as loyalty_tiers
from xuyen.stores.models import Store


def is_shop_source(name: str) -> bool:
    """Whether a source is one of the shop's own channels (not one a domain writes its events through: the
    sales sources of orders, the loyalty programme's)."""
    return not name.startswith("Bán hàng · ") and name != loyalty_tiers.SOURCE_NAME


def shop_source_count(session: Session) -> int:
    """How many of the shop's own channel sources there are."""
    session.rollback()
    return sum(1 for name in session.scalars(select(Source.name)) if is_shop_source(name))


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """The demo's stores, sources and staff without ids or timestamps."""
    session.rollback()  # see what other sessions committed
    codes = {store.id: store.code for store in session.scalars(select(Store))}
    data = {
        "stores": sorted((s.code, s.name, s.province, s.address, s.phone, s.latitude, s.longitude)
                         for s in session.scalars(select(Store))),
        "sources": sorted((s.name, s.channel.value, codes.get(s.store_id))
                          for s in session.scalars(select(Source)) if is_shop_source(s.name)),
        "users": sorted((u.email, u.name, u.role.value, codes.get(u.store_id))
                        for u in session.scalars(select(User))),
    }
    session.rollback()  # and hold no read transaction open (SQLite) while others write
    return data
