"""Marketplace sync tables: connected shops, the pushes they sent, the orders seen, stock pushes, the activity log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.db import Base, BigId, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum], length: int = 24) -> Enum:
    return Enum(kind, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


class ConnectionStatus(enum.StrEnum):
    """A connected shop is synced while ``active``; ``needs_attention`` when the platform refused its tokens (the
    owner authorises it again); ``disconnected`` shops are kept for their history and never called."""

    active = "active"
    needs_attention = "needs_attention"
    disconnected = "disconnected"


class MarketplaceConnection(Base):
    """A shop on a marketplace connected to Xuyên: its platform ids, sealed app key and tokens, and sync state.

    ``app_id`` is the platform app the shop authorised (Shopee partner id, Lazada app key): pushes arrive per app
    and name the shop. ``orders_synced_until`` is how far the lost-push recovery has listed updated orders.
    """

    __tablename__ = "marketplace_connections"
    __table_args__ = (UniqueConstraint("channel", "account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[SalesChannel] = mapped_column(_enum(SalesChannel))
    account: Mapped[str] = mapped_column(String(64))
    app_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    sealed_secrets: Mapped[str] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[ConnectionStatus] = mapped_column(_enum(ConnectionStatus), default=ConnectionStatus.active)
    status_reason: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    orders_synced_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MarketplacePush(Base):
    """A push a platform sent, kept raw; the same push delivered twice is kept once (``dedupe_key``)."""

    __tablename__ = "marketplace_pushes"
    __table_args__ = (UniqueConstraint("connection_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    external_order_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SeenOrder(Base):
    """A platform order as last imported: its state there, so an unchanged order is not handed over again."""

    __tablename__ = "marketplace_orders"
    __table_args__ = (UniqueConstraint("connection_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    raw_status: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    external_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockPushState(enum.StrEnum):
    """``pending`` until the platform accepted the latest value; then ``sent``."""

    pending = "pending"
    sent = "sent"


class StockPush(Base):
    """The one stock push of a listing: many changes before it is sent make one push of the latest value.

    ``generation`` goes up at each change, so a value sent while a newer change came in leaves the row pending.
    """

    __tablename__ = "marketplace_stock_pushes"
    __table_args__ = (Index("ix_marketplace_stock_pushes_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("catalogue_channel_listings.id", ondelete="CASCADE"),
                                            unique=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("marketplace_connections.id", ondelete="CASCADE"),
                                               index=True)
    variant_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[StockPushState] = mapped_column(_enum(StockPushState, 16), default=StockPushState.pending)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_quantity: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActivityLevel(enum.StrEnum):
    info = "info"
    warning = "warning"
    error = "error"


class ActivityKind(enum.StrEnum):
    """What an activity entry records."""

    connected = "connected"
    disconnected = "disconnected"
    push_received = "push_received"
    order_imported = "order_imported"
    order_updated = "order_updated"
    order_failed = "order_failed"
    orders_recovered = "orders_recovered"
    sync_failed = "sync_failed"
    stock_sent = "stock_sent"
    stock_failed = "stock_failed"
    stock_retry = "stock_retry"
    drift_found = "drift_found"
    reconciled = "reconciled"
    tokens_refreshed = "tokens_refreshed"
    credentials_refused = "credentials_refused"


class ActivityEntry(Base):
    """One thing the sync did or found, for the people who run the shops."""

    __tablename__ = "marketplace_activity"
    __table_args__ = (Index("ix_marketplace_activity_connection_id", "connection_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace_connections.id", ondelete="CASCADE"))
    kind: Mapped[ActivityKind] = mapped_column(_enum(ActivityKind, 32))
    level: Mapped[ActivityLevel] = mapped_column(_enum(ActivityLevel, 16), default=ActivityLevel.info)
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
