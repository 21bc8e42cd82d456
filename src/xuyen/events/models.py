"""Event tables: sources (one per channel instance), the event log, and quarantined events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


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


class EventType(enum.StrEnum):
    """The Segment spec's call types."""

    identify = "identify"
    track = "track"
    page = "page"
    screen = "screen"
    group = "group"
    alias = "alias"


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


class Event(Base):
    """One touchpoint in the append-only event log, shaped after the Segment spec.

    ``timestamp`` is when it happened, corrected for the client's clock skew; ``original_timestamp`` what
    the client said; ``sent_at`` when the client sent it; ``received_at`` when Xuyên received it.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(32))
    type: Mapped[EventType] = mapped_column(Enum(EventType, native_enum=False, length=16))
    event: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200))
    anonymous_id: Mapped[str | None] = mapped_column(String(200))
    previous_id: Mapped[str | None] = mapped_column(String(200))
    group_id: Mapped[str | None] = mapped_column(String(200))
    profile_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="SET NULL"))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    traits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    integrations: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    original_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("source_id", "message_id", name="uq_events_source_message"),
        Index("ix_events_user_id", "user_id"),
        Index("ix_events_anonymous_id", "anonymous_id"),
        Index("ix_events_event_timestamp", "event", "timestamp"),
        Index("ix_events_timestamp", "timestamp"),
        Index("ix_events_profile_timestamp", "profile_id", "timestamp"),
    )


class QuarantinedEvent(Base):
    """An item of an accepted request that was not valid: kept with its position and reason for review."""

    __tablename__ = "quarantined_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_quarantined_events_source_time", "source_id", "received_at"),)
