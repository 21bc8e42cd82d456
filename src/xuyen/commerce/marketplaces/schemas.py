"""The marketplace sync's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.commerce.marketplaces.models import ActivityEntry
from xuyen.commerce.marketplaces.service import ShopStatus


class ConnectionIn(BaseModel):
    """A shop to connect: its marketplace, a name staff recognise, the app's and the shop's ids, keys and tokens."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=32, examples=["shopee"])
    name: str = Field(min_length=1, max_length=200, examples=["Shopee – Thời trang Xuyên"])
    settings: dict[str, str] = Field(default_factory=dict, max_length=20,
                                     examples=[{"partner_id": "2001234", "shop_id": "880001"}])
    secrets: dict[str, str] = Field(default_factory=dict, max_length=20,
                                    examples=[{"partner_key": "…", "access_token": "…", "refresh_token": "…"}])


class ConnectionOut(BaseModel):
    """A connected shop and where its sync stands (never its keys or tokens)."""

    id: int
    channel: str
    account: str
    app_id: str
    name: str
    status: str
    status_reason: str | None
    is_demo: bool
    last_sync_at: datetime | None
    last_sync_error: str | None
    orders_synced_until: datetime | None
    pending_pushes: int = 0
    failing_pushes: int = 0
    orders_seen: int = 0
    last_stock_sent_at: datetime | None = None

    @classmethod
    def of(cls, status: ShopStatus) -> ConnectionOut:
        """The shape of a shop with its counters."""
        c = status.connection
        return cls(id=c.id, channel=c.channel.value, account=c.account, app_id=c.app_id, name=c.name,
                   status=c.status.value, status_reason=c.status_reason, is_demo=c.is_demo,
                   last_sync_at=c.last_sync_at, last_sync_error=c.last_sync_error,
                   orders_synced_until=c.orders_synced_until, pending_pushes=status.pending_pushes,
                   failing_pushes=status.failing_pushes, orders_seen=status.orders_seen,
                   last_stock_sent_at=status.last_stock_sent_at)


class ActivityOut(BaseModel):
    """One entry of the activity log."""

    id: int
    connection_id: int | None
    kind: str
    level: str
    message: str
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, entry: ActivityEntry) -> ActivityOut:
        """The shape of an entry."""
        return cls(id=entry.id, connection_id=entry.connection_id, kind=entry.kind.value, level=entry.level.value,
                   message=entry.message, details=entry.details, created_at=entry.created_at)
