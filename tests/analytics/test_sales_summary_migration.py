"""Migration 0039 fills each customer's ``elsewhere_day`` from the rollups already kept, exactly as the rollups
compute it (``rollups.summaries_of``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from xuyen.analytics import rollups
from xuyen.analytics.sales_models import SalesCustomer
from xuyen.db import make_engine
from xuyen.migrate import upgrade

# customer, day, channel, orders, revenue (store 0, month from the day)
CUSTOMER_DAYS = [
    (1, "2026-03-01", "web", 1, 100_000), (1, "2026-03-05", "web", 2, 300_000),  # web only, in touch on Zalo
    (2, "2026-03-02", "pos", 1, 200_000), (2, "2026-03-04", "shopee", 1, 150_000),  # two channels
    (3, "2026-03-03", "pos", 1, 50_000), (3, "2026-03-03", "web", 1, 60_000),  # two on the latest day
    (4, "2026-03-06", "web", 1, 70_000),  # in touch on the web only
    (5, "2026-03-02", "app", 1, 90_000),  # no events
    (0, "2026-03-02", "pos", 3, 400_000),  # the walk-ins: no summary
]
# customer, channel, last day, other channel, its last day
REACH = [(1, "zalo", "2026-03-04", "web", "2026-03-05"), (4, "web", "2026-03-06", None, None),
         (3, "messenger", "2026-02-01", None, None)]


def test_the_migration_fills_elsewhere_day_as_the_rollups_do(empty_db_url: str) -> None:
    upgrade(empty_db_url, revision="0038")
    engine = make_engine(empty_db_url, pool=False)
    try:
        with engine.begin() as connection:
            for customer, day, channel, orders, revenue in CUSTOMER_DAYS:
                connection.execute(text(
                    "INSERT INTO analytics_customer_days (day, customer_id, channel, store_id, month, orders, "
                    "revenue, items) VALUES (:day, :customer, :channel, 0, :month, :orders, :revenue, :orders)"),
                    {"day": date.fromisoformat(day), "customer": customer, "channel": channel,
                     "month": date.fromisoformat(day).replace(day=1), "orders": orders, "revenue": revenue})
            for customer, channel, last_day, other, other_day in REACH:
                connection.execute(text(
                    "INSERT INTO analytics_customer_reach (customer_id, channel, last_day, other_channel, "
                    "other_last_day) VALUES (:customer, :channel, :last_day, :other, :other_day)"),
                    {"customer": customer, "channel": channel, "last_day": date.fromisoformat(last_day),
                     "other": other, "other_day": date.fromisoformat(other_day) if other_day else None})
        upgrade(empty_db_url)
        with engine.connect() as connection:
            columns = [getattr(SalesCustomer, name) for name in rollups.SUMMARY_COLUMNS]
            migrated = {row[0]: tuple(row[1:]) for row in connection.execute(select(*columns))}
            computed = {row[0]: tuple(row[1:]) for row in connection.execute(rollups.summaries_of(None))}
    finally:
        engine.dispose()
    elsewhere = {customer: row[-1] for customer, row in migrated.items()}
    assert elsewhere == {1: date(2026, 3, 4),  # Zalo, the latest event channel other than the web
                         2: date(2026, 3, 2),  # the POS order before the latest (Shopee)
                         3: date(2026, 3, 3),  # POS and web on the same latest day
                         4: None,  # the web only, ordering and browsing
                         5: None}
    assert migrated[1][:5] == (date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 5), 3, 400_000)
    assert migrated == computed
