"""Stock tables: the locations that hold stock (warehouses and stores), the levels of each variant there, the ledger
of every movement, reservations, channel buffers, the locations serving each channel, and transfers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members])


class LocationKind(enum.StrEnum):
    """A warehouse ships orders; a store sells over the counter and may ship or hand over pickups too."""

    warehouse = "warehouse"
    store = "store"


class Location(Base):
    """A place that holds stock. A store's location names the store (``stores``) it belongs to.

    ``priority`` orders locations for allocation (lower first: the warehouse before the stores); ``ships`` says
    whether orders are shipped from here, ``pickup`` whether customers collect orders here.
    """

    __tablename__ = "stock_locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocationKind] = mapped_column(_enum(LocationKind))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"), unique=True)
    province: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float | None] = mapped_column()
    longitude: Mapped[float | None] = mapped_column()
    priority: Mapped[int] = mapped_column(Integer, default=100)
    ships: Mapped[bool] = mapped_column(Boolean, default=True)
    pickup: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MovementKind(enum.StrEnum):
    """Why a level changed: each ledger line is one of these."""

    receipt = "receipt"
    sale = "sale"
    reservation = "reservation"
    release = "release"
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    adjustment = "adjustment"
    return_ = "return"
    count_ = "count"


class ReservationStatus(enum.StrEnum):
    """An active reservation holds stock; the others are closed (given back, sold, or run out of time)."""

    active = "active"
    released = "released"
    fulfilled = "fulfilled"
    expired = "expired"


class TransferStatus(enum.StrEnum):
    """A transfer leaves its source when created and is in transit until the destination receives it."""

    in_transit = "in_transit"
    received = "received"


class StockLevel(Base):
    """How much of a variant a location has (``on_hand``) and how much of it is promised (``reserved``).

    ``available = on_hand - reserved`` is what can still be sold; the database refuses a row where it would be
    negative. Every change to a level writes ledger lines (``StockMovement``) whose deltas add up to it.
    """

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("variant_id", "location_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="not_oversold"),
        Index("ix_stock_levels_location_id", "location_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def available(self) -> int:
        """What can still be promised: on hand minus reserved."""
        return self.on_hand - self.reserved


class StockMovement(Base):
    """One line of the append-only stock ledger: what changed a level, by how much, who did it and why."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_variant_location", "variant_id", "location_id", "id"),
        Index("ix_stock_movements_reference", "reference"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"))
    kind: Mapped[MovementKind] = mapped_column(_enum(MovementKind))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    reference: Mapped[str] = mapped_column(String(100), default="")
    channel: Mapped[str | None] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reservation(Base):
    """Stock of one variant held at one location for a reference (an order number, a cart) until it is sold,
    released, or ``expires_at`` passes."""

    __tablename__ = "stock_reservations"
    __table_args__ = (
        Index("ix_stock_reservations_reference", "reference"),
        Index("ix_stock_reservations_expiring", "expires_at",
              postgresql_where=text("status = 'active' AND expires_at IS NOT NULL"),
              sqlite_where=text("status = 'active' AND expires_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(100))
    variant_id: Mapped[int] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(24))
    status: Mapped[ReservationStatus] = mapped_column(_enum(ReservationStatus), default=ReservationStatus.active)
    actor: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelBuffer(Base):
    """Safety stock kept back from a channel: ``quantity`` units fewer are offered there, for every variant
    (``variant_id`` empty) or for one variant (which then replaces the channel-wide buffer)."""

    __tablename__ = "stock_channel_buffers"
    __table_args__ = (
        UniqueConstraint("channel", "variant_id"),
        Index("uq_stock_channel_buffers_channel_wide", "channel", unique=True,
              postgresql_where=text("variant_id IS NULL"), sqlite_where=text("variant_id IS NULL")),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(24))
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChannelLocation(Base):
    """A location that serves a channel. A channel with no rows here is served by the default rule (see
    ``xuyen.commerce.stock.channels``)."""

    __tablename__ = "stock_channel_locations"
    __table_args__ = (UniqueConstraint("channel", "location_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(24))
    location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="CASCADE"))


class Transfer(Base):
    """Stock sent from one location to another: out of the source when sent, into the destination when it
    arrives."""

    __tablename__ = "stock_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="RESTRICT"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("stock_locations.id", ondelete="RESTRICT"))
    status: Mapped[TransferStatus] = mapped_column(_enum(TransferStatus), default=TransferStatus.in_transit)
    lines: Mapped[list[dict[str, int]]] = mapped_column(JSONType, default=list)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
