"""A snapshot of what the demo built, as plain values to compare."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.events.models import Source
from xuyen.loyalty.tiers import SOURCE_NAME as LOYALTY_SOURCE
from xuyen.sales.leads.capturing import SOURCE_NAME as LEADS_SOURCE
from xuyen.segments.service import SOURCE_NAME as SEGMENTS_SOURCE
from xuyen.stores.models import Store


def is_sales_source(name: str) -> bool:
    """Whether a source is one commerce, loyalty, the leads or segments write through (made as the demo's data needs
    them)."""
    return name.startswith("Bán hàng · ") or name in (LOYALTY_SOURCE, LEADS_SOURCE, SEGMENTS_SOURCE)


def shop_source_count(session: Session) -> int:
    """How many sources the shop itself has (its channels, not the commerce sales sources)."""
    session.rollback()
    return sum(1 for name in session.scalars(select(Source.name)) if not is_sales_source(name))


def snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """The demo's stores, sources and staff without ids or timestamps."""
    session.rollback()  # see what other sessions committed
    codes = {store.id: store.code for store in session.scalars(select(Store))}
    data = {
        "stores": sorted((s.code, s.name, s.province, s.address, s.phone, s.latitude, s.longitude)
                         for s in session.scalars(select(Store))),
        "sources": sorted((s.name, s.channel.value, codes.get(s.store_id))
                          for s in session.scalars(select(Source)) if not is_sales_source(s.name)),
        "users": sorted((u.email, u.name, u.role.value, codes.get(u.store_id))
                        for u in session.scalars(select(User))),
    }
    session.rollback()  # and hold no read transaction open (SQLite) while others write
    return data
