"""The customer value dashboard (``/analytics/customers-value``): RFM groups with their customers and revenue, the
R×F grid, the predicted value of customers and the model's fit; and the customer 360 page's panel with one
customer's group, scores and predictions. Both read the scores the nightly refresh stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen import i18n
from xuyen.analytics import rfm, tables, value
from xuyen.analytics.filters import Filters
from xuyen.analytics.pages import dashboard
from xuyen.analytics.value_models import CustomerScore
from xuyen.auth.models import Role
from xuyen.customers.models import CustomerProfile
from xuyen.http import get_session
from xuyen.i18n import N_
from xuyen.routing import Router
from xuyen.ui import charts
from xuyen.ui.deps import Viewer, page_role
from xuyen.ui.formatting import money, number
from xuyen.ui.panels import customer_panel
from xuyen.ui.rendering import render, request_locale

router: Router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
DASHBOARD = "value"
TOP_CUSTOMERS = 20

GROUP_NAMES: dict[str, str] = {
    "champions": N_("Champions"), "loyal": N_("Loyal"), "potential_loyalists": N_("Potential loyalists"),
    "new_customers": N_("New customers"), "promising": N_("Promising"), "need_attention": N_("Need attention"),
    "about_to_sleep": N_("About to sleep"), "at_risk": N_("At risk"), "cannot_lose": N_("Cannot lose them"),
    "hibernating": N_("Hibernating"), "lost": N_("Lost customers"),
}

dashboard(DASHBOARD, href="/analytics/customers-value", title=N_("Customer value"),
          description=N_("RFM groups, the R×F grid and each customer's predicted purchases and value."))


def _translate(locale: str) -> Callable[[str], str]:
    return i18n.translations(locale).gettext


def _names(session: Session, profile_ids: list[int]) -> dict[int, str]:
    rows = session.execute(select(CustomerProfile.profile_id, CustomerProfile.display_name)
                           .where(CustomerProfile.profile_id.in_(profile_ids))).all()
    return {int(profile_id): str(name or "") for profile_id, name in rows}


def _charts(session: Session, _: Callable[[str], str]) -> dict[str, Any]:
    found = value.groups(session)
    groups = charts.bar_chart(title=_("Customers by RFM group"), key="rfm-groups",
                              items=[(_(GROUP_NAMES[key]), count, number(count)) for key, (count, _spend)
                                     in found.items()])
    revenue = charts.bar_chart(title=_("Revenue by RFM group"), key="rfm-revenue",
                               items=[(_(GROUP_NAMES[key]), spend, money(spend)) for key, (_count, spend)
                                      in found.items()])
    cells = value.grid(session)
    rows = [5, 4, 3, 2, 1]
    grid = charts.heat_map(title=_("Customers by recency (R) and frequency (F) score"), key="rfm-grid",
                           rows=[f"R{r}" for r in rows], columns=[f"F{f}" for f in range(1, 6)],
                           values=[[float(cells.get((r, f), 0)) for f in range(1, 6)] for r in rows],
                           texts=[[number(cells.get((r, f), 0)) for f in range(1, 6)] for r in rows])
    bands = charts.bar_chart(title=_("Customers by predicted value"), key="value-bands",
                             items=[(_band(low, high), count, number(count)) for low, high, count
                                    in value.value_bands(session)])
    return {"groups_chart": groups, "revenue_chart": revenue, "grid_chart": grid, "bands_chart": bands,
            "groups": found}


def _band(low: int, high: int | None) -> str:
    return f"{money(low)} – {money(high)}" if high is not None else f"≥ {money(low)}"


def _tiles(scores: list[CustomerScore], _: Callable[[str], str]) -> list[dict[str, Any]]:
    """Customers scored, and the predicted value, purchases and likely-active customers of those predicted for."""
    predicted = [row for row in scores if row.predicted_value is not None]
    total = sum(row.predicted_value or 0 for row in predicted)
    purchases = round(sum(row.expected_purchases or 0.0 for row in predicted), 2)
    active = sum(1 for row in predicted if (row.probability_alive or 0.0) >= 0.5)
    return [
        {"key": "customers", "label": _("Customers scored"), "value": len(scores), "text": number(len(scores)),
         "note": ""},
        {"key": "predicted-value", "label": _("Predicted value"), "value": total if predicted else None,
         "text": money(total) if predicted else "—", "note": ""},
        {"key": "expected-purchases", "label": _("Expected purchases"), "value": purchases if predicted else None,
         "text": number(purchases) if predicted else "—", "note": ""},
        {"key": "active", "label": _("Probably still active"), "value": active if predicted else None,
         "text": number(active) if predicted else "—", "note": _("probability active of at least 0.5")},
    ]


@router.get("/analytics/customers-value")
def customer_value_page(request: Request, session: DbSession, viewer: ManagerViewer) -> Response:
    """The customer value dashboard."""
    _ = _translate(request_locale(request, viewer))
    scores = list(session.scalars(select(CustomerScore)))
    top = value.top_customers(session, limit=TOP_CUSTOMERS)
    tiles = _tiles(scores, _)
    return render(request, "analytics/customer_value.html", {
        **_charts(session, _), "tiles": tiles, "top": top, "names": _names(session, [row.profile_id for row in top]),
        "fit": value.latest_fit(session), "group_names": GROUP_NAMES, "group_grid": rfm.GROUP_GRID,
        "horizon": scores[0].horizon_days if scores else value.DEFAULT_HORIZON_DAYS, "dashboard": DASHBOARD,
    })


@tables.exportable(DASHBOARD, "groups")
def groups_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Customers and revenue of each RFM group."""
    _ = _translate(locale)
    return tables.Table(title=_("RFM groups"), columns=[_("Group"), _("Customers"), _("Revenue")],
                        rows=[[_(GROUP_NAMES[key]), count, spend] for key, (count, spend)
                              in value.groups(session).items()])


@tables.exportable(DASHBOARD, "customers")
def customers_table(session: Session, filters: Filters, locale: str) -> tables.Table:
    """Every scored customer, highest predicted value first."""
    _ = _translate(locale)
    rows = list(session.scalars(select(CustomerScore).order_by(CustomerScore.predicted_value.desc().nulls_last(),
                                                               CustomerScore.monetary.desc(),
                                                               CustomerScore.profile_id)))
    names = _names(session, [row.profile_id for row in rows])
    return tables.Table(
        title=_("Customer value"),
        columns=[_("Customer"), _("Name"), _("Group"), "R", "F", "M", _("Days since last purchase"), _("Orders"),
                 _("Spend"), _("Expected purchases"), _("Probability active"), _("Predicted value")],
        rows=[[row.profile_id, names.get(row.profile_id, ""), _(GROUP_NAMES[row.rfm_group]), row.r_score,
               row.f_score, row.m_score, row.recency_days, row.frequency, row.monetary,
               None if row.expected_purchases is None else round(row.expected_purchases, 4),
               None if row.probability_alive is None else round(row.probability_alive, 4), row.predicted_value]
              for row in rows])


@customer_panel("customer-value", label=N_("Customer value"), template="analytics/_customer_value_panel.html",
                order=55)
def customer_value_panel(session: Session, profile_id: int, viewer: Viewer) -> dict[str, Any] | None:
    """The customer's RFM group and scores and what the value model predicts for them (nothing before they buy)."""
    found = value.customer_score(session, profile_id=profile_id)
    if found is None:
        return None
    return {"score": found, "group_name": GROUP_NAMES[found.rfm_group]}
