"""Stock reservations under concurrency: throughput, latency and oversells, on PostgreSQL and SQLite.

Each client is a process of its own (as the API's workers are) with its own connection, reserving 1 unit for a
new reference and committing, over and over, as checkouts do. Processes, not threads: threads in one Python
process take turns on its interpreter lock, and a thread holding a stock row would wait for the lock too.
Printed figures, per database (first the median round trip of ``SELECT 1``, to tell the
machine's state from the code's cost):

- hot: every client on one SKU (stock in a warehouse and a store), reservations/s and p50/p95/p99 latency;
- spread: every client on a random SKU out of 10,000;
- baseline: the same work by 1 client in the same run; the ratio says what concurrency adds (or costs);
- database floor (PostgreSQL), before each workload: the least a reservation must do, by the same number of
  client processes with bare connections (a guarded UPDATE of one level, the hot one or one of as many as there
  are SKUs, and one ledger INSERT, then the commit): what this machine allows at most, and the share of it the
  real code reaches;
- oversell: the clients hammer one SKU holding a few hundred units until it runs out; the units reserved must be
  exactly the units there were (oversold = 0), and every level must equal its ledger.

Usage: ``python -m bench.stock [--db postgres|sqlite|both] [--clients 16] [--seconds 3] [--skus 10000]``.
PostgreSQL comes from ``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or
postgresql://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as BarrierType
from typing import Any

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from bench.jobs import scratch_postgres, scratch_sqlite
from xuyen.commerce.catalogue.models import Product, Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import locations, moves, service
from xuyen.commerce.stock.models import LocationKind, StockLevel, StockMovement
from xuyen.commerce.stock.service import OutOfStock, StockLine
from xuyen.db import make_engine, session_factory
from xuyen.domains import load_handlers

_runs = itertools.count(1)
Outcome = tuple[int, int, list[float]]  # what a client process did: reserved, short, latencies (s)


@dataclass
class Run:
    """What one timed run measured."""

    label: str
    clients: int
    done: int
    short: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        """Successful reservations per second."""
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """A latency percentile in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def _make_skus(engine: Engine, count: int, units: int) -> tuple[list[int], int, int]:
    """``count`` variants with ``units`` each in a warehouse and a store; returns their ids and the two
    locations."""
    with session_factory(engine)() as session:
        product_id = session.execute(insert(Product).values(code=f"BENCH-{count}-{units}-{next(_runs)}",
                                                            name="Áo thun", description="", brand="",
                                                            tax_class="standard", status="active",
                                                            created_at=func.now(), updated_at=func.now())
                                     .returning(Product.id)).scalar_one()
        prefix = f"B{product_id}-"
        session.execute(insert(Variant), [{"product_id": product_id, "sku": f"{prefix}{n}", "options": {},
                                           "position": n, "is_active": True} for n in range(count)])
        session.commit()
        ids = list(session.scalars(select(Variant.id).where(Variant.product_id == product_id).order_by(Variant.id)))
        warehouse = locations.create(session, code=f"W{product_id}", name="Kho", kind=LocationKind.warehouse,
                                     priority=10)
        store = locations.create(session, code=f"S{product_id}", name="Cửa hàng", kind=LocationKind.store,
                                 priority=50)
        for place in (warehouse, store):
            for start in range(0, len(ids), 500):
                lines = [StockLine(variant_id, units) for variant_id in ids[start:start + 500]]
                moves.receive(session, location_id=place.id, lines=lines, actor="bench")
        return ids, warehouse.id, store.id


def _reserve_one(session: Session, variant_id: int, reference: str) -> None:
    service.reserve(session, reference=reference, lines=[StockLine(variant_id, 1)], channel=SalesChannel.web,
                    actor="bench", expires_at=None)
    session.commit()


@dataclass(frozen=True)
class _Client:
    """What one client process is told: where, which SKUs, for how long (None: until the stock runs out)."""

    url: str
    number: int
    skus: list[int]
    seconds: float | None
    warm_up_sku: int  # reserved once before the clock starts (connecting, preparing statements)
    run: str  # makes this run's references new: a reference that holds stock already gets it back as it is


def _client(client: _Client, start: BarrierType, results: Queue[Outcome]) -> None:
    """One client process: reserve until the time is up, or until the stock runs out."""
    engine = make_engine(client.url)
    load_handlers()
    chooser = random.Random(client.number)
    latencies: list[float] = []
    done = short = 0
    with session_factory(engine)() as session:
        _reserve_one(session, client.warm_up_sku, f"WARM-{client.run}-{client.number}")
        start.wait()
        ends = time.perf_counter() + client.seconds if client.seconds is not None else None
        while ends is None or time.perf_counter() < ends:
            began = time.perf_counter()
            try:
                _reserve_one(session, chooser.choice(client.skus), f"{client.run}-{client.number}-{done + short}")
                done += 1
                latencies.append(time.perf_counter() - began)
            except OutOfStock:
                session.rollback()
                short += 1
                if ends is None:
                    break
    engine.dispose()
    results.put((done, short, latencies))


def _run(url: str, *, label: str, clients: int, seconds: float | None, skus: list[int], warm_up_sku: int) -> Run:
    """``clients`` processes reserving until ``seconds`` pass (or, with None, until the stock runs out)."""
    run = f"BENCH-{next(_runs)}"
    return _race(label, _client, [_Client(url, number, skus, seconds, warm_up_sku, run) for number in range(clients)])


def _race(label: str, target: Callable[[Any, BarrierType, Queue[Outcome]], None], specs: list[Any]) -> Run:
    """One process per spec running ``target(spec, start, results)``, all started at once; what they did."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(specs) + 1)
    results: Queue[Outcome] = context.Queue()
    processes = [context.Process(target=target, args=(spec, start, results)) for spec in specs]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    gathered = [results.get() for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    return Run(label, len(specs), sum(done for done, _, _ in gathered), sum(short for _, short, _ in gathered),
               elapsed, [latency for _, _, latencies in gathered for latency in latencies])


def _floor_client(spec: tuple[str, float, int], start: BarrierType, results: Queue[Outcome]) -> None:
    """One bare client: the guarded update and the ledger line of a reservation on one of ``rows`` levels picked
    at random, nothing else."""
    import psycopg

    url, seconds, rows = spec
    latencies: list[float] = []
    with psycopg.connect(url) as connection:
        start.wait()
        ends = time.perf_counter() + seconds
        while time.perf_counter() < ends:
            level = random.randint(1, rows)
            began = time.perf_counter()
            with connection.transaction():
                connection.execute("UPDATE bench_floor_levels SET reserved = reserved + 1 "
                                   "WHERE id = %s AND on_hand - reserved >= 1", (level,))
                connection.execute("INSERT INTO bench_floor_moves (level_id, reserved_delta) VALUES (%s, 1)",
                                    (level,))
            latencies.append(time.perf_counter() - began)
    results.put((len(latencies), 0, latencies))


def _floor(engine: Engine, *, clients: int, seconds: float, rows: int) -> Run:
    """The database floor on PostgreSQL: bare clients doing only what a reservation must, on one hot level
    (``rows`` 1) or spread over ``rows`` levels."""
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_floor_levels, bench_floor_moves"))
        connection.execute(text("CREATE TABLE bench_floor_levels (id integer PRIMARY KEY, on_hand integer, "
                                "reserved integer)"))
        connection.execute(text("INSERT INTO bench_floor_levels SELECT id, 1000000000, 0 "
                                "FROM generate_series(1, :rows) AS id"), {"rows": rows})
        connection.execute(text("CREATE TABLE bench_floor_moves (id bigserial PRIMARY KEY, level_id integer, "
                                "reserved_delta integer)"))
    bare_url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    label = "hot row, bare SQL (floor)" if rows == 1 else f"{rows} rows, bare SQL (floor)"
    return _race(label, _floor_client, [(bare_url, seconds, rows)] * clients)


def _ledger_matches(engine: Engine) -> bool:
    with session_factory(engine)() as session:
        levels = {(row[0], row[1]): (row[2], row[3]) for row in session.execute(
            select(StockLevel.variant_id, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved))}
        ledger = {(row[0], row[1]): (int(row[2]), int(row[3])) for row in session.execute(
            select(StockMovement.variant_id, StockMovement.location_id, func.sum(StockMovement.on_hand_delta),
                   func.sum(StockMovement.reserved_delta))
            .group_by(StockMovement.variant_id, StockMovement.location_id))}
        return levels == ledger and all(on_hand >= reserved for on_hand, reserved in levels.values())


def _print(run: Run, baseline: Run | None) -> None:
    ratio = f"  ×{run.rate / baseline.rate:.2f} vs 1 client" if baseline and baseline.rate else ""
    print(f"  {run.label:<28} {run.clients:>2} clients  {run.rate:>8.0f} reservations/s  "
          f"p50 {run.percentile(0.50):6.1f} ms  p95 {run.percentile(0.95):6.1f} ms  "
          f"p99 {run.percentile(0.99):6.1f} ms{ratio}")


def _round_trip_ms(engine: Engine, count: int = 200) -> float:
    """The median time of ``SELECT 1``: what one statement costs on this machine now, whatever it does."""
    timings = []
    with engine.connect() as connection:
        for _ in range(count):
            began = time.perf_counter()
            connection.execute(text("SELECT 1"))
            timings.append(time.perf_counter() - began)
    return sorted(timings)[len(timings) // 2] * 1000


def bench(url: str, *, name: str, clients: int, seconds: float, skus: int, oversell_units: int) -> bool:
    """Run every measurement on one database; returns whether nothing was oversold."""
    engine = make_engine(url)
    print(f"{name} (one statement's round trip: {_round_trip_ms(engine):.2f} ms median):")
    hot, _, _ = _make_skus(engine, 1, 1_000_000)
    spread, _, _ = _make_skus(engine, skus, 1_000_000)
    on_postgres = engine.dialect.name == "postgresql"
    for label, picked in (("hot SKU", hot), (f"spread over {skus} SKUs", spread)):
        floor = _floor(engine, clients=clients, seconds=seconds, rows=len(picked)) if on_postgres else None
        if floor is not None:
            _print(floor, None)
        baseline = _run(url, label=f"{label} (baseline)", clients=1, seconds=seconds, skus=picked,
                        warm_up_sku=hot[0])
        _print(baseline, None)
        crowd = _run(url, label=label, clients=clients, seconds=seconds, skus=picked, warm_up_sku=hot[0])
        _print(crowd, baseline)
        if floor is not None and floor.rate:
            print(f"  {'':<28} {crowd.rate / floor.rate:.0%} of the floor")
    scarce, _, _ = _make_skus(engine, 1, oversell_units // 2)
    hammer = _run(url, label="oversell check", clients=clients, seconds=None, skus=scarce, warm_up_sku=hot[0])
    oversold = hammer.done - 2 * (oversell_units // 2)
    consistent = _ledger_matches(engine)
    print(f"  oversell check: {2 * (oversell_units // 2)} units, {hammer.done} reserved by {clients} clients, "
          f"oversold {oversold}, ledger {'matches' if consistent else 'DOES NOT MATCH'} the levels")
    engine.dispose()
    return oversold == 0 and consistent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each timed run")
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--oversell-units", type=int, default=400)
    args = parser.parse_args()
    load_handlers()
    ok = True
    options = {"clients": args.clients, "seconds": args.seconds, "skus": args.skus,
               "oversell_units": args.oversell_units}
    if args.db in ("postgres", "both"):
        with scratch_postgres() as url:
            ok &= bench(url, name="PostgreSQL", **options)
    if args.db in ("sqlite", "both"):
        with scratch_sqlite() as url:
            ok &= bench(url, name="SQLite", **options)
    print("zero oversells" if ok else "OVERSOLD OR INCONSISTENT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
