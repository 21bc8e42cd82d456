"""Stock pages: the grid of variants × locations, a variant's ledger, the goods-in / adjustment / transfer forms,
and the channel buffers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import buffers, locations, moves, queries
from xuyen.commerce.stock.models import TransferStatus
from xuyen.commerce.stock.service import StockLine
from xuyen.errors import XuyenError
from xuyen.http import get_session
from xuyen.i18n import N_, gettext
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
AgentViewer = Annotated[Viewer, Depends(page_role(Role.agent))]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
FormText = Annotated[str, Form(max_length=1000)]
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]

KIND_NAMES: dict[str, str] = {
    "receipt": N_("Goods in"), "sale": N_("Sale"), "reservation": N_("Reserved"), "release": N_("Released"),
    "transfer_out": N_("Transfer out"), "transfer_in": N_("Transfer in"), "adjustment": N_("Adjustment"),
    "return": N_("Return"), "count": N_("Count"),
}
CHANNEL_NAMES: dict[str, str] = {
    "web": N_("Website"), "app": N_("App"), "pos": N_("Store POS"), "chat": N_("Chat"), "shopee": "Shopee",
    "lazada": "Lazada", "tiktok_shop": "TikTok Shop",
}


@router.get("/stock")
def stock_page(request: Request, session: DbSession, _viewer: AgentViewer,
               q: Annotated[str, Query(max_length=100)] = "") -> Response:
    """Variants × locations with on hand, reserved and available; filter by SKU, barcode or product."""
    return render(request, "stock/grid.html", {"grid": queries.grid(session, search=q), "q": q})


@router.get("/stock/variants/{variant_id}")
def variant_ledger(request: Request, session: DbSession, _viewer: AgentViewer, variant_id: RowId) -> Response:
    """A variant's levels per location and its ledger, newest first."""
    names = queries.variant_names(session, variant_ids=[variant_id])
    if variant_id not in names:
        return render(request, "error.html", {"status": 404, "code": "variant_not_found", "request_id": "",
                                              "detail": gettext("There is no such variant.")}, status_code=404)
    context = {"variant": names[variant_id], "levels": queries.list_levels(session, variant_id=variant_id),
               "movements": queries.ledger(session, variant_id=variant_id, limit=200),
               "locations": {place.id: place for place in locations.list_all(session)}, "kind_names": KIND_NAMES}
    return render(request, "stock/ledger.html", context)


# Goods in, adjustments, transfers ----------------------------------------------------------------------


def _moves_page(request: Request, session: Session, *, error: str = "", form: dict[str, Any] | None = None,
                done: str = "", status_code: int = 200) -> Response:
    context = {"locations": locations.list_all(session, active_only=True), "error": error, "form": form or {},
               "done": done, "in_transit": moves.list_transfers(session, status=TransferStatus.in_transit)}
    return render(request, "stock/moves.html", context, status_code=status_code)


@router.get("/stock/moves")
def moves_page(request: Request, session: DbSession, _viewer: ManagerViewer,
               done: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Forms for goods in, adjustments and counts, and transfers; the transfers still in transit."""
    return _moves_page(request, session, done=done)


def _number(value: str, *, signed: bool = False) -> int:
    text = value.strip()
    digits = text[1:] if signed and text[:1] in "+-" else text
    if not digits.isdigit() or len(digits) > 7:
        raise XuyenError(gettext("Give a whole number of units."), code="invalid_quantity")
    return int(text)


def _location_id(value: str) -> int:
    if not value.strip().isdigit() or len(value.strip()) > 9:
        raise XuyenError(gettext("Choose a location."), code="invalid_location")
    return int(value)


@router.post("/stock/moves/receive")
def receive(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
            location_id: FormText = "", sku: FormText = "", quantity: FormText = "", reference: FormText = "",
            reason: FormText = "") -> Response:
    """Goods in from the form."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"action": "receive", "location_id": location_id, "sku": sku, "quantity": quantity,
            "reference": reference, "reason": reason}
    try:
        variant = queries.find_variant(session, code=sku)
        moves.receive(session, location_id=_location_id(location_id),
                      lines=[StockLine(variant.variant_id, _number(quantity))], actor=actor_name(viewer.principal),
                      reference=reference, reason=reason, scope_store_id=viewer.principal.store_id)
    except XuyenError as exc:
        session.rollback()
        return _moves_page(request, session, error=exc.message, form=form, status_code=exc.status)
    return RedirectResponse("/stock/moves?done=receive", status_code=303)


@router.post("/stock/moves/adjust")
def adjust(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
           location_id: FormText = "", sku: FormText = "", mode: FormText = "delta", quantity: FormText = "",
           reason: FormText = "") -> Response:
    """An adjustment (a change, with its reason) or a count (what is on the shelf) from the form."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"action": "adjust", "location_id": location_id, "sku": sku, "mode": mode, "quantity": quantity,
            "reason": reason}
    try:
        variant = queries.find_variant(session, code=sku)
        place, actor, scope = _location_id(location_id), actor_name(viewer.principal), viewer.principal.store_id
        if mode == "count":
            moves.count(session, location_id=place, variant_id=variant.variant_id, counted=_number(quantity),
                        actor=actor, reason=reason, scope_store_id=scope)
        else:
            moves.adjust(session, location_id=place, variant_id=variant.variant_id,
                         delta=_number(quantity, signed=True), actor=actor, reason=reason, scope_store_id=scope)
    except XuyenError as exc:
        session.rollback()
        return _moves_page(request, session, error=exc.message, form=form, status_code=exc.status)
    return RedirectResponse("/stock/moves?done=adjust", status_code=303)


@router.post("/stock/moves/transfer")
def transfer(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
             from_location_id: FormText = "", to_location_id: FormText = "", sku: FormText = "",
             quantity: FormText = "", reason: FormText = "", received: FormText = "") -> Response:
    """A transfer from the form (received at once when ticked)."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"action": "transfer", "from_location_id": from_location_id, "to_location_id": to_location_id,
            "sku": sku, "quantity": quantity, "reason": reason, "received": received}
    try:
        variant = queries.find_variant(session, code=sku)
        moves.transfer(session, from_location_id=_location_id(from_location_id),
                       to_location_id=_location_id(to_location_id),
                       lines=[StockLine(variant.variant_id, _number(quantity))], actor=actor_name(viewer.principal),
                       reason=reason, received=received == "on", scope_store_id=viewer.principal.store_id)
    except XuyenError as exc:
        session.rollback()
        return _moves_page(request, session, error=exc.message, form=form, status_code=exc.status)
    return RedirectResponse("/stock/moves?done=transfer", status_code=303)


@router.post("/stock/transfers/{transfer_id}/receive")
def receive_transfer(request: Request, session: DbSession, viewer: ManagerViewer, transfer_id: RowId,
                     csrf_token: FormText = "") -> Response:
    """Book a transfer's arrival."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        moves.receive_transfer(session, transfer_id=transfer_id, actor=actor_name(viewer.principal),
                               scope_store_id=viewer.principal.store_id)
    except XuyenError as exc:
        session.rollback()
        return _moves_page(request, session, error=exc.message, status_code=exc.status)
    return RedirectResponse("/stock/moves?done=arrived", status_code=303)


# Buffers -----------------------------------------------------------------------------------------------


def _buffers_page(request: Request, session: Session, *, error: str = "", form: dict[str, Any] | None = None,
                  status_code: int = 200) -> Response:
    rows = buffers.list_buffers(session)
    names = queries.variant_names(session, variant_ids=[row.variant_id for row in rows if row.variant_id])
    context = {"buffers": rows, "names": names, "channels": list(SalesChannel), "channel_names": CHANNEL_NAMES,
               "error": error, "form": form or {}}
    return render(request, "stock/buffers.html", context, status_code=status_code)


@router.get("/stock/buffers")
def buffers_page(request: Request, session: DbSession, _viewer: ManagerViewer) -> Response:
    """The units kept back from each channel, and a form to change them."""
    return _buffers_page(request, session)


@router.post("/stock/buffers")
def set_buffer(request: Request, session: DbSession, viewer: ManagerViewer, csrf_token: FormText = "",
               channel: FormText = "", sku: FormText = "", quantity: FormText = "") -> Response:
    """Keep units back from a channel (for every variant, or for the SKU given)."""
    check_csrf(viewer.auth_session, csrf_token)
    form = {"channel": channel, "sku": sku, "quantity": quantity}
    try:
        if channel not in {item.value for item in SalesChannel}:
            raise XuyenError(gettext("Choose a channel."), code="invalid_channel")
        variant_id = queries.find_variant(session, code=sku).variant_id if sku.strip() else None
        buffers.set_buffer(session, channel=SalesChannel(channel), quantity=_number(quantity), variant_id=variant_id,
                           actor=actor_name(viewer.principal))
    except XuyenError as exc:
        session.rollback()
        return _buffers_page(request, session, error=exc.message, form=form, status_code=exc.status)
    return RedirectResponse("/stock/buffers", status_code=303)


@router.post("/stock/buffers/{buffer_id}/delete")
def delete_buffer(request: Request, session: DbSession, viewer: ManagerViewer, buffer_id: RowId,
                  csrf_token: FormText = "") -> Response:
    """Stop keeping a buffer back."""
    check_csrf(viewer.auth_session, csrf_token)
    try:
        buffers.delete_buffer(session, buffer_id=buffer_id, actor=actor_name(viewer.principal))
    except XuyenError as exc:
        session.rollback()
        return _buffers_page(request, session, error=exc.message, status_code=exc.status)
    return RedirectResponse("/stock/buffers", status_code=303)
