"""The analytics pages: the list of dashboards (``/analytics``), each dashboard's own page (registered by the
modules included below), and the one export route that serves every dashboard's tables as CSV or Excel.
Owners and managers see them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from xuyen.analytics import filters as filtering
from xuyen.analytics import tables
from xuyen.analytics.filters import Filters
from xuyen.auth.models import Role
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import ValidationFailed
from xuyen.events.labels import channel_label
from xuyen.http import get_session
from xuyen.routing import Router
from xuyen.stores import service as stores_service
from xuyen.ui.deps import Viewer, page_role
from xuyen.ui.rendering import render, request_locale

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
QueryText = Annotated[str, Query(max_length=40)]


@dataclass(frozen=True)
class Dashboard:
    """A dashboard listed on /analytics: its address, name and what it answers (both marked with ``N_``)."""

    key: str
    href: str
    title: str
    description: str


DASHBOARDS: list[Dashboard] = []


def dashboard(key: str, *, href: str, title: str, description: str) -> None:
    """List a dashboard on /analytics (in the order they are listed)."""
    if all(known.key != key for known in DASHBOARDS):
        DASHBOARDS.append(Dashboard(key=key, href=href, title=title, description=description))


def page_filters(request: Request, from_: Annotated[str, Query(alias="from", max_length=40)] = "",
                 to: QueryText = "", channel: QueryText = "", store: QueryText = "") -> Filters:
    """The dashboard filters of a page's query string (``from``, ``to``, ``channel``, ``store``)."""
    return filtering.parse(first=from_ or None, last=to or None, channel=channel or None, store=store or None)


PageFilters = Annotated[Filters, Depends(page_filters)]


def filter_context(session: Session, filters: Filters) -> dict[str, Any]:
    """What the shared filter bar needs: the filters, the channel and store choices, the query string."""
    return {"filters": filters, "channels": [(channel.value, channel_label(channel.value)) for channel in SalesChannel],
            "stores": stores_service.list_all(session), "query": urlencode(filters.as_query())}


@router.get("/analytics")
def analytics_page(request: Request, viewer: ManagerViewer) -> Response:
    """The list of dashboards."""
    return render(request, "analytics/index.html", {"dashboards": DASHBOARDS})


@router.get("/analytics/{dashboard_key}/export/{name}.{fmt}")
def export_table(request: Request, session: DbSession, viewer: ManagerViewer, filters: PageFilters,
                 dashboard_key: Annotated[str, PathParam(max_length=40, pattern=r"^[a-z0-9_-]+$")],
                 name: Annotated[str, PathParam(max_length=60, pattern=r"^[a-z0-9_-]+$")],
                 fmt: Annotated[str, PathParam(max_length=4)]) -> Response:
    """One dashboard table as CSV or Excel, for the page's filters."""
    if fmt not in tables.FORMATS:
        raise ValidationFailed("Download a table as .csv or .xlsx.", code="invalid_format", details={"format": fmt})
    chosen = filters.with_options(**filtering.page_options(request.query_params))
    table = tables.build(session, dashboard=dashboard_key, name=name, filters=chosen,
                         locale=request_locale(request, viewer))
    body, media_type = tables.render(table, fmt=fmt)
    filename = f"{dashboard_key}-{name}-{filters.first.isoformat()}-{filters.last.isoformat()}.{fmt}"
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


# Each dashboard module registers itself on /analytics when imported, in this order.
from xuyen.analytics import sales_pages  # noqa: E402  (sales and customers)

router.include_router(sales_pages.router)

from xuyen.analytics.customer_value import pages as value_pages  # noqa: E402  (RFM and predicted value)

router.include_router(value_pages.router)

from xuyen.analytics.journey import pages as journey_pages  # noqa: E402  (funnel, attribution, readiness)

router.include_router(journey_pages.router)

from xuyen.analytics import ops_pages  # noqa: E402  (the inbox, journeys and stock dashboards)

router.include_router(ops_pages.router)

from xuyen.analytics import schedule_pages  # noqa: E402  (scheduled reports)

router.include_router(schedule_pages.router)
