"""The operations dashboards: the inbox (/analytics/inbox), journeys and campaigns (/analytics/journeys) and
stock health (/analytics/stock). Owners and managers see them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from xuyen.analytics import filters as filtering
from xuyen.analytics import inbox, journeys, stock
from xuyen.analytics.pages import PageFilters, dashboard, filter_context
from xuyen.auth.models import Role
from xuyen.events.labels import channel_label
from xuyen.http import get_session
from xuyen.i18n import N_, gettext
from xuyen.routing import Router
from xuyen.ui import charts
from xuyen.ui.deps import Viewer, page_role
from xuyen.ui.formatting import format_money, format_number
from xuyen.ui.rendering import render, request_locale

router: Router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
ManagerViewer = Annotated[Viewer, Depends(page_role(Role.manager))]
QueryText = Annotated[str, Query(max_length=40)]

dashboard("inbox", href="/analytics/inbox", title=N_("Inbox"),
          description=N_("First response and resolution times, SLA compliance, CSAT, and when customers write."))
dashboard("journeys", href="/analytics/journeys", title=N_("Journeys and campaigns"),
          description=N_("What every journey and campaign sent, what came of it, and the lift over the holdout."))
dashboard("stock", href="/analytics/stock", title=N_("Stock health"),
          description=N_("Out-of-stock SKUs per channel, reservations, sell-through and low stock."))

INBOX_LABELS = {"webchat": N_("Web chat")}


def inbox_label(kind: str) -> str:
    """The name of an inbox channel kind, translated."""
    return gettext(INBOX_LABELS[kind]) if kind in INBOX_LABELS else channel_label(kind)


def _percent(value: float | None, locale: str) -> str:
    return "—" if value is None else f"{format_number(round(value * 100, 1), locale)} %"


@router.get("/analytics/inbox")
def inbox_page(request: Request, session: DbSession, viewer: ManagerViewer,
               from_: Annotated[str, Query(alias="from", max_length=40)] = "", to: QueryText = "",
               kind: QueryText = "") -> Response:
    """The inbox dashboard."""
    chosen = filtering.parse(first=from_ or None, last=to or None)
    channel = inbox.check_kind(kind)
    chosen = chosen.with_options(kind=channel or "")
    metrics = inbox.inbox_metrics(session, filters=chosen, kind=channel)
    locale = request_locale(request, viewer)
    return render(request, "analytics/inbox.html", {
        "metrics": metrics, "kind": channel or "", "weekdays": [gettext(day) for day in inbox.WEEKDAYS],
        "kinds": [(item, inbox_label(item)) for item in inbox.INBOX_CHANNELS],
        "kpis": _inbox_tiles(metrics, locale), "charts": _inbox_charts(metrics, locale),
        "label": inbox_label, "duration": inbox.duration_text, "percent": lambda value: _percent(value, locale),
        "satisfied": inbox.satisfied_share, **filter_context(session, chosen)})


def _inbox_tiles(metrics: inbox.InboxMetrics, locale: str) -> list[dict[str, Any]]:
    csat_note = gettext("%(count)s responses") % {"count": format_number(metrics.csat.answered, locale)}
    return [
        {"key": "first_response_median", "label": gettext("First response (median)"),
         "value": metrics.first_response.median, "text": inbox.duration_text(metrics.first_response.median),
         "note": gettext("p90: %(value)s") % {"value": inbox.duration_text(metrics.first_response.p90)}},
        {"key": "resolution_median", "label": gettext("Resolution (median)"), "value": metrics.resolution.median,
         "text": inbox.duration_text(metrics.resolution.median),
         "note": gettext("p90: %(value)s") % {"value": inbox.duration_text(metrics.resolution.p90)}},
        {"key": "sla_compliance", "label": gettext("SLA compliance"), "value": metrics.sla_compliance,
         "text": _percent(metrics.sla_compliance, locale),
         "note": gettext("%(met)s of %(total)s conversations") % {"met": metrics.sla_met,
                                                                   "total": metrics.sla_decided}},
        {"key": "csat_average", "label": gettext("CSAT (out of 5)"), "value": metrics.csat.average,
         "text": "—" if metrics.csat.average is None else format_number(metrics.csat.average, locale),
         "note": csat_note},
        {"key": "satisfied_share", "label": gettext("Satisfied (4–5)"), "value": metrics.satisfied_share,
         "text": _percent(metrics.satisfied_share, locale), "note": ""},
        {"key": "messages", "label": gettext("Customer messages"), "value": metrics.messages,
         "text": format_number(metrics.messages, locale),
         "note": gettext("%(count)s conversations") % {"count": format_number(metrics.conversations, locale)}},
    ]


def _inbox_charts(metrics: inbox.InboxMetrics, locale: str) -> dict[str, Any]:
    by_channel = charts.bar_chart(title=gettext("Customer messages by channel"), key="volume-by-channel", items=[
        (inbox_label(row.kind), row.messages, format_number(row.messages, locale)) for row in metrics.by_channel
        if row.messages])
    hours = [f"{hour:02d}" for hour in range(24)]
    by_hour = charts.line_chart(title=gettext("Customer messages by hour of day"), key="volume-by-hour", labels=hours,
                                series=[(gettext("Messages"), [float(value) for value in metrics.by_hour],
                                         [format_number(value, locale) for value in metrics.by_hour])])
    days = [gettext(day) for day in inbox.WEEKDAYS]
    heat = charts.heat_map(title=gettext("Customer messages by day and hour"), key="volume-heat-map", rows=days,
                           columns=hours, values=[[float(value) for value in row] for row in metrics.by_weekday_hour],
                           texts=[[str(value) if value else "" for value in row] for row in metrics.by_weekday_hour])
    return {"by_channel": by_channel, "by_hour": by_hour, "heat": heat if metrics.messages else None}


@router.get("/analytics/journeys")
def journeys_page(request: Request, session: DbSession, viewer: ManagerViewer,
                  from_: Annotated[str, Query(alias="from", max_length=40)] = "", to: QueryText = "") -> Response:
    """The journeys and campaigns dashboard."""
    chosen = filtering.parse(first=from_ or None, last=to or None)
    locale = request_locale(request, viewer)
    rows = journeys.journey_rows(session, filters=chosen)
    channels = journeys.channel_sends(session, filters=chosen)
    lift = charts.bar_chart(title=gettext("Lift over the holdout"), key="lift", items=[
        (row.name, round(row.results.lift * 100, 1), _percent(row.results.lift, locale)) for row in rows
        if row.results.lift is not None])
    conversion = charts.bar_chart(title=gettext("Conversion rate of the treated"), key="conversion", items=[
        (row.name, round(row.results.treatment_conversion_rate * 100, 1),
         _percent(row.results.treatment_conversion_rate, locale)) for row in rows
        if row.results.treatment_conversion_rate is not None])
    sends = charts.bar_chart(title=gettext("Messages sent by channel"), key="sends-by-channel", items=[
        (channel_label(channel), figures.sent, format_number(figures.sent, locale))
        for channel, figures in channels.items()])
    return render(request, "analytics/journeys.html", {
        "rows": rows, "channel_rows": channels, "lift": lift, "conversion": conversion, "sends": sends,
        "percent": lambda value: _percent(value, locale), "money": lambda value: format_money(value, locale),
        **filter_context(session, chosen)})


@router.get("/analytics/stock")
def stock_page(request: Request, session: DbSession, viewer: ManagerViewer, filters: PageFilters) -> Response:
    """The stock health dashboard."""
    locale = request_locale(request, viewer)
    missing = stock.out_of_stock(session, channel=filters.channel)
    held = stock.reservations(session, filters=filters)
    through = stock.sell_through(session, filters=filters)
    categories = stock.sell_through(session, filters=filters, by="category")
    low = stock.low_stock(session, filters=filters)
    oos_chart = charts.bar_chart(title=gettext("Out-of-stock SKUs by channel"), key="out-of-stock", items=[
        (channel_label(row.channel), row.out_of_stock, format_number(row.out_of_stock, locale)) for row in missing])
    through_chart = charts.bar_chart(title=gettext("Sell-through by product"), key="sell-through", items=[
        (row.name, round(row.rate * 100, 1), _percent(row.rate, locale)) for row in through[:20]
        if row.rate is not None])
    tiles = [
        {"key": "out_of_stock", "label": gettext("Out-of-stock listings"),
         "value": sum(row.out_of_stock for row in missing),
         "text": format_number(sum(row.out_of_stock for row in missing), locale), "note": ""},
        {"key": "reservations", "label": gettext("Active reservations"), "value": held.count,
         "text": format_number(held.count, locale),
         "note": gettext("%(units)s units") % {"units": format_number(held.units, locale)}},
        {"key": "low_stock", "label": gettext("Low-stock SKUs"), "value": len(low),
         "text": format_number(len(low), locale),
         "note": gettext("%(count)s units or fewer") % {"count": stock.LOW_STOCK}},
    ]
    return render(request, "analytics/stock.html", {
        "missing": missing, "held": held, "through": through, "categories": categories, "low": low,
        "oos_chart": oos_chart, "through_chart": through_chart, "kpis": tiles, "label": channel_label,
        "percent": lambda value: _percent(value, locale), **filter_context(session, filters)})
