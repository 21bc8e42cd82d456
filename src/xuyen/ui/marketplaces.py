"""The Marketplaces page: each connected Shopee and Lazada shop with its sync state, the activity log with
filters, buttons to recover orders or reconcile stock now (managers), and connecting or disconnecting a shop
(owners)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from xuyen.auth.models import Role
from xuyen.commerce.marketplaces import service
from xuyen.commerce.marketplaces.models import ActivityEntry, ActivityKind, ActivityLevel
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xuyen.http import get_session
from xuyen.i18n import N_, gettext
from xuyen.identity.service import actor_name
from xuyen.routing import Router
from xuyen.ui.deps import Viewer, check_csrf, page_role
from xuyen.ui.rendering import render

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
OwnerViewer = Annotated[Viewer, Depends(page_role(Role.owner))]
FormText = Annotated[str, Form(max_length=2000)]
ConnectionId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]

KIND_NAMES: dict[str, str] = {
    "connected": N_("Connected"), "disconnected": N_("Disconnected"), "push_received": N_("Push received"),
    "order_imported": N_("Order imported"), "order_updated": N_("Order updated"),
    "order_failed": N_("Order not imported"), "orders_recovered": N_("Orders recovered"),
    "sync_failed": N_("Sync failed"), "stock_sent": N_("Stock sent"), "stock_failed": N_("Stock refused"),
    "stock_retry": N_("Stock push retried"), "drift_found": N_("Stock drift"), "reconciled": N_("Reconciled"),
    "tokens_refreshed": N_("Token refreshed"), "credentials_refused": N_("Credentials refused"),
}
LEVEL_NAMES: dict[str, str] = {"info": N_("Information"), "warning": N_("Warning"), "error": N_("Error")}
STATUS_NAMES: dict[str, str] = {"active": N_("Syncing"), "needs_attention": N_("Needs reconnecting"),
                                "disconnected": N_("Disconnected")}


def describe(entry: ActivityEntry) -> str:
    """An entry's sentence in the page's language (the stored English one when there is no translation)."""
    details = entry.details or {}
    try:
        if entry.kind == ActivityKind.push_received:
            return gettext("Push: order %(order)s is now %(status)s.") % {
                "order": details["order_id"], "status": details["status"]}
        if entry.kind in (ActivityKind.order_imported, ActivityKind.order_updated):
            sentence = (N_("Order %(order)s imported (%(status)s, %(total)s đ).")
                        if entry.kind == ActivityKind.order_imported
                        else N_("Order %(order)s updated (%(status)s, %(total)s đ)."))
            return gettext(sentence) % {"order": details["order_id"], "status": details["raw_status"],
                                        "total": f"{int(details['total']):,}".replace(",", ".")}
        listing = details.get("label") or details.get("listing_id")
        if entry.kind == ActivityKind.stock_sent:
            return gettext("Stock of %(listing)s set to %(quantity)s.") % {
                "listing": listing, "quantity": details["quantity"]}
        if entry.kind == ActivityKind.drift_found and "platform" in details:
            return gettext("%(listing)s: the platform sold %(platform)s, it should be %(expected)s; the right value "
                           "was pushed.") % {"listing": listing, "platform": details["platform"],
                                             "expected": details["expected"]}
    except (KeyError, TypeError, ValueError):
        pass
    return entry.message


def _filters(connection_id: str, kind: str, level: str) -> dict[str, Any]:
    return {"connection_id": int(connection_id) if connection_id.isdigit() and len(connection_id) < 10 else None,
            "kind": ActivityKind(kind) if kind in ActivityKind.__members__ else None,
            "level": ActivityLevel(level) if level in ActivityLevel.__members__ else None}


def _page(request: Request, session: Session, viewer: Viewer, *, filters: dict[str, Any] | None = None,
          error: str = "", form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    filters = filters or {"connection_id": None, "kind": None, "level": None}
    context = {
        "shops": service.shop_statuses(session), "kinds": service.installed_kinds(),
        "entries": service.list_activity(session, limit=100, **filters), "filters": filters,
        "kind_names": KIND_NAMES, "level_names": LEVEL_NAMES, "status_names": STATUS_NAMES, "describe": describe,
        "can_connect": viewer.can(Role.owner), "error": error, "form": form or {},
    }
    return render(request, "marketplaces.html", context, status_code=status_code)


@router.get("/marketplaces")
def marketplaces_page(request: Request, session: DbSession, viewer: ManagerViewer,
                      shop: Annotated[str, Query(max_length=12)] = "", kind: Annotated[str, Query(max_length=32)] = "",
                      level: Annotated[str, Query(max_length=16)] = "") -> Response:
    """The shops, their state and the activity log (filtered by shop, kind and level)."""
    return _page(request, session, viewer, filters=_filters(shop, kind, level))


@router.post("/marketplaces/connect")
async def connect(request: Request, session: DbSession, viewer: OwnerViewer) -> Response:
    """Connect a shop from the form: the chosen marketplace's settings and secrets."""
    submitted = {key: str(value) for key, value in (await request.form()).items() if len(str(value)) <= 2000}
    check_csrf(viewer.auth_session, submitted.get("csrf_token"))
    channel = submitted.get("channel", "")
    info = service.installed_kinds().get(channel, {"settings": {}, "secrets": {}})
    settings = {name: submitted.get(f"{channel}.{name}", "") for name in info["settings"]}
    secrets = {name: submitted.get(f"{channel}.{name}", "") for name in info["secrets"]}
    try:
        service.connect(session, channel=channel, name=submitted.get("name", ""), settings=settings,
                        secrets=secrets, actor=actor_name(viewer.principal))
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        form = {"channel": channel, "name": submitted.get("name", ""),
                **{f"{channel}.{name}": value for name, value in settings.items()}}
        return _page(request, session, viewer, error=exc.message, form=form, status_code=exc.status)
    return RedirectResponse("/marketplaces", status_code=303)


def _act(request: Request, session: Session, viewer: Viewer, csrf_token: str, action: Any,
         connection_id: int) -> Response:
    check_csrf(viewer.auth_session, csrf_token)
    try:
        action(session, connection_id=connection_id, actor=actor_name(viewer.principal))
    except (Conflict, NotFound, PermissionDenied) as exc:
        session.rollback()
        return _page(request, session, viewer, error=exc.message, status_code=exc.status)
    return RedirectResponse("/marketplaces", status_code=303)


@router.post("/marketplaces/{connection_id}/disconnect")
def disconnect(request: Request, session: DbSession, viewer: OwnerViewer, connection_id: ConnectionId,
               csrf_token: FormText = "") -> Response:
    """Stop syncing a shop."""
    return _act(request, session, viewer, csrf_token, service.disconnect, connection_id)


@router.post("/marketplaces/{connection_id}/sync")
def sync(request: Request, session: DbSession, viewer: ManagerViewer, connection_id: ConnectionId,
         csrf_token: FormText = "") -> Response:
    """Recover the shop's lost order pushes now."""
    return _act(request, session, viewer, csrf_token, service.request_sync, connection_id)


@router.post("/marketplaces/{connection_id}/reconcile")
def reconcile(request: Request, session: DbSession, viewer: ManagerViewer, connection_id: ConnectionId,
              csrf_token: FormText = "") -> Response:
    """Reconcile the shop's stock now."""
    return _act(request, session, viewer, csrf_token, service.request_reconcile, connection_id)
