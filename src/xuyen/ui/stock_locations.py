"""Stock location pages (managers): the warehouses and stores in allocation order, adding and changing them,
closing one, and the locations each sales channel sells from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import locations
from xuyen.commerce.stock.models import LocationKind
from xuyen.errors import XuyenError
from xuyen.i18n import N_, gettext
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.stores import service as stores
from xuyen.ui.deps import check_csrf
from xuyen.ui.rendering import render
from xuyen.ui.stock import CHANNEL_NAMES, DbSession, FormText, ManagerViewer, RowId

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

KIND_NAMES: dict[str, str] = {"warehouse": N_("Warehouse"), "store": N_("Store")}
FormList = Annotated[list[str], Form(max_length=200)]


def _list_page(request: Request, session: Session, *, error: str = "", form: dict[str, Any] | None = None,
               status_code: int = 200) -> Response:
    places = locations.list_all(session)
    taken = {place.store_id for place in places if place.store_id is not None}
    channels = [(channel, *locations.channel_locations(session, channel=channel)) for channel in SalesChannel]
    context = {"places": places, "kinds": list(LocationKind), "kind_names": KIND_NAMES, "error": error,
               "form": form or {}, "free_stores": [store for store in stores.list_all(session, active_only=True)
                                                   if store.id not in taken],
               "channels": channels, "channel_names": CHANNEL_NAMES,
               "store_names": {store.id: store.name for store in stores.list_all(session)}}
    return render(request, "stock/locations.html", context, status_code=status_code)


@router.get("/stock/locations")
def locations_page(request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """The locations in allocation order, a form to add one, and the locations serving each channel."""
    return _list_page(request, session)


@router.post("/stock/locations")
def add_location(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
                 code: FormText = "", name: FormText = "", kind: FormText = "", store_id: FormText = "",
                 province: FormText = "", address: FormText = "", latitude: FormText = "",
                 longitude: FormText = "", priority: FormText = "100", ships: FormText = "",
                 pickup: FormText = "") -> Response:
    """Add a location from the form."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"code": code, "name": name, "kind": kind, "store_id": store_id, "province": province,
            "address": address, "latitude": latitude, "longitude": longitude, "priority": priority, "ships": ships,
            "pickup": pickup}
    try:
        if kind not in {item.value for item in LocationKind}:
            raise XuyenError(gettext("Choose whether it is a warehouse or a store."), code="invalid_location")
        coordinates = _coordinates(latitude, longitude)
        place = locations.create(session, code=code, name=name, kind=LocationKind(kind),
                                 store_id=_optional_id(store_id), province=province, address=address,
                                 latitude=coordinates[0] if coordinates else None,
                                 longitude=coordinates[1] if coordinates else None, priority=_priority(priority),
                                 ships=ships == "on", pickup=pickup == "on")
    except XuyenError as exc:
        session.rollback()
        return _list_page(request, session, error=exc.message, form=form, status_code=exc.status)
    return RedirectResponse(f"/stock/locations/{place.id}?saved=1", status_code=303)


def _edit_page(request: Request, session: Session, *, location_id: int, error: str = "",
               form: dict[str, Any] | None = None, saved: bool = False, status_code: int = 200) -> Response:
    place = locations.get(session, location_id=location_id)
    store = stores.get(session, store_id=place.store_id) if place.store_id is not None else None
    context = {"place": place, "store": store, "kind_names": KIND_NAMES, "error": error, "form": form,
               "saved": saved}
    return render(request, "stock/location.html", context, status_code=status_code)


@router.get("/stock/locations/{location_id}")
def location_page(request: Request, session: DbSession, _viewer: ManagerViewer, location_id: RowId,
                  saved: str = "") -> Response:
    """One location's details, to change them or to close or reopen it."""
    return _edit_page(request, session, location_id=location_id, saved=saved == "1")


@router.post("/stock/locations/{location_id}")
def change_location(request: Request, session: DbSession, viewer: ManagerViewer, location_id: RowId,
                    csrf_token: FormText = "", name: FormText = "", province: FormText = "",
                    address: FormText = "", latitude: FormText = "", longitude: FormText = "",
                    priority: FormText = "", ships: FormText = "", pickup: FormText = "",
                    is_active: FormText = "") -> Response:
    """Save the location's form (every field is sent; unticked boxes mean no)."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"name": name, "province": province, "address": address, "latitude": latitude, "longitude": longitude,
            "priority": priority, "ships": ships, "pickup": pickup, "is_active": is_active}
    try:
        locations.change(session, location_id=location_id, actor=actor_name(viewer.principal), name=name,
                         province=province, address=address, coordinates=_coordinates(latitude, longitude),
                         priority=_priority(priority), ships=ships == "on", pickup=pickup == "on",
                         is_active=is_active == "on", scope_store_id=viewer.principal.store_id)
    except XuyenError as exc:
        session.rollback()
        if exc.code == "location_not_found":
            raise  # the error page
        return _edit_page(request, session, location_id=location_id, error=exc.message, form=form,
                          status_code=exc.status)
    return RedirectResponse(f"/stock/locations/{location_id}?saved=1", status_code=303)


@router.post("/stock/locations/channels/{channel}")
def set_channel_locations(request: Request, session: DbSession, viewer: ManagerViewer, channel: SalesChannel,
                          csrf_token: FormText = "", location_id: FormList = []) -> Response:  # noqa: B006
    """Choose the locations a channel sells from (none ticked: back to the default rule)."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        ids = [_required_id(value) for value in location_id]
        locations.set_channel_locations(session, channel=channel, location_ids=ids)
    except XuyenError as exc:
        session.rollback()
        return _list_page(request, session, error=exc.message, status_code=exc.status)
    return RedirectResponse("/stock/locations#channels", status_code=303)


def _priority(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or int(text) > 10_000:
        raise XuyenError(gettext("The priority is a whole number from 0 to 10,000 (lower is tried first)."),
                         code="invalid_location")
    return int(text)


def _coordinates(latitude: str, longitude: str) -> tuple[float, float] | None:
    """Both coordinates as numbers, or None when both are empty."""
    if not latitude.strip() and not longitude.strip():
        return None
    try:
        pair = float(latitude.replace(",", ".")), float(longitude.replace(",", "."))
    except ValueError:
        pair = (999.0, 999.0)
    if not (-90 <= pair[0] <= 90 and -180 <= pair[1] <= 180):
        raise XuyenError(gettext("Give both latitude (−90 to 90) and longitude (−180 to 180), or neither."),
                         code="invalid_location")
    return pair


def _optional_id(value: str) -> int | None:
    return _required_id(value) if value.strip() else None


def _required_id(value: str) -> int:
    text = value.strip()
    if not text.isdigit() or len(text) > 9:
        raise XuyenError(gettext("Choose from the list."), code="invalid_location")
    return int(text)

