"""Stock reservations under concurrency: throughput, latency and oversells, on PostgreSQL and SQLite.

Each client is a thread with its own connection that reserves 1 unit for a new reference and commits, over and
over, as checkouts do. Printed figures, per database (first the median round trip of ``SELECT 1``, to tell the
machine's state from the code's cost):

- hot: every client on one SKU (stock in a warehouse and a store), reservations/s and p50/p95/p99 latency;
- spread: every client on a random SKU out of 10,000;
- baseline: the same work by 1 client in the same run; the ratio says what concurrency adds (or costs);
- oversell: the clients hammer one SKU holding a few hundred units until it runs out; the units reserved must be
  exactly the units there were (oversold = 0), and every level must equal its ledger.

Usage: ``python bench/stock.py [--db postgres|sqlite|both] [--clients 16] [--seconds 3] [--skus 10000]``.
PostgreSQL comes from ``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or
postgresql://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

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

_references = itertools.count(1)


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
        product_id = session.execute(insert(Product).values(code=f"BENCH-{count}-{units}-{next(_references)}",
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


def _reserve_one(session: Session, variant_id: int) -> None:
    service.reserve(session, reference=f"BENCH-{next(_references)}", lines=[StockLine(variant_id, 1)],
                    channel=SalesChannel.web, actor="bench", expires_at=None)
    session.commit()


def _run(engine: Engine, *, label: str, clients: int, seconds: float | None,
         pick: Callable[[random.Random], int]) -> Run:
    """``clients`` threads reserving until ``seconds`` pass (or, with None, until the stock runs out)."""
    factory = session_factory(engine)
    start = threading.Barrier(clients + 1)
    stop = threading.Event()
    lock = threading.Lock()
    totals = {"done": 0, "short": 0}
    latencies: list[float] = []

    def client(number: int) -> None:
        chooser = random.Random(number)
        mine: list[float] = []
        done = short = 0
        with factory() as session:
            start.wait()
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    _reserve_one(session, pick(chooser))
                    done += 1
                    mine.append(time.perf_counter() - began)
                except OutOfStock:
                    session.rollback()
                    short += 1
                    if seconds is None:
                        break
        with lock:
            totals["done"] += done
            totals["short"] += short
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    if seconds is not None:
        time.sleep(seconds)
        stop.set()
    for thread in threads:
        thread.join()
    return Run(label, clients, totals["done"], totals["short"], time.perf_counter() - began, latencies)


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
    for label, pick in (("hot SKU", lambda _r: hot[0]), (f"spread over {skus} SKUs", lambda r: r.choice(spread))):
        baseline = _run(engine, label=f"{label} (baseline)", clients=1, seconds=seconds, pick=pick)
        _print(baseline, None)
        _print(_run(engine, label=label, clients=clients, seconds=seconds, pick=pick), baseline)
    scarce, _, _ = _make_skus(engine, 1, oversell_units // 2)
    hammer = _run(engine, label="oversell check", clients=clients, seconds=None, pick=lambda _r: scarce[0])
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
