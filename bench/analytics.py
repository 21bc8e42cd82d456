"""The sales and customers dashboard at scale, on PostgreSQL: its queries read the daily rollups, compared with the
same figures computed straight from the raw orders and events.

A scratch database gets ``--customers`` customers (default 20,000; the issue's size is 1,000,000), five events per
customer and one order per customer on average, spread over the last year on every channel and five stores (2% of
the customers merged into another, 5% of the orders cancelled, 10% walk-ins), written with bulk inserts. Then:

- **rollups**: the time to build every rollup from the first order's day to today (``xuyen analytics rollup``);
- **dashboard**: the queries the dashboard runs for a range (headline totals of the range and the one before, revenue
  per day, by channel, by store, the customer mix, the cohorts), **cold** (the first run on a new connection) and
  **warm** (the median of ``--repeat`` runs), for the default range (the last 30 days), the last 365 days, and the
  last 365 days at the till only (a channel chosen: the customer mix then reads the range's customer-days);
- **baseline**: the same figures straight from the orders and events tables (no rollups, every channel), cold and
  warm;
- the ratio baseline / dashboard (warm).

Each range's line is followed by each query's warm time. ``--keep`` keeps the filled database and prints its
address; ``--reuse URL`` measures again on it (migrated to the newest schema, rollups rebuilt), so a change can be
compared with the code before it on the same data without filling again (``--built`` skips the rebuild when the
rollups are already current).

Usage: ``python -m bench.analytics [--customers 20000] [--repeat 5] [--keep | --reuse URL [--built]]``. Aim:
under 1 s warm with 1,000,000 customers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.jobs import scratch_postgres
from xuyen.analytics import filters, rollups, sales
from xuyen.clock import utcnow
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.orders.models import Order, OrderLine
from xuyen.db import insert_many, make_engine, session_factory
from xuyen.domains import load_handlers
from xuyen.events.models import ChannelType, Event, EventType, Source
from xuyen.identity.models import Profile
from xuyen.migrate import upgrade
from xuyen.stores.models import Store

BATCH = 20_000
DAYS = 365
CHANNELS = [SalesChannel.web] * 4 + [SalesChannel.app] * 2 + [SalesChannel.pos] * 5 + [
    SalesChannel.shopee] * 3 + [SalesChannel.lazada, SalesChannel.tiktok_shop, SalesChannel.chat]
EVENT_CHANNELS = ("web", "web", "app", "zalo", "messenger", "shopee", "email")


def _batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[start:start + BATCH] for start in range(0, len(rows), BATCH)]


def fill(session: Session, *, customers: int, rng: random.Random) -> tuple[int, int]:
    """Write the customers, their events and orders; (events, orders) written."""
    now = utcnow()
    stores = [Store(code=f"S{number}", name=f"Cửa hàng {number}", province="Hà Nội") for number in range(1, 6)]
    source = Source(name="Web", channel=ChannelType.web, write_key_prefix="benchan", write_key_hash="x")
    session.add_all([*stores, source])
    session.commit()
    connection = session.connection()
    people = [{"id": number, "merged_into_id": None, "created_at": now, "first_seen_at": now, "last_seen_at": now}
              for number in range(1, customers + 1)]
    for batch in _batches(people):
        insert_many(connection, Profile, batch)
    merged = rng.sample(range(2, customers + 1), customers // 50)
    for start in range(0, len(merged), 5_000):
        connection.execute(text("UPDATE profiles SET merged_into_id = id - 1 WHERE id = ANY(:ids)"),
                           {"ids": merged[start:start + 5_000]})
    events = _events(source.id, customers=customers, rng=rng)
    for batch in _batches(events):
        insert_many(connection, Event, batch)
    orders, lines = _orders([store.id for store in stores], customers=customers, rng=rng)
    for batch in _batches(orders):
        insert_many(connection, Order, batch)
    for batch in _batches(lines):
        insert_many(connection, OrderLine, batch)
    connection.execute(text("ANALYZE"))
    session.commit()
    return len(events), len(orders)


def _moment(rng: random.Random) -> Any:
    return utcnow() - timedelta(minutes=rng.randrange(60 * 24 * DAYS))


def _events(source_id: int, *, customers: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for number in range(5 * customers):
        at = _moment(rng)
        rows.append({"source_id": source_id, "channel": rng.choice(EVENT_CHANNELS), "type": EventType.track.value,
                     "event": "Product Viewed", "name": None, "message_id": f"e{number}", "user_id": None,
                     "anonymous_id": None, "previous_id": None, "group_id": None,
                     "profile_id": rng.randint(1, customers), "properties": {}, "traits": {}, "context": {},
                     "integrations": {}, "timestamp": at, "original_timestamp": None, "sent_at": None,
                     "received_at": at})
    return rows


Rows = list[dict[str, Any]]


def _orders(store_ids: list[int], *, customers: int, rng: random.Random) -> tuple[Rows, Rows]:
    orders: Rows = []
    lines: Rows = []
    for number in range(1, customers + 1):
        channel = rng.choice(CHANNELS)
        at = _moment(rng)
        total = rng.randrange(50, 3_000) * 1_000
        cancelled = rng.random() < 0.05
        orders.append({
            "id": number, "number": f"B-{number:08d}", "channel": channel.value, "account": "", "external_id": None,
            "external_status": "", "status": "cancelled" if cancelled else "completed", "fulfilment": "ship",
            "store_id": rng.choice(store_ids) if channel is SalesChannel.pos else None,
            "profile_id": _buyer(rng, customers),
            "identifiers": [], "contact_name": "", "contact_phone": "", "contact_email": "", "shipping_address": {},
            "note": "", "currency": "VND", "subtotal": total, "discount_total": 0, "shipping_fee": 0, "vat_total": 0,
            "total": total, "coupon_codes": [], "discounts": [], "needs_attention": False, "attention_reason": "",
            "created_by": "bench", "placed_at": at, "cancelled_at": at if cancelled else None, "cancel_reason": "",
            "created_at": at, "updated_at": at})
        lines.append({"order_id": number, "position": 0, "sku": "SKU", "name": "Áo", "quantity": rng.randint(1, 3),
                      "list_price": total, "unit_price": total, "discount": 0, "total": total, "vat_amount": 0,
                      "net_amount": total, "promotions": [], "returned_quantity": 0, "unmatched": False,
                      "external_item_id": "", "external_model_id": "", "external_sku": ""})
    return orders, lines


def _buyer(rng: random.Random, customers: int) -> int | None:
    """A walk-in one time in ten; otherwise three times in ten one of the most loyal tenth, else anyone."""
    if rng.random() < 0.1:
        return None
    return rng.randint(1, max(1, customers // 10)) if rng.random() < 0.3 else rng.randint(1, customers)


def dashboard(session: Session, chosen: filters.Filters, spent: dict[str, list[float]] | None = None) -> int:
    """Every query the dashboard runs for ``chosen`` (what the page shows); the revenue, as a check. ``spent``
    collects each query's time (ms) by name."""
    def timed_query(name: str, query: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = query()
        if spent is not None:
            spent.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return result

    totals = timed_query("totals", lambda: sales.totals(session, filters=chosen))
    timed_query("totals (before)", lambda: sales.totals(session, filters=chosen.previous()))
    timed_query("per day", lambda: sales.per_day(session, filters=chosen))
    timed_query("by channel", lambda: sales.by_channel(session, filters=chosen))
    timed_query("by store", lambda: sales.by_store(session, filters=chosen))
    timed_query("customer mix", lambda: sales.customer_mix(session, filters=chosen))
    timed_query("cohorts", lambda: sales.cohorts(session, filters=chosen))
    return int(totals.revenue)


RAW_OWNER = "coalesce(p.merged_into_id, o.profile_id)"
RAW_ORDERS = ("FROM orders o LEFT JOIN profiles p ON p.id = o.profile_id "
              "WHERE o.status <> 'cancelled' AND o.placed_at IS NOT NULL")
RAW_QUERIES = [
    # headline totals of the range and of the one before
    f"SELECT sum(o.total), count(*), count(DISTINCT {RAW_OWNER}) {RAW_ORDERS} AND o.placed_at >= :start "
    "AND o.placed_at < :end",
    f"SELECT sum(o.total), count(*), count(DISTINCT {RAW_OWNER}) {RAW_ORDERS} AND o.placed_at >= :before "
    "AND o.placed_at < :start",
    # revenue per local day, by channel, by store
    f"SELECT (o.placed_at AT TIME ZONE :zone)::date, sum(o.total), count(*) {RAW_ORDERS} "
    "AND o.placed_at >= :start AND o.placed_at < :end GROUP BY 1",
    f"SELECT o.channel, sum(o.total), count(*) {RAW_ORDERS} AND o.placed_at >= :start AND o.placed_at < :end "
    "GROUP BY 1",
    f"SELECT o.store_id, sum(o.total), count(*) {RAW_ORDERS} AND o.placed_at >= :start AND o.placed_at < :end "
    "GROUP BY 1",
    # new vs returning and repeat: each buyer's first order ever and orders in the range
    f"WITH firsts AS (SELECT {RAW_OWNER} AS c, min(o.placed_at) AS first {RAW_ORDERS} GROUP BY 1), "
    f"buyers AS (SELECT {RAW_OWNER} AS c, sum(o.total) AS spent, count(*) AS n {RAW_ORDERS} "
    "AND o.placed_at >= :start AND o.placed_at < :end AND o.profile_id IS NOT NULL GROUP BY 1) "
    "SELECT count(*) FILTER (WHERE f.first >= :start), sum(b.spent) FILTER (WHERE f.first >= :start), "
    "count(*) FILTER (WHERE f.first < :start OR b.n >= 2) FROM buyers b JOIN firsts f ON f.c = b.c",
    # multi-channel: channels of orders and events in the range
    f"WITH buyers AS (SELECT {RAW_OWNER} AS c, sum(o.total) AS spent {RAW_ORDERS} AND o.placed_at >= :start "
    "AND o.placed_at < :end AND o.profile_id IS NOT NULL GROUP BY 1), "
    f"touched AS (SELECT {RAW_OWNER} AS c, o.channel AS ch {RAW_ORDERS} AND o.placed_at >= :start "
    "AND o.placed_at < :end UNION SELECT coalesce(p.merged_into_id, e.profile_id), e.channel FROM events e "
    "LEFT JOIN profiles p ON p.id = e.profile_id WHERE e.timestamp >= :start AND e.timestamp < :end "
    "AND e.profile_id IS NOT NULL AND e.channel <> 'api'), counted AS (SELECT c, count(*) AS n FROM touched "
    "GROUP BY c) SELECT count(*) FILTER (WHERE n >= 2), sum(spent) FILTER (WHERE n >= 2) FROM buyers b "
    "JOIN counted USING (c)",
    # cohorts: first-purchase month by month of each later order
    f"WITH firsts AS (SELECT {RAW_OWNER} AS c, date_trunc('month', min(o.placed_at) AT TIME ZONE :zone) AS m "
    f"{RAW_ORDERS} AND o.profile_id IS NOT NULL GROUP BY 1) SELECT f.m, date_trunc('month', o.placed_at AT TIME "
    f"ZONE :zone), count(DISTINCT f.c) FROM orders o LEFT JOIN profiles p ON p.id = o.profile_id "
    f"JOIN firsts f ON f.c = {RAW_OWNER} WHERE o.status <> 'cancelled' AND o.placed_at IS NOT NULL "
    "AND f.m >= :cohorts GROUP BY 1, 2",
]


def baseline(session: Session, chosen: filters.Filters) -> int:
    """The same figures straight from the orders and events tables; the revenue, as a check."""
    values = {"start": chosen.start, "end": chosen.end, "before": chosen.previous().start,
              "zone": chosen.timezone, "cohorts": _months_before(chosen.last, sales.COHORT_MONTHS - 1)}
    revenue = 0
    for number, query in enumerate(RAW_QUERIES):
        rows = session.execute(text(query), values).all()
        if number == 0:
            revenue = int(rows[0][0] or 0)
    return revenue


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def timed(engine: Engine, work: Callable[[Session], int], repeat: int) -> tuple[float, float, int]:
    """(cold ms, warm median ms, result): cold on a new connection, warm over ``repeat`` more runs."""
    engine.dispose()
    with session_factory(engine)() as session:
        started = time.perf_counter()
        result = work(session)
        cold = (time.perf_counter() - started) * 1000
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            work(session)
            runs.append((time.perf_counter() - started) * 1000)
    return cold, statistics.median(runs), result


def run(url: str, *, customers: int, repeat: int, fill_first: bool = True, build: bool = True) -> None:
    """Fill the database (unless ``fill_first`` is False: it holds the data already), build the rollups (unless
    ``build`` is False: they are current), and print the dashboard's and the baseline's times."""
    engine = make_engine(url)
    with session_factory(engine)() as session:
        if fill_first:
            started = time.perf_counter()
            events, orders = fill(session, customers=customers, rng=random.Random(2026))
            print(f"PostgreSQL: {customers:,} customers, {events:,} events, {orders:,} orders written in "
                  f"{time.perf_counter() - started:.1f} s")
        else:
            counted = session.execute(text("SELECT (SELECT count(*) FROM profiles), (SELECT count(*) FROM events), "
                                           "(SELECT count(*) FROM orders)")).one()
            print(f"PostgreSQL, data already there: {counted[0]:,} profiles, {counted[1]:,} events, "
                  f"{counted[2]:,} orders")
        if build:
            started = time.perf_counter()
            built = rollups.rebuild(session)
            print(f"  rollups built                {time.perf_counter() - started:9.1f} s   ({built.days} days, "
                  f"{built.customer_days:,} customer-days, {built.touch_days:,} touch-days)")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))  # what autovacuum does minutes after a rebuild
    last = filters.today()
    for label, days, channel in (("last 30 days", 30, None), ("last 365 days", DAYS, None),
                                 ("last 365 days, POS", DAYS, "pos")):
        chosen = filters.parse(first=(last - timedelta(days=days - 1)).isoformat(), last=last.isoformat(),
                               channel=channel)
        spent: dict[str, list[float]] = {}
        cold, warm, revenue = timed(engine, partial(dashboard, chosen=chosen, spent=spent), repeat)
        if channel is not None:
            print(f"  {label}: dashboard cold {cold:8.1f} ms, warm {warm:8.1f} ms")
            print("    warm, per query: " + ", ".join(f"{name} {statistics.median(times[1:] or times):.1f} ms"
                                                     for name, times in spent.items()))
            continue
        raw_cold, raw_warm, raw_revenue = timed(engine, partial(baseline, chosen=chosen), repeat)
        check = "same revenue" if revenue == raw_revenue else f"REVENUE DIFFERS: {revenue:,} vs {raw_revenue:,}"
        print(f"  {label}: dashboard cold {cold:8.1f} ms, warm {warm:8.1f} ms | baseline (raw orders) cold "
              f"{raw_cold:8.1f} ms, warm {raw_warm:8.1f} ms | baseline / dashboard {raw_warm / max(warm, 0.001):6.1f}"
              f" ({check})")
        print("    warm, per query: " + ", ".join(f"{name} {statistics.median(times[1:] or times):.1f} ms"
                                                 for name, times in spent.items()))
    engine.dispose()


def main() -> None:
    """Parse the options and run on a scratch PostgreSQL database (or on one filled by an earlier ``--keep`` run)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true",
                        help="keep the filled database and print its address, to measure again with --reuse")
    parser.add_argument("--reuse", metavar="URL",
                        help="measure on a database an earlier --keep run filled (migrated to the newest first)")
    parser.add_argument("--built", action="store_true",
                        help="with --reuse: the rollups are current, measure without rebuilding them")
    options = parser.parse_args()
    load_handlers()
    if options.reuse:
        upgrade(options.reuse)
        run(options.reuse, customers=options.customers, repeat=options.repeat, fill_first=False,
            build=not options.built)
        return
    with scratch_postgres(keep=options.keep) as url:
        run(url, customers=options.customers, repeat=options.repeat)
        if options.keep:
            print(f"  kept: measure again with --reuse {url}")


if __name__ == "__main__":
    main()
