"""Quote throughput and latency: a 10-line cart with 20 active promotions, in-process and through the HTTP API.

Printed figures, each with p50/p95/p99 latency:

- baseline: the same cart quoted before any promotion exists (prices, overrides and VAT only), in-process;
- in-process: ``pricing.service.quote`` with a new session per quote, as a request has;
- in-process, cold: the same with the process's pricing cache emptied before every quote, as the first quote after
  any change of prices, promotions, VAT rates or variants finds it;
- HTTP: ``POST /api/v1/quote`` against a uvicorn server in another process (one keep-alive connection per
  client, ``--clients`` clients at once), with an API key.

The ratios say what the promotions engine adds to a quote, and what HTTP (parsing, auth, JSON) adds on top.

Usage: ``python -m bench.quote [--seconds 3] [--clients 2] [--postgres]``. PostgreSQL comes from
``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or postgresql://postgres@127.0.0.1:5432/test);
a scratch database is created and dropped; SQLite uses a temporary file.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.commerce.catalogue import categories
from xuyen.commerce.catalogue import service as catalogue
from xuyen.commerce.catalogue.schemas import CategoryIn, ProductIn, VariantIn
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.pricing import admin, cache, prices, promotions
from xuyen.commerce.pricing.service import QuoteRequestLine, quote
from xuyen.db import make_engine, normalise_url, session_factory
from xuyen.migrate import upgrade

AIM_PER_SECOND = 2_000
LINES = 10
AT = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def _server_url() -> str:
    default = os.environ.get("XUYEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return os.environ.get("XUYEN_BENCH_POSTGRES_URL", default)


@contextmanager
def scratch_database(postgres: bool) -> Iterator[str]:
    """A new, migrated database (PostgreSQL or a SQLite file), removed afterwards."""
    if not postgres:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            upgrade(url)
            yield url
        return
    server = _server_url()
    name = f"xuyen_bench_{uuid.uuid4().hex[:8]}"
    admin_engine = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        with admin_engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


def make_catalogue(session: Session) -> list[str]:
    """Twelve variants in two categories, made through the catalogue, with base prices; their SKUs."""
    admin.install_defaults(session)
    folders = [categories.create_category(session, category=CategoryIn(name=f"Danh mục {number}"), actor="bench")
               for number in (1, 2)]
    skus = []
    for number in range(LINES + 2):
        sku = f"SKU-{number}"
        catalogue.create_product(session, product=ProductIn(
            code=f"P{number}", name=f"Sản phẩm {number}", category_id=folders[number % 2].id,
            variants=[VariantIn(sku=sku, options={"Cỡ": "M"})]), actor="bench")
        skus.append(sku)
    price_list = prices.base_price_list(session)
    admin.set_prices(session, price_list_id=price_list.id, actor="bench",
                     amounts={}, sku_amounts={sku: 99_000 + 10_000 * number for number, sku in enumerate(skus)})
    admin.create_override(session, changes={"channel": "shopee", "kind": "percent", "percent": 10,
                                            "round_to": 1000, "reason": "Phí sàn"}, actor="bench")
    return skus


def make_promotions(session: Session, skus: list[str]) -> None:
    """Twenty active promotions of every kind, some restricted, grouped, exclusive or behind a coupon."""
    definitions: list[dict[str, Any]] = [
        {"kind": "percent", "params": {"percent": 5}},
        {"kind": "percent", "scope": "categories", "targets": [1], "params": {"percent": 10}, "stack_group": "cat"},
        {"kind": "percent", "scope": "categories", "targets": [2], "params": {"percent": 8}, "stack_group": "cat"},
        {"kind": "fixed", "params": {"amount": 20_000}},
        {"kind": "fixed", "scope": "skus", "targets": skus[:3], "params": {"amount": 5_000, "per_item": True}},
        {"kind": "buy_x_get_y", "params": {"buy": 2, "get": 1}, "exclusive": True},
        {"kind": "buy_x_get_y", "scope": "categories", "targets": [1], "params": {"buy": 3, "get": 1,
                                                                               "percent": 50}},
        {"kind": "bundle", "params": {"items": [{"sku": skus[0], "quantity": 1}, {"sku": skus[1], "quantity": 1}],
                                      "price": 150_000}},
        {"kind": "threshold", "params": {"min_subtotal": 1_000_000, "amount": 50_000}},
        {"kind": "threshold", "params": {"min_subtotal": 2_000_000, "gift_sku": skus[-1]}},
        {"kind": "percent", "params": {"percent": 15}, "channels": ["pos"]},
        {"kind": "percent", "params": {"percent": 12}, "tiers": ["gold"]},
        {"kind": "fixed", "params": {"amount": 30_000}, "requires_coupon": True},
        {"kind": "percent", "params": {"percent": 20, "max_discount": 100_000}, "exclusive": True},
        {"kind": "fixed", "params": {"amount": 10_000}, "stack_group": "flash"},
        {"kind": "fixed", "params": {"amount": 15_000}, "stack_group": "flash"},
        {"kind": "percent", "scope": "skus", "targets": skus[4:7], "params": {"percent": 7}},
        {"kind": "percent", "scope": "products", "targets": [1, 2, 3], "params": {"percent": 3}, "priority": 5},
        {"kind": "threshold", "params": {"min_subtotal": 500_000, "percent": 2}},
        {"kind": "fixed", "params": {"amount": 1_000}, "channels": ["web", "app"]},
    ]
    for number, definition in enumerate(definitions, start=1):
        promotions.create_promotion(session, changes={"name": f"KM {number}", **definition}, actor="bench")


def _cart(skus: list[str]) -> list[QuoteRequestLine]:
    return [QuoteRequestLine(sku, 1 + number % 3) for number, sku in enumerate(skus[:LINES])]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def _measure(call: Callable[[], None], seconds: float) -> tuple[float, list[float]]:
    for _ in range(20):  # warm the caches
        call()
    timings: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        before = time.perf_counter()
        call()
        timings.append((time.perf_counter() - before) * 1000)
    return len(timings) / (time.perf_counter() - started), timings


def in_process(url: str, skus: list[str], seconds: float, *, cold: bool = False) -> tuple[float, list[float]]:
    """Quotes per second calling the service, a new session per quote (``cold``: the pricing cache emptied first)."""
    engine = make_engine(url)
    sessions = session_factory(engine.execution_options(sqlite_begin="DEFERRED"))
    lines = _cart(skus)

    def one() -> None:
        if cold:
            cache.clear()
        with sessions() as session:
            quote(session, channel=SalesChannel.web, lines=lines, at=AT, coupon_codes=())

    try:
        return _measure(one, seconds)
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(url: str) -> Iterator[str]:
    """The app under uvicorn in another process."""
    port = _free_port()
    env = {**os.environ, "XUYEN_DATABASE_URL": url, "XUYEN_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "xuyen.app:create_served_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--no-access-log", "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def over_http(base: str, key: str, skus: list[str], seconds: float, clients: int) -> tuple[float, list[float]]:
    """Quotes per second through POST /api/v1/quote with ``clients`` keep-alive clients at once."""
    body = {"channel": "web", "at": AT.isoformat(),
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in _cart(skus)]}
    results: list[tuple[float, list[float]]] = []

    def client() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as http:
            def one() -> None:
                response = http.post("/api/v1/quote", json=body)
                if response.status_code != 200:
                    raise RuntimeError(response.text)
            results.append(_measure(one, seconds))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(rate for rate, _ in results), [timing for _, timings in results for timing in timings]


def _line(label: str, rate: float, timings: list[float], baseline: float | None = None) -> str:
    ratio = f"   {rate / baseline:.2f}× baseline" if baseline else ""
    return (f"  {label:<34} {rate:8,.0f} quotes/s   p50 {percentile(timings, 0.50):6.2f} ms   "
            f"p95 {percentile(timings, 0.95):6.2f} ms   p99 {percentile(timings, 0.99):6.2f} ms{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=2, help="HTTP clients at once")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of a SQLite file")
    options = parser.parse_args()
    with scratch_database(options.postgres) as url:
        engine = make_engine(url)
        with session_factory(engine)() as session:
            skus = make_catalogue(session)
            _, key = auth_service.create_api_key(session, name="bench", role=Role.agent)
        print(f"Quote of a {LINES}-line cart on {'PostgreSQL' if options.postgres else 'SQLite'}, "
              f"{options.seconds:.0f} s per measurement (aim: {AIM_PER_SECOND:,} quotes/s)")
        base_rate, base_timings = in_process(url, skus, options.seconds)
        print(_line("baseline: no promotions, in-process", base_rate, base_timings))
        with session_factory(engine)() as session:
            make_promotions(session, skus)
        rate, timings = in_process(url, skus, options.seconds)
        print(_line("20 promotions, in-process", rate, timings, base_rate))
        cold_rate, cold_timings = in_process(url, skus, options.seconds, cold=True)
        print(_line("20 promotions, cold cache", cold_rate, cold_timings, base_rate))
        with served(url) as base:
            http_rate, http_timings = over_http(base, key, skus, options.seconds, options.clients)
        print(_line(f"20 promotions, HTTP ({options.clients} clients)", http_rate, http_timings, base_rate))
        engine.dispose()


if __name__ == "__main__":
    main()
