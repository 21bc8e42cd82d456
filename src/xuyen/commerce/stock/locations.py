"""Locations (warehouses and stores that hold stock), which of them serve each sales channel, and the order in
which allocation tries them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import levels
from xuyen.commerce.stock.models import ChannelLocation, Location, LocationKind, StockLevel
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xuyen.stores import service as stores

EARTH_RADIUS_KM = 6371.0


class Place(Protocol):
    """What allocation order and distances need of a location (a ``Location`` or a row read with it)."""

    @property
    def id(self) -> int: ...
    @property
    def priority(self) -> int: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...


PlaceT = TypeVar("PlaceT", bound=Place)


def get(session: Session, *, location_id: int) -> Location:
    """The location with ``location_id``."""
    location = session.get(Location, location_id)
    if location is None:
        raise NotFound(f"There is no stock location {location_id}; list them at GET /api/v1/stock/locations.",
                       code="location_not_found")
    return location


def get_by_code(session: Session, *, code: str) -> Location:
    """The location with ``code`` (any case)."""
    location = session.scalar(select(Location).where(Location.code == code.strip().upper()))
    if location is None:
        raise NotFound(f"There is no stock location with code {code!r}.", code="location_not_found")
    return location


def list_all(session: Session, *, active_only: bool = False) -> list[Location]:
    """Every location, in allocation order (priority, then name)."""
    query = select(Location).order_by(Location.priority, Location.name, Location.id)
    if active_only:
        query = query.where(Location.is_active.is_(True))
    return list(session.scalars(query))


def location_of_store(session: Session, *, store_id: int) -> Location:
    """The stock location of a store (its till sells from it, its pickups are handed over from it)."""
    location = session.scalar(select(Location).where(Location.store_id == store_id))
    if location is None:
        raise NotFound(f"Store {store_id} has no stock location yet; create one with its store_id.",
                       code="store_location_not_found")
    return location


def add(session: Session, *, code: str, name: str, kind: LocationKind, store_id: int | None = None,
        province: str = "", address: str = "", latitude: float | None = None, longitude: float | None = None,
        priority: int = 100, ships: bool = True, pickup: bool = False) -> Location:
    """Add a location to the session's transaction (helper: no commit)."""
    code = code.strip().upper()
    if not code or len(code) > 32:
        raise ValidationFailed("A location needs a code (up to 32 characters).", code="invalid_location")
    _check_name(name)
    _check_coordinates(latitude, longitude)
    if session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise Conflict(f"A stock location with code {code} already exists.", code="location_exists")
    if store_id is not None:
        store = stores.get(session, store_id=store_id)
        if session.scalar(select(Location.id).where(Location.store_id == store_id)) is not None:
            raise Conflict(f"Store {store.code} already has a stock location.", code="store_location_exists")
        province = province or store.province
        address = address or store.address
        if latitude is None:
            latitude, longitude = store.latitude, store.longitude
    location = Location(code=code, name=name.strip(), kind=kind, store_id=store_id, province=province.strip(),
                        address=address, latitude=latitude, longitude=longitude, priority=priority, ships=ships,
                        pickup=pickup, is_active=True, created_at=utcnow())
    session.add(location)
    session.flush()
    return location


def create(session: Session, *, code: str, name: str, kind: LocationKind, store_id: int | None = None,
           province: str = "", address: str = "", latitude: float | None = None, longitude: float | None = None,
           priority: int = 100, ships: bool = True, pickup: bool = False) -> Location:
    """Create a stock location (a store's location takes the store's province, address and coordinates)."""
    location = add(session, code=code, name=name, kind=kind, store_id=store_id, province=province, address=address,
                   latitude=latitude, longitude=longitude, priority=priority, ships=ships, pickup=pickup)
    session.commit()
    return location


def change(session: Session, *, location_id: int, actor: str, name: str | None = None,
           province: str | None = None, address: str | None = None,
           coordinates: tuple[float, float] | Literal["keep"] | None = "keep", priority: int | None = None,
           ships: bool | None = None, pickup: bool | None = None, is_active: bool | None = None,
           scope_store_id: int | None = None) -> Location:
    """Change a location's details, its place in allocation, or whether it is open (None / "keep": unchanged),
    and write who did it to the audit log. A manager bound to a store (``scope_store_id``) may change only that
    store's location.

    Closing a location keeps its stock and its reservations but stops allocating from it; the channels it served
    are told their availability changed, as they are when it starts or stops shipping."""
    location = get(session, location_id=location_id)
    if scope_store_id is not None and location.store_id != scope_store_id:
        raise PermissionDenied(f"You work in another store; you cannot change {location.name}.",
                               code="location_out_of_scope")
    if priority is not None and not 0 <= priority <= 10_000:
        raise ValidationFailed("A location's priority is 0 to 10,000 (lower is tried first).",
                               code="invalid_location")
    given = {"name": None if name is None else _check_name(name),
             "province": None if province is None else province.strip()[:100],
             "address": None if address is None else address.strip()[:500],
             "priority": priority, "ships": ships, "pickup": pickup, "is_active": is_active}
    wanted: dict[str, object] = {key: value for key, value in given.items() if value is not None}
    if coordinates != "keep":
        latitude, longitude = coordinates if coordinates is not None else (None, None)
        _check_coordinates(latitude, longitude)
        wanted |= {"latitude": latitude, "longitude": longitude}
    changed = {key: value for key, value in wanted.items() if getattr(location, key) != value}
    serving_before = (location.is_active, location.ships)
    for key, value in changed.items():
        setattr(location, key, value)
    if (location.is_active, location.ships) != serving_before:
        levels.note_available_changed(session, session.scalars(
            select(StockLevel.variant_id).where(StockLevel.location_id == location.id)))
    if changed:
        audit.record(session, actor=actor, action="stock_location.changed", subject_type="stock_location",
                     subject_id=location.id, detail=changed)
    session.commit()
    return location


def _check_name(name: str) -> str:
    if not name.strip() or len(name) > 200:
        raise ValidationFailed("A location needs a name (up to 200 characters).", code="invalid_location")
    return name.strip()


def _check_coordinates(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None) or (latitude is not None and longitude is not None and not (
            -90 <= latitude <= 90 and -180 <= longitude <= 180)):
        raise ValidationFailed("Give both latitude (−90…90) and longitude (−180…180), or neither.",
                               code="invalid_location")


# Which locations serve a channel ----------------------------------------------------------------------


def default_serves(location: Location, channel: SalesChannel) -> bool:
    """The rule when a channel has no locations of its own: the tills sell from the stores, every other channel
    ships from the locations that ship."""
    if channel is SalesChannel.pos:
        return location.kind is LocationKind.store
    return location.ships


def serves(channel: SalesChannel) -> ColumnElement[bool]:
    """The condition on ``Location`` of the active locations serving ``channel``: its own locations if it has
    some, else the default rule (``default_serves``)."""
    chosen = select(ChannelLocation.location_id).where(ChannelLocation.channel == channel.value)
    configured = exists().where(ChannelLocation.channel == channel.value)
    default = Location.kind == LocationKind.store if channel is SalesChannel.pos else Location.ships.is_(True)
    return and_(Location.is_active.is_(True), or_(Location.id.in_(chosen), and_(~configured, default)))


def serving_locations(session: Session, *, channel: SalesChannel) -> list[Location]:
    """The active locations that serve ``channel``, in allocation order (priority, then id); one query."""
    query = select(Location).where(serves(channel)).order_by(Location.priority, Location.name, Location.id)
    return list(session.scalars(query))


def configured_channels(session: Session) -> dict[str, list[int]]:
    """The channels that have locations of their own, with those location ids."""
    found: dict[str, list[int]] = {}
    for channel, location_id in session.execute(select(ChannelLocation.channel, ChannelLocation.location_id)
                                                .order_by(ChannelLocation.channel, ChannelLocation.location_id)):
        found.setdefault(channel, []).append(location_id)
    return found


def set_channel_locations(session: Session, *, channel: SalesChannel,
                          location_ids: Sequence[int]) -> tuple[Literal["configured", "default"], list[int]]:
    """Make ``location_ids`` the locations serving ``channel`` (none: back to the default rule); returns the
    rule now in force and the active locations serving the channel."""
    for location_id in set(location_ids):
        get(session, location_id=location_id)
    session.execute(delete(ChannelLocation).where(ChannelLocation.channel == channel.value))
    session.add_all([ChannelLocation(channel=channel.value, location_id=location_id)
                     for location_id in sorted(set(location_ids))])
    levels.note_available_changed(session, session.scalars(select(StockLevel.variant_id).distinct()))
    session.commit()
    return channel_locations(session, channel=channel)


# Allocation order -------------------------------------------------------------------------------------


def distance_km(location: Place, near: tuple[float, float]) -> float | None:
    """The great-circle (haversine) distance from ``near`` (latitude, longitude) to the location, if it has
    coordinates."""
    if location.latitude is None or location.longitude is None:
        return None
    lat1, lon1 = math.radians(near[0]), math.radians(near[1])
    lat2, lon2 = math.radians(location.latitude), math.radians(location.longitude)
    a = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def allocation_order(locations: Sequence[PlaceT], *, near: tuple[float, float] | None) -> list[PlaceT]:
    """Locations in the order allocation tries them: lower priority first (the warehouse before the stores);
    among equal priorities the nearest to ``near`` (those without coordinates last), then by id."""
    def key(location: PlaceT) -> tuple[int, float, int]:
        distance = distance_km(location, near) if near is not None else 0.0
        return location.priority, math.inf if distance is None else distance, location.id

    return sorted(locations, key=key)


def channel_locations(session: Session, *,
                      channel: SalesChannel) -> tuple[Literal["configured", "default"], list[int]]:
    """Which locations serve ``channel`` and why: ``("configured", ids)`` or ``("default", ids)``."""
    configured = configured_channels(session).get(channel.value)
    return ("configured" if configured else "default",
            [location.id for location in serving_locations(session, channel=channel)])
