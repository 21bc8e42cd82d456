"""Event tables: sources (one per channel instance)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, UTCDateTime


class ChannelType(enum.StrEnum):
    web = "web"
    app = "app"
    pos = "pos"
    shopee = "shopee"
    lazada = "lazada"
    tiktok_shop = "tiktok_shop"
    messenger = "messenger"
    zalo = "zalo"
    whatsapp = "whatsapp"
    email = "email"
    sms = "sms"
    api = "api"


class Source(Base):
    """One channel instance (the website, a store's POS, the Shopee shop, the Zalo OA, …)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[ChannelType] = mapped_column(Enum(ChannelType, native_enum=False, length=32))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    write_key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    write_key_hash: Mapped[str] = mapped_column(String(128))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
