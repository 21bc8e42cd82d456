"""The stock API: a SKU's stock per location for customers, and for staff the levels, the ledger, reservations,
goods in, adjustments and counts, transfers, channel buffers and the locations serving each channel."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import buffers, locations, moves, queries, service
from xuyen.commerce.stock.models import MovementKind, ReservationStatus
from xuyen.commerce.stock.schemas import (
    AdjustmentIn,
    AvailabilityOut,
    BufferIn,
    BufferOut,
    ChannelLocationsIn,
    ChannelLocationsOut,
    LevelOut,
    LocationChange,
    LocationIn,
    LocationOut,
    MovementOut,
    ReceiptIn,
    ReservationOut,
    TransferIn,
    TransferOut,
)
from xuyen.http import get_session
from xuyen.identity.service import actor_name
from xuyen.routing import Router

router = Router(prefix="/stock", tags=["stock"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_PAGE)]
Text100 = Annotated[str, Query(max_length=100)]


@router.get("/availability", summary="A SKU's stock per location, for customers (no sign-in)")
def availability(session: Db, sku: Annotated[str, Query(min_length=1, max_length=64)],
                 province: Annotated[str, Query(max_length=100)] = "",
                 lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
                 lng: Annotated[float | None, Query(ge=-180, le=180)] = None) -> AvailabilityOut:
    """Every open location with how many are available and whether it hands over pickups; nearest to
    ``lat``/``lng`` first when given (both), else the locations of ``province`` first."""
    near = (lat, lng) if lat is not None and lng is not None else None
    return AvailabilityOut.of(queries.availability_for_sku(session, sku=sku, near=near, province=province))


@router.get("/locations", summary="Stock locations in allocation order")
def list_locations(session: Db, _caller: Agent) -> list[LocationOut]:
    return [LocationOut.of(location) for location in locations.list_all(session)]


@router.post("/locations", status_code=201, summary="Add a stock location")
def create_location(body: LocationIn, session: Db, _caller: Manager) -> LocationOut:
    return LocationOut.of(locations.create(session, **body.model_dump()))


@router.get("/locations/{location_id}", summary="One stock location")
def get_location(location_id: RowId, session: Db, _caller: Agent) -> LocationOut:
    return LocationOut.of(locations.get(session, location_id=location_id))


@router.patch("/locations/{location_id}", summary="Change a stock location (details, priority, open or closed)")
def change_location(location_id: RowId, body: LocationChange, session: Db, caller: Manager) -> LocationOut:
    fields = body.model_dump(include={"name", "province", "address", "priority", "ships", "pickup", "is_active"})
    return LocationOut.of(locations.change(session, location_id=location_id, actor=actor_name(caller),
                                           coordinates=body.coordinates(), scope_store_id=caller.store_id,
                                           **fields))


@router.get("/levels", summary="Stock levels (on hand, reserved, available) by SKU and location")
def list_levels(session: Db, _caller: Agent, search: Text100 = "", variant_id: OptionalId = None,
                location_id: OptionalId = None, limit: Limit = 100,
                offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[LevelOut]:
    rows = queries.list_levels(session, search=search, variant_id=variant_id, location_id=location_id, limit=limit,
                               offset=offset)
    return [LevelOut.of(row) for row in rows]


@router.get("/ledger", summary="The stock ledger, newest first")
def ledger(session: Db, _caller: Agent, variant_id: OptionalId = None, location_id: OptionalId = None,
           reference: Text100 = "", kind: MovementKind | None = None,
           before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None, limit: Limit = 100) -> list[MovementOut]:
    rows = queries.ledger(session, variant_id=variant_id, location_id=location_id, reference=reference, kind=kind,
                          before_id=before_id, limit=limit)
    return [MovementOut.of(row) for row in rows]


@router.get("/reservations", summary="Reservations, newest first")
def list_reservations(session: Db, _caller: Agent, reference: Text100 = "", status: ReservationStatus | None = None,
                      variant_id: OptionalId = None, location_id: OptionalId = None,
                      limit: Limit = 100) -> list[ReservationOut]:
    rows = queries.list_reservations(session, reference=reference, status=status, variant_id=variant_id,
                                     location_id=location_id, limit=limit)
    return [ReservationOut.of(row) for row in rows]


@router.get("/available", summary="What a channel may offer of each variant (after its buffer)")
def available(session: Db, _caller: Agent, channel: SalesChannel,
              variant_id: Annotated[list[int], Query(min_length=1, max_length=500)]) -> dict[int, int]:
    return service.available_for_channel(session, channel=channel, variant_ids=variant_id)


@router.post("/receipts", status_code=201, summary="Goods in at a location")
def receive(body: ReceiptIn, session: Db, caller: Manager) -> list[MovementOut]:
    made = moves.receive(session, location_id=body.location_id, lines=body.stock_lines(), actor=actor_name(caller),
                         reference=body.reference, reason=body.reason, scope_store_id=caller.store_id)
    return [MovementOut.of(row) for row in made]


@router.post("/adjustments", status_code=201, summary="Correct (delta) or count (counted) a variant at a location")
def adjust(body: AdjustmentIn, session: Db, caller: Manager) -> list[MovementOut]:
    """A correction needs a reason; a count that finds what was expected writes no ledger line."""
    if body.counted is not None:
        counted = moves.count(session, location_id=body.location_id, variant_id=body.variant_id, counted=body.counted,
                              actor=actor_name(caller), reason=body.reason, scope_store_id=caller.store_id)
        return [MovementOut.of(counted)] if counted is not None else []
    movement = moves.adjust(session, location_id=body.location_id, variant_id=body.variant_id, delta=body.delta or 0,
                            actor=actor_name(caller), reason=body.reason, scope_store_id=caller.store_id)
    return [MovementOut.of(movement)]


@router.get("/transfers", summary="Transfers, newest first")
def list_transfers(session: Db, _caller: Agent, limit: Limit = 100) -> list[TransferOut]:
    return [TransferOut.of(row) for row in moves.list_transfers(session, limit=limit)]


@router.post("/transfers", status_code=201, summary="Send stock to another location")
def create_transfer(body: TransferIn, session: Db, caller: Manager) -> TransferOut:
    return TransferOut.of(moves.transfer(session, from_location_id=body.from_location_id,
                                         to_location_id=body.to_location_id, lines=body.stock_lines(),
                                         actor=actor_name(caller), reason=body.reason, received=body.received,
                                         scope_store_id=caller.store_id))


@router.post("/transfers/{transfer_id}/receive", summary="Book a transfer's arrival")
def receive_transfer(transfer_id: RowId, session: Db, caller: Manager) -> TransferOut:
    return TransferOut.of(moves.receive_transfer(session, transfer_id=transfer_id, actor=actor_name(caller),
                                                 scope_store_id=caller.store_id))


@router.get("/buffers", summary="Channel buffers")
def list_buffers(session: Db, _caller: Agent) -> list[BufferOut]:
    return [BufferOut.of(row) for row in buffers.list_buffers(session)]


@router.put("/buffers", summary="Keep units back from a channel (for every variant, or one)")
def set_buffer(body: BufferIn, session: Db, caller: Manager) -> BufferOut:
    return BufferOut.of(buffers.set_buffer(session, channel=body.channel, quantity=body.quantity,
                                           variant_id=body.variant_id, actor=actor_name(caller)))


@router.delete("/buffers/{buffer_id}", status_code=204, summary="Stop keeping a buffer back")
def delete_buffer(buffer_id: RowId, session: Db, caller: Manager) -> None:
    buffers.delete_buffer(session, buffer_id=buffer_id, actor=actor_name(caller))


@router.get("/channels/{channel}/locations", summary="The locations serving a channel")
def get_channel_locations(channel: SalesChannel, session: Db, _caller: Agent) -> ChannelLocationsOut:
    rule, ids = locations.channel_locations(session, channel=channel)
    return ChannelLocationsOut(channel=channel.value, rule=rule, location_ids=ids)


@router.put("/channels/{channel}/locations", summary="Choose the locations serving a channel (empty: default)")
def set_channel_locations(channel: SalesChannel, body: ChannelLocationsIn, session: Db,
                          _caller: Manager) -> ChannelLocationsOut:
    rule, ids = locations.set_channel_locations(session, channel=channel, location_ids=body.location_ids)
    return ChannelLocationsOut(channel=channel.value, rule=rule, location_ids=ids)
