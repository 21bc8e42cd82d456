"""Event ingestion through HTTP: ``POST /v1/batch`` on a real ``xuyen serve``, on PostgreSQL and on SQLite.

Each database is a scratch one (created, migrated and dropped here). The server runs in its own process,
started as it is deployed (``xuyen serve`` with ``XUYEN_DATABASE_URL``). N client threads, each with its
own keep-alive HTTP connection, post batches of 100 realistic calls (identify / track / page, Vietnamese
names and products, the context an SDK adds) as fast as the answers come back. Everything the server
does on the way is included: reading and validating the JSON, the write key, messageId dedupe, identity
resolution (as far as ingestion does it today), the insert and the commit of each request.

Printed figures, per database:

- HTTP: events/s over the whole run, and p50 / p99 latency of one batch (request sent to answer read);
- baseline: the same rows inserted directly by one connection, ``insert(Event)`` executemany in batches
  of 100 with a commit per batch (what each request commits), no HTTP, no validation, no identity
  resolution; the ratio says what the whole ingestion path costs over writing the rows.

The baseline runs first, on the empty table, so the HTTP run never profits from it.

Usage: ``python bench/ingest.py [--clients 4] [--batches 25] [--baseline-batches 100] [--only postgres|sqlite]``.
PostgreSQL comes from ``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or
postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from bench.jobs import percentile, scratch_postgres, scratch_sqlite
from xuyen.db import make_engine, session_factory
from xuyen.events.models import ChannelType, Event, EventType, QuarantinedEvent
from xuyen.events.service import create_source

REPO = Path(__file__).resolve().parents[1]
EVENTS_PER_BATCH = 100
STARTUP_SECONDS = 30.0

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Quang", "Bảo"]
GIVEN = ["Lan", "Hoa", "Minh", "Tuấn", "Hương", "Dũng", "Mai", "Phương", "Nam", "Linh", "Trang", "Sơn", "Hải"]
CITIES = ["Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế", "Nha Trang", "Vũng Tàu"]
PRODUCTS = [
    ("SP-101", "Áo dài lụa tơ tằm", "Thời trang nữ", 950_000), ("SP-207", "Nón lá Huế", "Phụ kiện", 150_000),
    ("SP-315", "Cà phê Buôn Ma Thuột rang xay 500g", "Thực phẩm", 185_000),
    ("SP-422", "Nước mắm Phú Quốc 40 độ đạm", "Thực phẩm", 95_000),
    ("SP-530", "Áo sơ mi nam linen", "Thời trang nam", 420_000), ("SP-611", "Túi cói Hội An", "Phụ kiện", 260_000),
    ("SP-708", "Trà Shan tuyết Hà Giang", "Thực phẩm", 320_000), ("SP-816", "Gốm Bát Tràng bộ ấm chén", "Gia dụng",
                                                                     780_000),
]
PAGES = [("Trang chủ", "/"), ("Khuyến mãi", "/khuyen-mai"), ("Giỏ hàng", "/gio-hang"), ("Thanh toán", "/thanh-toan"),
         ("Áo dài", "/danh-muc/ao-dai"), ("Đặc sản", "/danh-muc/dac-san")]
TRACKS = ["Product Viewed", "Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed"]
LIBRARY = {"name": "analytics.js", "version": "next-1.81.0"}
USER_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/17.5 Mobile/15E148 Safari/604.1")


# The traffic ----------------------------------------------------------------------------------------------


def _customer(rng: random.Random, number: int) -> dict[str, Any]:
    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    return {"user_id": f"KH-{number:06d}", "anonymous_id": str(uuid.UUID(int=rng.getrandbits(128))), "name": name,
            "email": f"khach{number}@example.vn", "phone": f"09{rng.randrange(10**8):08d}",
            "city": rng.choice(CITIES)}


def _call(rng: random.Random, customer: dict[str, Any], at: datetime) -> dict[str, Any]:
    """One call as analytics.js would send it: 20 % identify, 50 % track, 30 % page."""
    base: dict[str, Any] = {
        "messageId": str(uuid.UUID(int=rng.getrandbits(128))), "anonymousId": customer["anonymous_id"],
        "timestamp": at.isoformat(timespec="milliseconds"),
        "context": {"library": LIBRARY, "ip": f"113.161.{rng.randrange(256)}.{rng.randrange(256)}",
                    "locale": "vi-VN", "userAgent": USER_AGENT, "timezone": "Asia/Ho_Chi_Minh"},
    }
    roll = rng.random()
    if roll < 0.2:
        return base | {"type": "identify", "userId": customer["user_id"], "traits": {
            "name": customer["name"], "email": customer["email"], "phone": customer["phone"],
            "address": {"city": customer["city"], "country": "VN"}}}
    if roll < 0.7:
        product_id, product, category, price = rng.choice(PRODUCTS)
        event = rng.choice(TRACKS)
        properties: dict[str, Any] = {"product_id": product_id, "name": product, "category": category,
                                      "price": price, "currency": "VND"}
        if event == "Order Completed":
            quantity = rng.randint(1, 3)
            properties = {"order_id": f"DH-{rng.randrange(10**7):07d}", "total": price * quantity + 30_000,
                          "shipping": 30_000, "currency": "VND", "coupon": rng.choice(["", "TET2026", "FREESHIP"]),
                          "products": [{"product_id": product_id, "name": product, "price": price,
                                        "quantity": quantity}]}
        return base | {"type": "track", "userId": customer["user_id"], "event": event, "properties": properties}
    title, path = rng.choice(PAGES)
    return base | {"type": "page", "name": title, "properties": {
        "title": f"{title} – Xuyên", "url": f"https://xuyen.vn{path}", "path": path,
        "referrer": rng.choice(["", "https://www.google.com/", "https://zalo.me/", "https://facebook.com/"])}}


def make_batches(count: int, *, seed: int, customers: int = 20_000) -> list[list[dict[str, Any]]]:
    """``count`` batches of 100 calls from a pool of customers (so identities repeat across batches)."""
    rng = random.Random(seed)
    pool = [_customer(rng, number) for number in range(customers)]
    start = datetime.now(UTC) - timedelta(hours=1)
    return [[_call(rng, rng.choice(pool), start + timedelta(milliseconds=rng.randrange(3_600_000)))
             for _ in range(EVENTS_PER_BATCH)] for _ in range(count)]


def _row(source_id: int, call: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    """The row ingestion would store for ``call`` (the baseline inserts these directly)."""
    moment = datetime.fromisoformat(call["timestamp"])
    return {
        "source_id": source_id, "channel": ChannelType.web.value, "type": EventType(call["type"]),
        "event": call.get("event"), "name": call.get("name"), "message_id": call["messageId"],
        "user_id": call.get("userId"), "anonymous_id": call.get("anonymousId"), "previous_id": None,
        "group_id": None, "properties": call.get("properties", {}), "traits": call.get("traits", {}),
        "context": call["context"], "integrations": {}, "timestamp": moment, "original_timestamp": moment,
        "sent_at": received_at, "received_at": received_at,
    }


# The baseline ----------------------------------------------------------------------------------------------


def baseline(url: str, batches: list[list[dict[str, Any]]]) -> float:
    """Rows per second inserted directly, ``insert(Event)`` executemany per 100 rows, a commit per batch.

    ``render_nulls`` keeps the ORM from splitting a batch into one INSERT per pattern of NULL columns
    (without it, the same rows go in at less than half the rate on PostgreSQL).
    """
    engine = make_engine(url, pool=False)
    with session_factory(engine)() as session:
        source, _ = create_source(session, name="Baseline", channel=ChannelType.web)
        now = datetime.now(UTC)
        rows = [[_row(source.id, call, now) for call in batch] for batch in batches]
        started = time.perf_counter()
        statement = insert(Event).execution_options(render_nulls=True)  # one multi-row INSERT per batch
        for batch in rows:
            session.execute(statement, batch)
            session.commit()
        elapsed = time.perf_counter() - started
    engine.dispose()
    return sum(len(batch) for batch in rows) / elapsed


# The server and the clients ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(url: str) -> Iterator[str]:
    """``xuyen serve`` on a free local port against ``url``; yields its base URL. Its log goes to a file whose
    last lines are printed when the server fails to start or answered with errors."""
    port = _free_port()
    env = dict(os.environ, XUYEN_DATABASE_URL=url, XUYEN_LOG_LEVEL="WARNING", XUYEN_ENV="development",
               PYTHONPATH=str(REPO))
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "xuyen.cli", "serve", "--host", "127.0.0.1", "--port",
                                    str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(process, base)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.seek(0)
            _print_log_summary(log.read().decode(errors="replace"))


def _print_log_summary(text: str) -> None:
    """The server's warnings and errors, counted by their first line (the root cause of an exception)."""
    causes: Counter[str] = Counter()
    for line in filter(str.strip, text.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            causes[line.strip()[:160]] += 1
            continue
        trace = [part for part in str(entry.get("exception", "")).splitlines()
                 if part and not part[0].isspace() and not part.startswith(("Traceback", "The above", "During"))]
        causes[(trace[0] if trace else str(entry.get("message", "")))[:160]] += 1
    for cause, count in causes.most_common(5):
        print(f"  server log: {count} x {cause}")


def _wait_ready(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited at start; see its log below")
        try:
            if httpx.get(f"{base}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not become ready within {STARTUP_SECONDS:.0f} s")


@dataclass
class Run:
    """What the clients measured."""

    events: int
    accepted: int
    seconds: float
    latencies_ms: list[float]
    failures: list[str]


def _bodies(batches: list[list[dict[str, Any]]], key: str) -> list[bytes]:
    return [json.dumps({"batch": batch, "writeKey": key, "sentAt": datetime.now(UTC).isoformat()},
                       ensure_ascii=False).encode() for batch in batches]


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return response.text[:80]


def post_all(base: str, key: str, batches: list[list[dict[str, Any]]], *, clients: int) -> Run:
    """Post every batch from ``clients`` threads at once; each thread sends its share back to back."""
    shares = [_bodies(batches[index::clients], key) for index in range(clients)]
    latencies: list[float] = []
    failures: list[str] = []
    accepted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(bodies: list[bytes]) -> None:
        mine: list[float] = []
        ok = 0
        with httpx.Client(base_url=base, timeout=120, headers={"Content-Type": "application/json"}) as http:
            start.wait()
            for body in bodies:
                sent = time.perf_counter()
                response = http.post("/v1/batch", content=body)
                mine.append((time.perf_counter() - sent) * 1000)
                if response.status_code == 200:
                    ok += EVENTS_PER_BATCH
                else:
                    with lock:
                        failures.append(f"{response.status_code} {_code(response)}")
        with lock:
            latencies.extend(mine)
            accepted.append(ok)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Run(events=sum(len(batch) for batch in batches), accepted=sum(accepted), seconds=time.perf_counter() - began,
               latencies_ms=latencies, failures=failures)


def stored_counts(url: str, source_id: int) -> tuple[int, int]:
    """Events stored and calls quarantined for the source."""
    engine = make_engine(url, pool=False)
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(Event).where(Event.source_id == source_id))
        quarantined = connection.execute(select(func.count()).select_from(QuarantinedEvent)
                                         .where(QuarantinedEvent.source_id == source_id))
        result = int(events.scalar_one()), int(quarantined.scalar_one())
    engine.dispose()
    return result


def measure(label: str, url: str, args: argparse.Namespace) -> None:
    """Baseline, then the HTTP run, on the database at ``url``; prints one block of figures."""
    direct = baseline(url, make_batches(args.baseline_batches, seed=1))
    engine = make_engine(url, pool=False)
    with session_factory(engine)() as session:
        source, key = create_source(session, name="Website", channel=ChannelType.web)
        source_id = source.id
    engine.dispose()
    warmup = make_batches(args.clients * 2, seed=2)
    batches = make_batches(args.clients * args.batches, seed=3)
    with server(url) as base:
        post_all(base, key, warmup, clients=args.clients)  # connections, caches, the first profiles
        run = post_all(base, key, batches, clients=args.clients)
    stored, quarantined = stored_counts(url, source_id)
    rate = run.accepted / run.seconds
    p50, p99 = percentile(run.latencies_ms, 0.5), percentile(run.latencies_ms, 0.99)
    failed = ", ".join(f"{count} x {what}" for what, count in Counter(run.failures).most_common())
    sent = run.events + len(warmup) * EVENTS_PER_BATCH
    print(f"{label}: {run.events:,} events in {len(batches)} batches of {EVENTS_PER_BATCH} from {args.clients} "
          "clients")
    print(f"  HTTP /v1/batch   {rate:8.0f} events/s accepted   batch latency p50 {p50:6.0f} ms   p99 {p99:6.0f} ms")
    print(f"  baseline insert  {direct:8.0f} rows/s    (insert(Event) executemany, 100 rows a commit)")
    print(f"  HTTP / baseline  {rate / direct:8.2f}")
    print(f"  stored {stored:,} of {sent:,} events sent (warm-up included), {quarantined} quarantined, "
          f"{len(run.failures)} of {len(batches)} requests failed" + (f" ({failed})" if failed else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--batches", type=int, default=25, help="batches of 100 events per client")
    parser.add_argument("--baseline-batches", type=int, default=100, help="batches of 100 rows for the baseline")
    parser.add_argument("--only", choices=["postgres", "sqlite"], help="measure one database only")
    args = parser.parse_args()

    print(f"bench/ingest.py: POST /v1/batch, {EVENTS_PER_BATCH} calls a batch (identify 20 %, track 50 %, page 30 %),"
          f" one `xuyen serve` process, {os.cpu_count()} CPU cores")
    if args.only in (None, "postgres"):
        with scratch_postgres() as url:
            measure("PostgreSQL", url, args)
    if args.only in (None, "sqlite"):
        with scratch_sqlite() as url:
            measure("SQLite", url, args)


if __name__ == "__main__":
    main()
