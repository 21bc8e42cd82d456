"""Event ingestion through HTTP: ``POST /v1/batch`` on a real ``xuyen serve``, on PostgreSQL and on SQLite.

Each database is a scratch one (created, migrated and dropped here). The server runs as it is deployed
(``xuyen serve --workers W`` with ``XUYEN_DATABASE_URL``). Client processes, each with its own keep-alive
HTTP connection, post batches of 100 realistic calls (identify / track / page, Vietnamese names and
products, the context an SDK adds) as fast as the answers come back. Everything the server does on the
way is included: reading and validating the JSON, the write key, messageId dedupe, identity resolution
(new profiles, identifiers attached, merges when a known customer signs in on another device or gives
an e-mail already seen, conflicts on shared family phones), the insert and the commit of each request.

The traffic: a pool of customers, most with an account, each on one to three devices (anonymous ids);
a call picks a customer and one of their devices. Pages are anonymous; tracks carry the user id once
the device has signed in; identifies sign the device in (user id, e-mail, phone) or, without an
account, leave an e-mail. So identities repeat across batches and profiles merge as devices sign in.

Printed figures, per database:

- HTTP: events/s over the whole run, and p50 / p99 latency of one batch (request sent to answer read);
- the identity work the run did: profiles, identifiers, merges and conflicts recorded;
- baseline: the same rows inserted directly by one connection, ``insert(Event)`` executemany in batches
  of 100 with a commit per batch (what each request commits), no HTTP, no validation, no identity
  resolution; the ratio says what the whole ingestion path costs over writing the rows;
- the clients' own ceiling: the same clients against a server that only reads each body and answers,
  so it is plain when the clients, not the server, would be the limit.

The baseline runs first, on the empty table, so the HTTP run never profits from it. After the warm-up,
PostgreSQL is asked to ANALYZE, as autovacuum would have done in a running system.

Usage: ``python -m bench.ingest [--clients 8] [--batches 40] [--workers W] [--customers 5000]
[--only postgres|sqlite]``
(W defaults to the number of CPU cores). PostgreSQL comes from ``XUYEN_BENCH_POSTGRES_URL`` (default:
``XUYEN_TEST_POSTGRES_URL`` or postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from bench.jobs import percentile, scratch_postgres, scratch_sqlite
from xuyen.db import make_engine, session_factory
from xuyen.events.models import ChannelType, Event, EventType, QuarantinedEvent
from xuyen.events.service import create_source
from xuyen.identity.models import IdentityConflict, Merge, Profile, ProfileIdentifier

REPO = Path(__file__).resolve().parents[1]
EVENTS_PER_BATCH = 100
STARTUP_SECONDS = 60.0

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


@dataclass
class Customer:
    """One shopper: an account or not, a few devices, and which devices have signed in."""

    number: int
    name: str
    email: str
    phone: str
    city: str
    has_account: bool
    devices: list[str]
    signed_in: set[str] = field(default_factory=set)

    @property
    def user_id(self) -> str:
        return f"KH-{self.number:06d}"


def _customers(rng: random.Random, count: int) -> list[Customer]:
    """``count`` customers: 75 % with an account, one to three devices, 3 % sharing a family phone."""
    pool = []
    for number in range(count):
        pool.append(Customer(
            number=number, name=f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            email=f"khach{number}@example.vn", phone=f"09{rng.randrange(10**8):08d}", city=rng.choice(CITIES),
            has_account=rng.random() < 0.75,
            devices=[str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(rng.choice([1, 1, 2, 2, 3]))]))
    for customer in rng.sample(pool, count * 3 // 100):
        customer.phone = rng.choice(pool).phone
    return pool


def _context(rng: random.Random) -> dict[str, Any]:
    return {"library": LIBRARY, "ip": f"113.161.{rng.randrange(256)}.{rng.randrange(256)}", "locale": "vi-VN",
            "userAgent": USER_AGENT, "timezone": "Asia/Ho_Chi_Minh"}


def _call(rng: random.Random, customer: Customer, at: datetime) -> dict[str, Any]:
    """One call as analytics.js would send it: 20 % identify, 50 % track, 30 % page."""
    device = rng.choice(customer.devices)
    base: dict[str, Any] = {"messageId": str(uuid.UUID(int=rng.getrandbits(128))), "anonymousId": device,
                            "timestamp": at.isoformat(timespec="milliseconds"), "context": _context(rng)}
    roll = rng.random()
    if roll < 0.2:
        if not customer.has_account:  # a newsletter sign-up: an e-mail, no account
            return base | {"type": "identify", "traits": {"email": customer.email}}
        customer.signed_in.add(device)
        return base | {"type": "identify", "userId": customer.user_id, "traits": {
            "name": customer.name, "email": customer.email, "phone": customer.phone,
            "address": {"city": customer.city, "country": "VN"}}}
    if roll < 0.7:
        event, properties = _track(rng)
        user = {"userId": customer.user_id} if device in customer.signed_in else {}
        return base | user | {"type": "track", "event": event, "properties": properties}
    title, path = rng.choice(PAGES)
    return base | {"type": "page", "name": title, "properties": {
        "title": f"{title} – Xuyên", "url": f"https://xuyen.vn{path}", "path": path,
        "referrer": rng.choice(["", "https://www.google.com/", "https://zalo.me/", "https://facebook.com/"])}}


def _track(rng: random.Random) -> tuple[str, dict[str, Any]]:
    product_id, product, category, price = rng.choice(PRODUCTS)
    event = rng.choice(TRACKS)
    if event != "Order Completed":
        return event, {"product_id": product_id, "name": product, "category": category, "price": price,
                       "currency": "VND"}
    quantity = rng.randint(1, 3)
    return event, {"order_id": f"DH-{rng.randrange(10**7):07d}", "total": price * quantity + 30_000,
                   "shipping": 30_000, "currency": "VND", "coupon": rng.choice(["", "TET2026", "FREESHIP"]),
                   "products": [{"product_id": product_id, "name": product, "price": price, "quantity": quantity}]}


def make_batches(count: int, *, seed: int, customers: int = 5_000) -> list[list[dict[str, Any]]]:
    """``count`` batches of 100 calls from a pool of customers, a second apart in time (so identities repeat
    across batches, and later batches see later times)."""
    rng = random.Random(seed)
    pool = _customers(rng, customers)
    start = datetime.now(UTC) - timedelta(seconds=count)
    return [[_call(rng, rng.choice(pool), start + timedelta(seconds=index, milliseconds=10 * item))
             for item in range(EVENTS_PER_BATCH)] for index in range(count)]


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
    """Rows per second inserted directly: ``insert(Event)`` executemany of 100 rows and a commit, batch after
    batch, on one connection (the same statement form ingestion writes its events with)."""
    engine = make_engine(url, pool=False)
    with session_factory(engine)() as session:
        source, _ = create_source(session, name="Baseline", channel=ChannelType.web)
        source_id = source.id
    now = datetime.now(UTC)
    rows = [[_row(source_id, call, now) for call in batch] for batch in batches]
    with engine.connect() as connection:
        started = time.perf_counter()
        for batch in rows:
            connection.execute(insert(Event), batch)
            connection.commit()
        elapsed = time.perf_counter() - started
    engine.dispose()
    return sum(len(batch) for batch in rows) / elapsed


# The server and the clients ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(url: str, *, workers: int) -> Iterator[int]:
    """``xuyen serve --workers N`` on a free local port against ``url``; yields the port. Its log goes to a file
    whose most frequent warnings and errors are printed when it stops."""
    port = _free_port()
    env = dict(os.environ, XUYEN_DATABASE_URL=url, XUYEN_LOG_LEVEL="WARNING", XUYEN_ENV="development",
               PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "xuyen.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_ready(process, f"http://127.0.0.1:{port}")
            yield port
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
            if httpx.get(f"{base}/readyz", timeout=2.0).status_code == 200:
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


def _client(port: int, bodies: list[bytes], start: Barrier, results: Any) -> None:
    """One client process: post its bodies back to back on one keep-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    failures: list[str] = []
    accepted = 0
    start.wait()
    for body in bodies:
        sent = time.perf_counter()
        connection.request("POST", "/v1/batch", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        latencies.append((time.perf_counter() - sent) * 1000)
        if response.status == 200:
            accepted += EVENTS_PER_BATCH
        else:
            failures.append(f"{response.status} {_code(answer)}")
    connection.close()
    results.put((latencies, accepted, failures))


def _code(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("code", ""))
    except ValueError:
        return answer[:80].decode(errors="replace")


def post_all(port: int, key: str, batches: list[list[dict[str, Any]]], *, clients: int) -> Run:
    """Post every batch from ``clients`` processes at once; each sends its share back to back."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients + 1)
    results = context.Queue()
    processes = [context.Process(target=_client, args=(port, _bodies(batches[index::clients], key), start, results))
                 for index in range(clients)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    collected = [results.get() for _ in processes]
    seconds = time.perf_counter() - began
    for process in processes:
        process.join()
    return Run(events=sum(len(batch) for batch in batches), accepted=sum(accepted for _, accepted, _ in collected),
               seconds=seconds, latencies_ms=[ms for latencies, _, _ in collected for ms in latencies],
               failures=[failure for _, _, failures in collected for failure in failures])


class _NullHandler(BaseHTTPRequestHandler):
    """Reads the body and answers as the tracking API does, doing nothing else."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "16")
        self.end_headers()
        self.wfile.write(b'{"success":true}')

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def _serve_null(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _NullHandler).serve_forever()


def client_ceiling(batches: list[list[dict[str, Any]]], *, clients: int) -> float:
    """Events per second the clients reach against a server that only reads the bodies."""
    port = _free_port()
    null = multiprocessing.get_context("fork").Process(target=_serve_null, args=(port,), daemon=True)
    null.start()
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        run = post_all(port, "none", batches, clients=clients)
    finally:
        null.terminate()
        null.join()
    return run.accepted / run.seconds


def analyze(url: str) -> None:
    """Give PostgreSQL's planner statistics of the tables the warm-up filled, as autovacuum does within a
    minute of a table's growth (without them it guesses that an index finds a handful of rows, and scans)."""
    engine = make_engine(url, pool=False)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()


def stored_counts(url: str, source_id: int) -> dict[str, int]:
    """Events stored and calls quarantined for the source, and what identity resolution recorded."""
    queries = {
        "events": select(func.count()).select_from(Event).where(Event.source_id == source_id),
        "quarantined": select(func.count()).select_from(QuarantinedEvent)
        .where(QuarantinedEvent.source_id == source_id),
        "profiles": select(func.count()).select_from(Profile).where(Profile.merged_into_id.is_(None)),
        "identifiers": select(func.count()).select_from(ProfileIdentifier),
        "merges": select(func.count()).select_from(Merge),
        "conflicts": select(func.count()).select_from(IdentityConflict),
    }
    engine = make_engine(url, pool=False)
    with engine.connect() as connection:
        counts = {name: int(connection.execute(query).scalar_one()) for name, query in queries.items()}
    engine.dispose()
    return counts


def measure(label: str, url: str, args: argparse.Namespace) -> None:
    """Baseline, then the HTTP run, on the database at ``url``; prints one block of figures."""
    direct = baseline(url, make_batches(args.baseline_batches, seed=1))
    engine = make_engine(url, pool=False)
    with session_factory(engine)() as session:
        source, key = create_source(session, name="Website", channel=ChannelType.web)
        source_id = source.id
    engine.dispose()
    warm = args.clients * 2
    every = make_batches(warm + args.clients * args.batches, seed=3, customers=args.customers)
    warmup, batches = every[:warm], every[warm:]
    with server(url, workers=args.workers) as port:
        post_all(port, key, warmup, clients=args.clients)  # connections, caches, the first profiles
        analyze(url)
        run = post_all(port, key, batches, clients=args.clients)
    counts = stored_counts(url, source_id)
    rate = run.accepted / run.seconds
    p50, p99 = percentile(run.latencies_ms, 0.5), percentile(run.latencies_ms, 0.99)
    failed = ", ".join(f"{count} x {what}" for what, count in Counter(run.failures).most_common())
    sent = run.events + len(warmup) * EVENTS_PER_BATCH
    print(f"{label}: {run.events:,} events in {len(batches)} batches of {EVENTS_PER_BATCH} from {args.clients} "
          f"client processes, `xuyen serve --workers {args.workers}`")
    print(f"  HTTP /v1/batch   {rate:8.0f} events/s accepted   batch latency p50 {p50:6.0f} ms   p99 {p99:6.0f} ms")
    print(f"  baseline insert  {direct:8.0f} rows/s    (insert(Event) executemany, 100 rows a commit, one connection)")
    print(f"  HTTP / baseline  {rate / direct:8.2f}")
    print(f"  stored {counts['events']:,} of {sent:,} events sent (warm-up included), {counts['quarantined']} "
          f"quarantined, {len(run.failures)} of {len(batches)} requests failed" + (f" ({failed})" if failed else ""))
    print(f"  identity: {counts['profiles']:,} profiles, {counts['identifiers']:,} identifiers, "
          f"{counts['merges']:,} merges, {counts['conflicts']:,} conflicts recorded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP client processes")
    parser.add_argument("--batches", type=int, default=40, help="batches of 100 events per client")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="`xuyen serve` processes")
    parser.add_argument("--customers", type=int, default=5_000, help="customers in the traffic's pool")
    parser.add_argument("--baseline-batches", type=int, default=100, help="batches of 100 rows for the baseline")
    parser.add_argument("--only", choices=["postgres", "sqlite"], help="measure one database only")
    args = parser.parse_args()

    print(f"bench/ingest.py: POST /v1/batch, {EVENTS_PER_BATCH} calls a batch (identify 20 %, track 50 %, page 30 %),"
          f" {args.customers:,} customers, {os.cpu_count()} CPU cores shared by server, database and clients")
    ceiling = client_ceiling(make_batches(args.clients * args.batches, seed=4, customers=args.customers),
                             clients=args.clients)
    print(f"clients' ceiling: {ceiling:,.0f} events/s against a server that only reads the bodies")
    if args.only in (None, "postgres"):
        with scratch_postgres() as url:
            measure("PostgreSQL", url, args)
    if args.only in (None, "sqlite"):
        with scratch_sqlite() as url:
            measure("SQLite", url, args)


if __name__ == "__main__":
    main()
