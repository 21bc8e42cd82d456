"""Stock API bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock.models import (
    ChannelBuffer,
    Location,
    LocationKind,
    Reservation,
    StockMovement,
    Transfer,
)
from xuyen.commerce.stock.queries import LevelView, LocationStock, SkuAvailability
from xuyen.commerce.stock.service import MAX_LINES, MAX_QUANTITY, StockLine

Quantity = Field(ge=1, le=MAX_QUANTITY, description="Whole units.")
Id = Field(ge=1, le=2**31 - 1)


class LineIn(BaseModel):
    """A quantity of one variant."""

    model_config = ConfigDict(extra="forbid")

    variant_id: int = Id
    quantity: int = Quantity


def _lines(lines: list[LineIn]) -> list[StockLine]:
    return [StockLine(line.variant_id, line.quantity) for line in lines]


class ReceiptIn(BaseModel):
    """Goods in at a location."""

    model_config = ConfigDict(extra="forbid")

    location_id: int = Id
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    reference: str = Field(default="", max_length=100, examples=["PN-2026-0012"])
    reason: str = Field(default="", max_length=500)

    def stock_lines(self) -> list[StockLine]:
        """The lines as the service takes them."""
        return _lines(self.lines)


class AdjustmentIn(BaseModel):
    """A correction (``delta``: damage, loss, found) or a count (``counted``: what is on the shelf)."""

    model_config = ConfigDict(extra="forbid")

    location_id: int = Id
    variant_id: int = Id
    delta: int | None = Field(default=None, ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    counted: int | None = Field(default=None, ge=0, le=MAX_QUANTITY)
    reason: str = Field(default="", max_length=500, examples=["Hàng lỗi"])

    @model_validator(mode="after")
    def _one_of(self) -> AdjustmentIn:
        if (self.delta is None) == (self.counted is None):
            raise ValueError("give either delta (a correction) or counted (a count), not both")
        return self


class TransferIn(BaseModel):
    """Stock sent between two locations; ``received`` books the arrival at once."""

    model_config = ConfigDict(extra="forbid")

    from_location_id: int = Id
    to_location_id: int = Id
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    reason: str = Field(default="", max_length=500)
    received: bool = False

    def stock_lines(self) -> list[StockLine]:
        """The lines as the service takes them."""
        return _lines(self.lines)


class LocationIn(BaseModel):
    """A new stock location."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, examples=["KHO-HCM"])
    name: str = Field(min_length=1, max_length=200, examples=["Kho Thủ Đức"])
    kind: LocationKind
    store_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    province: str = Field(default="", max_length=100)
    address: str = Field(default="", max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    priority: int = Field(default=100, ge=0, le=10_000)
    ships: bool = True
    pickup: bool = False


class LocationChange(BaseModel):
    """What to change of a stock location: only the fields given. Coordinates come as a pair; both null clears
    them. ``is_active: false`` closes it (its stock stays, nothing more is allocated from it)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    province: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    priority: int | None = Field(default=None, ge=0, le=10_000)
    ships: bool | None = None
    pickup: bool | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _coordinates_come_as_a_pair(self) -> LocationChange:
        if self.coordinates() != "keep" and (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or both as null to clear them")
        return self

    def coordinates(self) -> tuple[float, float] | Literal["keep"] | None:
        """The new coordinates, None to clear them, or "keep" when neither was given."""
        if not {"latitude", "longitude"} & self.model_fields_set:
            return "keep"
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude


class LocationOut(BaseModel):
    """A stock location."""

    id: int
    code: str
    name: str
    kind: LocationKind
    store_id: int | None
    province: str
    address: str
    latitude: float | None
    longitude: float | None
    priority: int
    ships: bool
    pickup: bool
    is_active: bool

    @classmethod
    def of(cls, location: Location) -> LocationOut:
        """The answer for ``location``."""
        return cls(id=location.id, code=location.code, name=location.name, kind=location.kind,
                   store_id=location.store_id, province=location.province, address=location.address,
                   latitude=location.latitude, longitude=location.longitude, priority=location.priority,
                   ships=location.ships, pickup=location.pickup, is_active=location.is_active)


class LocationStockOut(BaseModel):
    """A SKU's availability at one location, for customers."""

    location_id: int
    code: str
    name: str
    kind: LocationKind
    province: str
    address: str
    available: int
    pickup: bool
    distance_km: float | None

    @classmethod
    def of(cls, row: LocationStock) -> LocationStockOut:
        """The answer for ``row``."""
        place = row.location
        return cls(location_id=place.id, code=place.code, name=place.name, kind=place.kind, province=place.province,
                   address=place.address, available=row.available, pickup=place.pickup, distance_km=row.distance_km)


class AvailabilityOut(BaseModel):
    """A SKU's availability per location, nearest (or same province) first."""

    variant_id: int
    sku: str
    name: str
    locations: list[LocationStockOut]

    @classmethod
    def of(cls, found: SkuAvailability) -> AvailabilityOut:
        """The answer for ``found``."""
        variant = found.variant
        name = f"{variant.product_name} ({variant.label})" if variant.label else variant.product_name
        return cls(variant_id=variant.variant_id, sku=variant.sku, name=name,
                   locations=[LocationStockOut.of(row) for row in found.locations])


class LevelOut(BaseModel):
    """A variant's stock at one location."""

    variant_id: int
    sku: str
    product_name: str
    variant_label: str
    location_id: int
    location_code: str
    on_hand: int
    reserved: int
    available: int

    @classmethod
    def of(cls, row: LevelView) -> LevelOut:
        """The answer for ``row``."""
        return cls(variant_id=row.variant.variant_id, sku=row.variant.sku, product_name=row.variant.product_name,
                   variant_label=row.variant.label, location_id=row.location_id, location_code=row.location_code,
                   on_hand=row.on_hand, reserved=row.reserved, available=row.available)


class MovementOut(BaseModel):
    """One ledger line."""

    id: int
    variant_id: int
    location_id: int
    kind: str
    on_hand_delta: int
    reserved_delta: int
    reference: str
    channel: str | None
    actor: str
    reason: str
    at: datetime

    @classmethod
    def of(cls, row: StockMovement) -> MovementOut:
        """The answer for ``row``."""
        return cls(id=row.id, variant_id=row.variant_id, location_id=row.location_id, kind=row.kind.value,
                   on_hand_delta=row.on_hand_delta, reserved_delta=row.reserved_delta, reference=row.reference,
                   channel=row.channel, actor=row.actor, reason=row.reason, at=row.at)


class ReservationOut(BaseModel):
    """A reservation."""

    id: int
    reference: str
    variant_id: int
    location_id: int
    quantity: int
    channel: str
    status: str
    actor: str
    expires_at: datetime | None
    created_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, row: Reservation) -> ReservationOut:
        """The answer for ``row``."""
        return cls(id=row.id, reference=row.reference, variant_id=row.variant_id, location_id=row.location_id,
                   quantity=row.quantity, channel=row.channel, status=row.status.value, actor=row.actor,
                   expires_at=row.expires_at, created_at=row.created_at, closed_at=row.closed_at)


class TransferOut(BaseModel):
    """A transfer between two locations."""

    id: int
    from_location_id: int
    to_location_id: int
    status: str
    lines: list[LineIn]
    actor: str
    reason: str
    created_at: datetime
    received_at: datetime | None

    @classmethod
    def of(cls, row: Transfer) -> TransferOut:
        """The answer for ``row``."""
        return cls(id=row.id, from_location_id=row.from_location_id, to_location_id=row.to_location_id,
                   status=row.status.value, lines=[LineIn(**line) for line in row.lines], actor=row.actor,
                   reason=row.reason, created_at=row.created_at, received_at=row.received_at)


class BufferIn(BaseModel):
    """Units kept back from a channel, for every variant or for one."""

    model_config = ConfigDict(extra="forbid")

    channel: SalesChannel
    variant_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    quantity: int = Field(ge=0, le=1_000_000, examples=[2])


class BufferOut(BaseModel):
    """A channel buffer."""

    id: int
    channel: str
    variant_id: int | None
    quantity: int

    @classmethod
    def of(cls, row: ChannelBuffer) -> BufferOut:
        """The answer for ``row``."""
        return cls(id=row.id, channel=row.channel, variant_id=row.variant_id, quantity=row.quantity)


class ChannelLocationsIn(BaseModel):
    """The locations serving a channel; empty: the default rule."""

    model_config = ConfigDict(extra="forbid")

    location_ids: list[int] = Field(max_length=200)


class ChannelLocationsOut(BaseModel):
    """The locations serving a channel, and whether they are its own choice or the default rule."""

    channel: str
    rule: Literal["configured", "default"]
    location_ids: list[int]
