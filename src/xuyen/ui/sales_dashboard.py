"""What the sales and customers dashboard shows, worked out for the current request's language: KPI tiles, charts
and rows, all from ``xuyen.analytics.sales`` (the rollups). Also the last 30 days in brief for the overview page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from xuyen.analytics import filters as filtering
from xuyen.analytics import sales, sales_tables
from xuyen.analytics.filters import Filters
from xuyen.i18n import N_, current_locale, gettext
from xuyen.ui import charts
from xuyen.ui.formatting import format_money, format_number

DASHBOARD = "sales"


@dataclass(frozen=True)
class Tile:
    """A KPI tile, as the ``tiles`` macro draws it."""

    key: str
    label: str
    text: str
    value: float | int | None
    note: str = ""


def dashboard_context(session: Session, *, filters: Filters) -> dict[str, Any]:
    """Everything the dashboard shows, in the current request's language."""
    locale = current_locale.get()
    current = sales.totals(session, filters=filters)
    previous = sales.totals(session, filters=filters.previous())
    days = sales.per_day(session, filters=filters)
    mix = sales.customer_mix(session, filters=filters)
    cohorts = sales.cohorts(session, filters=filters)
    channels = sales_tables.labelled_channels(sales.by_channel(session, filters=filters))
    stores = sales_tables.labelled_stores(session, sales.by_store(session, filters=filters))
    return {
        "headline_tiles": headline_tiles(current, previous, days=filters.days, locale=locale),
        "customer_tiles": customer_tiles(mix, locale=locale),
        "revenue_chart": revenue_chart(days, key="revenue-per-day", locale=locale),
        "channel_chart": _revenue_bars(gettext("Revenue by channel"), "revenue-by-channel", channels, locale),
        "store_chart": _revenue_bars(gettext("Revenue by store"), "revenue-by-store", stores, locale),
        "channel_rows": channels, "store_rows": stores, "mix": mix,
        "mix_chart": charts.bar_chart(title=gettext("Average spend per customer"), key="spend-by-channel-count",
                                      items=[(gettext("One channel"), mix.single_channel.average_spend,
                                              format_money(mix.single_channel.average_spend, locale)),
                                             (gettext("Two or more channels"), mix.multi_channel.average_spend,
                                              format_money(mix.multi_channel.average_spend, locale))]),
        "cohort_map": cohort_map(cohorts),
        "cohorts": cohorts,
        "dashboard": DASHBOARD,
    }


def headline_tiles(current: sales.Totals, previous: sales.Totals, *, days: int, locale: str) -> list[Tile]:
    """Revenue, orders, average order value and customers, each with its change against the period before."""
    figures = [("revenue", N_("Revenue"), current.revenue, previous.revenue, True),
               ("orders", N_("Orders"), current.orders, previous.orders, False),
               ("average_order", N_("Average order value"), current.average_order, previous.average_order, True),
               ("customers", N_("Customers"), current.customers, previous.customers, False)]
    return [Tile(key=key, label=gettext(label), value=now,
                 text=format_money(now, locale) if money else format_number(now, locale),
                 note=change_note(now, before, days=days, locale=locale))
            for key, label, now, before, money in figures]


def change_note(now: int, before: int, *, days: int, locale: str) -> str:
    """"+12.5% vs the previous 30 days", or that the previous period had nothing."""
    if not before:
        return gettext("Nothing in the previous %(days)s days") % {"days": days}
    change = (now - before) / before * 100
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    return gettext("%(change)s vs the previous %(days)s days") % {
        "change": f"{sign}{format_number(round(abs(change), 1), locale)}%", "days": days}


def customer_tiles(mix: sales.CustomerMix, *, locale: str) -> list[Tile]:
    """New and returning customers, the multi-channel share and the repeat-purchase rate."""
    return [Tile(key="new_customers", label=gettext("New customers"), value=mix.new.customers,
                 text=format_number(mix.new.customers, locale), note=format_money(mix.new.revenue, locale)),
            Tile(key="returning_customers", label=gettext("Returning customers"), value=mix.returning.customers,
                 text=format_number(mix.returning.customers, locale),
                 note=format_money(mix.returning.revenue, locale)),
            Tile(key="multi_channel_share", label=gettext("Active on two or more channels"),
                 value=round(mix.multi_channel_share, 4), text=percent(mix.multi_channel_share, locale),
                 note=gettext("%(count)s customers") % {"count": format_number(mix.multi_channel.customers, locale)}),
            Tile(key="repeat_rate", label=gettext("Repeat-purchase rate"), value=round(mix.repeat_rate, 4),
                 text=percent(mix.repeat_rate, locale),
                 note=gettext("%(count)s customers") % {"count": format_number(mix.repeat, locale)})]


def percent(share: float, locale: str) -> str:
    """A share (0..1) as a percentage with one decimal."""
    return f"{format_number(round(share * 100, 1), locale)}%"


def cohort_map(cohorts: sales.Cohorts) -> charts.HeatMap:
    """The retention cohorts as a heat map: a row per first-purchase month, a column per month after it."""
    locale = current_locale.get()
    columns = [f"+{offset}" for offset in range(sales.COHORT_MONTHS)]
    rows = [f"{month.month:02d}/{month.year} ({format_number(size, locale)})"
            for month, size in zip(cohorts.months, cohorts.sizes, strict=True)]
    values = [[None if share is None else round(share, 4) for share in line] for line in cohorts.shares]
    texts = [["" if share is None else f"{round(share * 100)}%" for share in line] for line in cohorts.shares]
    return charts.heat_map(title=gettext("Retention by first-purchase month"), key="retention-cohorts", rows=rows,
                           columns=columns, values=values, texts=texts)


def _revenue_bars(title: str, key: str, rows: list[sales_tables.Labelled], locale: str) -> charts.BarChart:
    return charts.bar_chart(title=title, key=key, items=[(row.label, row.slice.revenue,
                                                          format_money(row.slice.revenue, locale)) for row in rows])


@dataclass(frozen=True)
class Headline:
    """The sales of the last 30 days in brief, for the overview page."""

    tiles: list[Tile]
    chart: charts.LineChart


def headline(session: Session) -> Headline:
    """The KPI tiles and revenue per day of the last 30 days (every channel and store)."""
    filters = filtering.parse()
    locale = current_locale.get()
    days = sales.per_day(session, filters=filters)
    tiles = headline_tiles(sales.totals(session, filters=filters), sales.totals(session, filters=filters.previous()),
                           days=filters.days, locale=locale)
    return Headline(tiles=tiles, chart=revenue_chart(days, key="overview-revenue-per-day", locale=locale))


def revenue_chart(days: list[sales.Slice], *, key: str, locale: str) -> charts.LineChart:
    """Revenue per day as a line, days labelled dd/mm."""
    return charts.line_chart(title=gettext("Revenue per day"), key=key,
                             labels=[day.key[8:10] + "/" + day.key[5:7] for day in days],
                             series=[(gettext("Revenue"), [day.revenue for day in days],
                                      [format_money(day.revenue, locale) for day in days])])
