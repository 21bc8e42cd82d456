"""The sales and customers dashboard (``/analytics/sales``): KPI tiles against the period before, revenue per day,
revenue, orders and average order value by channel and by store, new vs returning, multi-channel customers and
what they spend, the repeat-purchase rate and monthly retention cohorts. Every figure comes from the daily rollups
(``xuyen.analytics.sales``), laid out by ``xuyen.ui.sales_dashboard``; every table downloads as CSV or Excel
(``xuyen.analytics.sales_tables``).

Included by ``xuyen.analytics.pages`` (import that module, not this one)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from xuyen.analytics.pages import DbSession, ManagerViewer, PageFilters, dashboard, filter_context
from xuyen.i18n import N_
from xuyen.routing import Router
from xuyen.ui.rendering import render
from xuyen.ui.sales_dashboard import DASHBOARD, dashboard_context

router: Router = Router(include_in_schema=False, default_response_class=HTMLResponse)

dashboard(DASHBOARD, href="/analytics/sales", title=N_("Sales and customers"),
          description=N_("Revenue, orders and average order value by channel and store; new, returning and "
                         "multi-channel customers; repeat purchases and monthly retention cohorts."))


@router.get("/analytics/sales")
def sales_page(request: Request, session: DbSession, viewer: ManagerViewer, filters: PageFilters) -> Response:
    """The sales and customers dashboard for the chosen days, channel and store."""
    return render(request, "analytics/sales.html", {**filter_context(session, filters),
                                                    **dashboard_context(session, filters=filters)})
