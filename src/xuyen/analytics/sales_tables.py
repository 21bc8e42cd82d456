"""The sales dashboard's tables, downloadable as CSV or Excel at ``/analytics/sales/export/{name}.csv``: revenue
per day, by channel, by store, the customer groups and the retention cohorts. Cells are plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from xuyen.analytics import sales
from xuyen.analytics.filters import Filters, business_timezone
from xuyen.analytics.sales_models import NO_STORE
from xuyen.analytics.tables import Table, exportable
from xuyen.events.labels import channel_label
from xuyen.i18n import N_, activated, gettext
from xuyen.stores import service as stores_service

DASHBOARD = "sales"
NO_STORE_LABEL = N_("No store (online and marketplaces)")


@dataclass(frozen=True)
class Labelled:
    """A channel's or store's figures with the name to show."""

    label: str
    slice: sales.Slice


def labelled_channels(rows: list[sales.Slice]) -> list[Labelled]:
    """Channel rows named in the current language."""
    return [Labelled(label=channel_label(row.key), slice=row) for row in rows]


def labelled_stores(session: Session, rows: list[sales.Slice]) -> list[Labelled]:
    """Store rows named after their store (orders taken by no store named so)."""
    names = {str(store.id): store.name for store in stores_service.list_all(session)}
    return [Labelled(label=gettext(NO_STORE_LABEL) if row.key == str(NO_STORE) else names.get(row.key, row.key),
                     slice=row) for row in rows]


def _slice_columns(first: str) -> list[str]:
    return [first, gettext("Orders"), gettext("Revenue (VND)"), gettext("Average order value (VND)")]


@exportable(DASHBOARD, "daily")
def daily_table(session: Session, filters: Filters, locale: str) -> Table:
    """Orders and revenue of every day of the period."""
    with activated(locale, business_timezone()):
        rows = sales.per_day(session, filters=filters)
        return Table(title=gettext("Revenue per day"), columns=_slice_columns(gettext("Day")),
                     rows=[[date.fromisoformat(row.key), row.orders, row.revenue, row.average_order]
                           for row in rows])


@exportable(DASHBOARD, "channels")
def channels_table(session: Session, filters: Filters, locale: str) -> Table:
    """Orders, revenue and average order value per sales channel."""
    with activated(locale, business_timezone()):
        rows = labelled_channels(sales.by_channel(session, filters=filters))
        return Table(title=gettext("Revenue by channel"), columns=_slice_columns(gettext("Channel")),
                     rows=[[row.label, row.slice.orders, row.slice.revenue, row.slice.average_order] for row in rows])


@exportable(DASHBOARD, "stores")
def stores_table(session: Session, filters: Filters, locale: str) -> Table:
    """Orders, revenue and average order value per store."""
    with activated(locale, business_timezone()):
        rows = labelled_stores(session, sales.by_store(session, filters=filters))
        return Table(title=gettext("Revenue by store"), columns=_slice_columns(gettext("Store")),
                     rows=[[row.label, row.slice.orders, row.slice.revenue, row.slice.average_order] for row in rows])


def customer_rows(mix: sales.CustomerMix) -> list[tuple[str, sales.Group]]:
    """The customer groups of the period, named in the current language."""
    return [(gettext("New customers"), mix.new), (gettext("Returning customers"), mix.returning),
            (gettext("One channel"), mix.single_channel), (gettext("Two or more channels"), mix.multi_channel)]


@exportable(DASHBOARD, "customers")
def customers_table(session: Session, filters: Filters, locale: str) -> Table:
    """The period's customers by group: how many, their share, revenue and average spend."""
    with activated(locale, business_timezone()):
        mix = sales.customer_mix(session, filters=filters)
        total = mix.customers or 1
        rows: list[list[str | int | float | None]] = [
            [name, group.customers, round(group.customers / total, 4), group.revenue, group.average_spend]
            for name, group in customer_rows(mix)]
        rows.append([gettext("Repeat-purchase rate"), mix.repeat, round(mix.repeat_rate, 4), None, None])
        return Table(title=gettext("Customers"), columns=[
            gettext("Group"), gettext("Customers"), gettext("Share"), gettext("Revenue (VND)"),
            gettext("Average spend (VND)")], rows=rows)


@exportable(DASHBOARD, "cohorts")
def cohorts_table(session: Session, filters: Filters, locale: str) -> Table:
    """The retention cohorts: per first-purchase month, its size and the share buying in each month after."""
    with activated(locale, business_timezone()):
        cohorts = sales.cohorts(session, filters=filters)
        columns = [gettext("First purchase month"), gettext("Customers"),
                   *[f"+{offset}" for offset in range(sales.COHORT_MONTHS)]]
        rows = [[month, size, *[None if share is None else round(share, 4) for share in line]]
                for month, size, line in zip(cohorts.months, cohorts.sizes, cohorts.shares, strict=True)]
        return Table(title=gettext("Retention by first-purchase month"), columns=columns, rows=rows)
