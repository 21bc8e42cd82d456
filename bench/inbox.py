"""Inbox speed: providers' webhooks at a steady rate on a real ``xuyen serve`` and ``xuyen worker``, on
PostgreSQL and on SQLite. How fast is each provider answered, and how soon does each message reach an agent's
live stream?

Each database is a scratch one (created, migrated and dropped here). The product runs as it is deployed:
``xuyen serve --workers S`` and ``xuyen worker`` processes with ``XUYEN_DATABASE_URL``, default settings.
An owner's API key connects a Messenger page, a WhatsApp number, a Zalo OA and an SMS brand name through
``POST /api/v1/inbox/channels``, with the secrets of the fake providers in tests/fakes (only the inbound path
runs: nothing is sent to a provider). An agent signs in and keeps ``GET /api/v1/inbox/stream`` open in a
process of its own, timestamping every ``event: inbox`` of kind ``message`` as its line arrives.

The traffic: webhooks built and signed exactly as each provider builds them (tests/fakes builders: Meta's
``X-Hub-Signature-256`` over its escaped JSON, Zalo's ``X-ZEvent-Signature`` over app id, body, timestamp and
OA secret key, the SMS gateway's HMAC with ``X-Timestamp``), one customer message each, spread over the four
channels (Zalo 35 %, Messenger 35 %, SMS 15 %, WhatsApp 15 %) and a pool of customers, half of the traffic
from a tenth of them (regulars writing again), Vietnamese texts. They are POSTed open loop with httpx's
``AsyncClient``: each at its planned time whether or not earlier ones were answered, on an idle keep-alive
connection or a new one, so a slow server does not slow the offered rate (the client's own lag behind the plan,
and how many connections it needed, are printed too).

Printed figures, per database:

- offered and achieved rate (answers per second);
- acknowledgement latency of ``POST /webhooks/{channel_id}`` (request sent to answer read): p50/p95/p99/max;
- baseline: ``GET /healthz`` of the same server at the same rate, open loop, just before the run (the
  HTTP stack, the client and the machine's noise without the webhook's work), and the ratio;
- delivery: from the webhook's send to its message's event on the agent's stream, p50/p95/p99/max, and the
  rate messages reached the stream during the run;
- messages: answered, stored, seen on the stream, still queued when the wait ended; lost (answered 200 but
  neither stored nor queued, stored but never on the stream), reported twice, and the answers by status;
- what the server kept: receipts by status, jobs not done, the server's and workers' log warnings.

After the run it waits (``--drain``, 120 s at most) for the worker to catch up, so a backlog shows as delay.

A short warm-up (connections, caches, the first customers) runs and drains before the figures; PostgreSQL
is then asked to ANALYZE, as autovacuum would have done. The two timestamps of a delivery are taken in two
processes with ``time.monotonic()``, one clock for the whole machine on Linux.

Usage: ``python -m bench.inbox [--rate 200] [--seconds 20] [--db sqlite|postgres|both] [--servers S]
[--workers 1] [--follow-up-workers 0] [--poll-seconds P] [--customers 2000] [--drain 120]`` (S defaults to the
number of CPU cores, P to the product's own idle sleep, ``XUYEN_WORKER_POLL_SECONDS``). PostgreSQL comes
from ``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or
postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import queue
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select
from tests.fakes.meta import (
    messenger_message,
    messenger_webhook,
    meta_json,
    sign,
    whatsapp_contact,
    whatsapp_message,
    whatsapp_webhook,
)
from tests.fakes.sms_gateway import signed_webhook
from tests.fakes.zalo import ZaloFake

from bench.ingest import _free_port, _wait_ready, analyze
from bench.jobs import percentile, scratch_postgres, scratch_sqlite
from xuyen.auth.models import Role
from xuyen.auth.service import create_api_key, create_user
from xuyen.db import make_engine, session_factory
from xuyen.inbox.models import Direction, Message, ReceiptStatus, WebhookReceipt
from xuyen.jobs import Job, JobStatus

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "mat-khau-bench-inbox-2026"  # noqa: S105  (a scratch database's agent)
AGENT_EMAIL = "nhan.vien.truc@bench.vn"
ACK_AIM_P99_MS = 50.0
DELIVERY_AIM_P95_MS = 300.0
PROGRESS_SECONDS = 2.0
IDLE_SECONDS = 4.0  # a keep-alive connection idle this long is not used again (uvicorn closes them after 5 s)

# The providers' side of each connection (the fakes' secrets).
PAGE, APP_SECRET, VERIFY = "104729384756102", "meta-app-secret", "verify-me"
NUMBER, WABA, DISPLAY_PHONE = "109876543210987", "102290129340398", "15550001111"
SMS_SECRET, SMS_SHORT_CODE = "test-webhook-secret", "8077"
ZALO = ZaloFake()
CHANNEL_MIX = (("zalo", 0.35), ("messenger", 0.35), ("sms", 0.15), ("whatsapp", 0.15))

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Quang", "Bảo"]
GIVEN = ["Lan", "Hoa", "Minh", "Tuấn", "Hương", "Dũng", "Mai", "Phương", "Nam", "Linh", "Trang", "Sơn", "Hải"]
TEXTS = [
    "Shop ơi, áo sơ mi trắng còn size M không ạ?", "Đơn hàng DH-{order} của em bao giờ giao vậy shop?",
    "Cho mình hỏi phí ship ra Đà Nẵng bao nhiêu?", "Em muốn đổi áo dài sang size L, được không shop?",
    "Nón lá Huế còn hàng không ạ?", "Cà phê Buôn Ma Thuột gói 500g giá bao nhiêu vậy?",
    "Mình chuyển khoản rồi nha, shop kiểm tra giúp mình với", "Cảm ơn shop, hàng đẹp lắm! 😍",
    "Shop có bán sỉ không ạ? Em lấy 50 cái", "Bao giờ có khuyến mãi Tết vậy shop?",
    "Em ở Cần Thơ, có giao COD không ạ?", "Cho em xin số tài khoản với ạ",
    "Áo bị lỗi đường may, shop đổi giúp em nhé", "Túi cói Hội An còn màu be không?", "Dạ em cảm ơn ạ",
    "Alo shop ơi", "Nuoc mam Phu Quoc con hang khong shop", "Don DH-{order} em muon huy a",
    "Gốm Bát Tràng bộ ấm chén có hộp quà không ạ?", "Trà Shan tuyết Hà Giang loại nào ngon nhất shop?",
]


# The traffic ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Customer:
    """One shopper, with their address on each channel."""

    name: str
    psid: str
    zalo_id: str
    phone: str  # national format, 10 digits

    @property
    def wa_id(self) -> str:
        return "84" + self.phone[1:]


@dataclass
class Webhook:
    """One delivery, built and signed as its provider would, to be POSTed ``offset`` seconds into the run."""

    offset: float
    kind: str
    channel_id: int
    provider_id: str
    body: bytes
    headers: dict[str, str]

    @property
    def key(self) -> tuple[int, str]:
        return self.channel_id, self.provider_id


def customers(rng: random.Random, count: int) -> list[Customer]:
    """``count`` customers with a Facebook PSID, a Zalo id and a mobile number each."""
    return [Customer(name=f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                     psid=str(rng.randrange(10**15, 10**16)), zalo_id=str(rng.randrange(10**18, 10**19)),
                     phone=rng.choice(["090", "091", "093", "096", "097", "098", "086", "077", "035"])
                     + f"{rng.randrange(10**7):07d}") for _ in range(count)]


def _text(rng: random.Random) -> str:
    return rng.choice(TEXTS).format(order=f"{rng.randrange(10**7):07d}")


def build(kind: str, channel_id: int, customer: Customer, text: str, at: datetime, offset: float) -> Webhook:
    """The webhook ``kind``'s provider sends when ``customer`` writes ``text`` at ``at``."""
    if kind == "messenger":
        mid = "m_" + uuid.uuid4().hex + uuid.uuid4().hex[:12]
        body = meta_json(messenger_webhook(PAGE, messenger_message(PAGE, customer.psid, mid, at, text=text), at=at))
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
                   "X-Hub-Signature-256": sign(body, APP_SECRET)}
        return Webhook(offset, kind, channel_id, mid, body, headers)
    if kind == "whatsapp":
        wamid = "wamid.HBgL" + uuid.uuid4().hex.upper()
        body = meta_json(whatsapp_webhook(WABA, NUMBER, DISPLAY_PHONE,
                                          contacts=[whatsapp_contact(customer.wa_id, customer.name)],
                                          messages=[whatsapp_message(customer.wa_id, wamid, at, "text",
                                                                     {"body": text})]))
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua",
                   "X-Hub-Signature-256": sign(body, APP_SECRET)}
        return Webhook(offset, kind, channel_id, wamid, body, headers)
    if kind == "zalo":
        msg_id = uuid.uuid4().hex[:20]
        event = ZALO.user_message(customer.zalo_id, text=text, msg_id=msg_id, timestamp_ms=int(at.timestamp() * 1000))
        body, headers = ZALO.signed(event)
        return Webhook(offset, kind, channel_id, msg_id, body, headers)
    message_id = uuid.uuid4().hex
    local = at.astimezone(UTC) + timedelta(hours=7)
    event = {"type": "mo", "from": customer.phone, "to": SMS_SHORT_CODE, "text": text, "message_id": message_id,
             "timestamp": local.strftime("%Y-%m-%dT%H:%M:%S+07:00")}
    body, headers = signed_webhook(event, SMS_SECRET)
    return Webhook(offset, kind, channel_id, message_id, body, headers)


def traffic(rng: random.Random, pool: list[Customer], channels: dict[str, int], *, rate: float, seconds: float,
            starts_at: datetime) -> list[Webhook]:
    """``rate × seconds`` webhooks evenly spaced from ``starts_at``: half of them from the pool's first tenth."""
    kinds, weights = zip(*CHANNEL_MIX, strict=True)
    regulars = pool[: max(len(pool) // 10, 1)]
    planned = []
    for index in range(int(rate * seconds)):
        offset = index / rate
        customer = rng.choice(regulars) if rng.random() < 0.5 else rng.choice(pool)
        kind = rng.choices(kinds, weights=weights)[0]
        planned.append(build(kind, channels[kind], customer, _text(rng), starts_at + timedelta(seconds=offset),
                             offset))
    return planned


# The product, as deployed ----------------------------------------------------------------------------------


def seed(url: str) -> str:
    """The shop's owner and an agent, and an owner's API key (returned) to connect channels with."""
    engine = make_engine(url, pool=False)
    with session_factory(engine)() as session:
        create_user(session, email="chu.cua.hang@bench.vn", name="Chủ cửa hàng", password=PASSWORD, role=Role.owner)
        create_user(session, email=AGENT_EMAIL, name="Nhân viên trực inbox", password=PASSWORD, role=Role.agent)
        _row, key = create_api_key(session, name="bench/inbox.py", role=Role.owner)
    engine.dispose()
    return key


def _log_causes(text: str) -> Counter[str]:
    """A log's warnings and errors counted by their first line (an exception's root cause), start-up lines left out."""
    causes: Counter[str] = Counter()
    for line in filter(str.strip, text.splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            if "running; Ctrl-C to stop" not in line:
                causes[line.strip()[:160]] += 1
            continue
        trace = [part for part in str(entry.get("exception", "")).splitlines()
                 if part and not part[0].isspace() and not part.startswith(("Traceback", "The above", "During"))]
        causes[(trace[0] if trace else str(entry.get("message", "")))[:160]] += 1
    return causes


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def product(url: str, *, servers: int, workers: int, follow_up_workers: int = 0, poll_seconds: float | None = None,
            logs: Path | None = None) -> Iterator[str]:
    """``xuyen serve --workers servers`` and ``workers`` ``xuyen worker`` processes on ``url`` (sleeping
    ``poll_seconds`` when idle, if given); yields the server's address. Their logs' most frequent warnings and
    errors are printed when they stop (and the logs kept whole in the folder ``logs``, if given)."""
    port = _free_port()
    env = dict(os.environ, XUYEN_DATABASE_URL=url, XUYEN_LOG_LEVEL="WARNING", XUYEN_ENV="development",
               PYTHONPATH=str(REPO))
    commands = [[sys.executable, "-m", "xuyen.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--workers", str(servers)]]
    poll = ["--poll-seconds", str(poll_seconds)] if poll_seconds is not None else []
    commands += [[sys.executable, "-m", "xuyen.cli", "worker", *poll]] * workers
    follow_ups = ["--skip", "inbox.process_receipt"]
    commands += [[sys.executable, "-m", "xuyen.cli", "worker", *follow_ups, *poll]] * follow_up_workers
    with ExitStack() as stack:
        files: list[IO[bytes]] = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        processes = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=log)
                     for command, log in zip(commands, files, strict=True)]
        try:
            _wait_ready(processes[0], f"http://127.0.0.1:{port}")
            yield f"http://127.0.0.1:{port}"
        finally:
            for process in processes:
                _stop(process)
            names = ["server", *["worker"] * workers, *["follow-up-worker"] * follow_up_workers]
            for number, (name, log) in enumerate(zip(names, files, strict=True)):
                log.seek(0)
                text = log.read().decode(errors="replace")
                if logs is not None:
                    logs.mkdir(parents=True, exist_ok=True)
                    (logs / f"{urlsplit(url).scheme}-{name}-{number}.log").write_text(text)
                for cause, count in _log_causes(text).most_common(5):
                    print(f"  {name} log: {count} x {cause}")


def connect_channels(base: str, key: str) -> dict[str, int]:
    """Connect the four channels through the API as an owner does; their ids by kind."""
    zalo = {"oa_id": ZALO.oa_id, "app_id": ZALO.app_id}
    wanted = {
        "messenger": ("Facebook Thời trang Xuyên", {"page_id": PAGE},
                      {"app_secret": APP_SECRET, "page_access_token": "EAAG-page-token", "verify_token": VERIFY}),
        "whatsapp": ("WhatsApp Xuyên", {"phone_number_id": NUMBER},
                     {"app_secret": APP_SECRET, "access_token": "EAAG-wa-token", "verify_token": VERIFY}),
        "zalo": ("Zalo OA Cửa hàng Xuyên", zalo,
                 {"oa_secret_key": ZALO.oa_secret_key, "app_secret": ZALO.app_secret,
                  "access_token": ZALO.access_token, "refresh_token": ZALO.refresh_token}),
        "sms": ("SMS brandname XUYEN", {"brand_name": "XUYEN", "send_url": "http://127.0.0.1:9/v1/sms"},
                {"api_key": "test-api-key", "webhook_secret": SMS_SECRET}),
    }
    found = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for kind, (name, settings, secrets) in wanted.items():
            response = client.post("/api/v1/inbox/channels", json={"kind": kind, "name": name, "settings": settings,
                                                                   "secrets": secrets})
            if response.status_code != 201:
                raise SystemExit(f"connecting {kind} failed: {response.status_code} {response.text}")
            found[kind] = int(response.json()["id"])
    return found


# The agent's live stream, in a process of its own ----------------------------------------------------------


def _listen(base: str, news: multiprocessing.Queue[tuple[float, int]], ready: EventType,
            reloads: Synchronized[int]) -> None:
    """Sign the agent in, open the stream and pass on (arrival time, message id) of every new message."""
    with httpx.Client(base_url=base, timeout=httpx.Timeout(30.0, read=None)) as client:
        answer = client.post("/api/v1/auth/session", json={"email": AGENT_EMAIL, "password": PASSWORD})
        answer.raise_for_status()
        with client.stream("GET", "/api/v1/inbox/stream") as response:
            response.raise_for_status()
            event = ""
            for line in response.iter_lines():
                now = time.monotonic()
                if line.startswith(":"):
                    ready.set()
                elif line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "inbox":
                    data = json.loads(line[5:])
                    if data.get("kind") == "message" and "message_id" in data:
                        news.put((now, int(data["message_id"])))
                    elif data.get("kind") == "reload":
                        with reloads.get_lock():
                            reloads.value += 1
                elif not line:
                    event = ""


@dataclass
class Stream:
    """The listening process and what it has seen: the first arrival time of each message id."""

    process: multiprocessing.process.BaseProcess
    news: multiprocessing.Queue[tuple[float, int]]
    reloads: Synchronized[int]
    arrivals: dict[int, float] = field(default_factory=dict)
    repeats: int = 0  # events of a message already seen
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def seen(self) -> int:
        """How many messages were seen (each once)."""
        return len(self.arrivals)

    def collect(self) -> None:
        """Move what the listener passes on into ``arrivals`` until stopped and nothing is left."""
        while True:
            try:
                at, message_id = self.news.get(timeout=0.2)
            except queue.Empty:
                if self.stop.is_set():
                    return
                continue
            if message_id in self.arrivals:
                self.repeats += 1
            else:
                self.arrivals[message_id] = at


@contextmanager
def agent_stream(base: str) -> Iterator[Stream]:
    """An agent's browser on ``GET /api/v1/inbox/stream``, timestamping each new message."""
    context = multiprocessing.get_context("fork")
    news: multiprocessing.Queue[tuple[float, int]] = context.Queue()
    ready = context.Event()
    reloads = context.Value("q", 0)
    process = context.Process(target=_listen, args=(base, news, ready, reloads), daemon=True)
    process.start()
    if not ready.wait(30):
        process.terminate()
        raise SystemExit("the agent's live stream did not open within 30 s")
    stream = Stream(process=process, news=news, reloads=reloads)
    collector = threading.Thread(target=stream.collect, name="stream-collector", daemon=True)
    collector.start()
    try:
        yield stream
    finally:
        time.sleep(0.3)  # what is still in the queue
        stream.stop.set()
        collector.join()
        process.terminate()
        process.join()


# The open-loop client ---------------------------------------------------------------------------------------


@dataclass
class Result:
    """One request: when it was planned and sent, how long its answer took, its status (or the error)."""

    index: int
    planned: float
    sent: float
    latency_ms: float | None
    status: str


@dataclass
class Plan:
    """Requests to send, each at ``start + offsets[i]``; ``request(client, i)`` sends the i-th."""

    offsets: list[float]
    request: Callable[[httpx.AsyncClient, int], Any]
    results: list[Result] = field(default_factory=list)


class Connections:
    """Keep-alive connections to the server, an ``httpx.AsyncClient`` of one connection each: a request takes an
    idle one or opens another, so a slow answer never holds the next request back. (One client with a pool of
    hundreds of connections scans them all on every request, and that, not the server, becomes the limit.)"""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tls = ssl.create_default_context()  # once: each client would load the CA certificates again
        self.idle: list[tuple[float, httpx.AsyncClient]] = []  # the longest idle first
        self.opened: list[httpx.AsyncClient] = []

    def take(self) -> httpx.AsyncClient:
        """The connection idle the shortest time, or a new one. Connections idle for longer than the server keeps
        them (uvicorn: 5 s) are dropped rather than used: the server may be closing them as the request goes."""
        while self.idle and time.monotonic() - self.idle[0][0] > IDLE_SECONDS:
            self.idle.pop(0)
        if self.idle:
            return self.idle.pop()[1]
        client = httpx.AsyncClient(base_url=self.base, timeout=60.0, verify=self.tls,
                                   limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
        self.opened.append(client)
        return client

    def give_back(self, client: httpx.AsyncClient) -> None:
        self.idle.append((time.monotonic(), client))

    async def close(self) -> None:
        for client in self.opened:
            await client.aclose()


async def _one(connections: Connections, plan: Plan, index: int, planned: float) -> None:
    client = connections.take()
    sent = time.monotonic()
    try:
        response = await plan.request(client, index)
        plan.results.append(Result(index, planned, sent, (time.monotonic() - sent) * 1000, str(response.status_code)))
    except httpx.HTTPError as exc:
        plan.results.append(Result(index, planned, sent, None, type(exc).__name__))
    finally:
        connections.give_back(client)


async def _progress(plan: Plan, stream: Stream | None, began: float, label: str) -> None:
    while True:
        await asyncio.sleep(PROGRESS_SECONDS)
        done = len(plan.results)
        sent = sum(1 for offset in plan.offsets if began + offset <= time.monotonic())
        line = f"    {label} {time.monotonic() - began:5.1f} s: {sent:,} sent, {done:,} answered"
        if stream is not None:
            line += f", {stream.seen:,} messages on the agent's stream"
        print(line, flush=True)


async def _drive(base: str, plan: Plan, stream: Stream | None, label: str) -> tuple[float, int]:
    connections = Connections(base)
    began = time.monotonic() + 0.2
    reporter = asyncio.create_task(_progress(plan, stream, began, label))
    tasks = []
    for index, offset in enumerate(plan.offsets):
        planned = began + offset
        wait = planned - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(_one(connections, plan, index, planned)))
    await asyncio.gather(*tasks)
    reporter.cancel()
    await connections.close()
    return began, len(connections.opened)


def open_loop(base: str, plan: Plan, *, stream: Stream | None = None, label: str = "") -> tuple[float, int]:
    """Send every request of ``plan`` at its time, answered or not; the monotonic start and how many
    connections it took."""
    return asyncio.run(_drive(base, plan, stream, label))


def webhook_plan(webhooks: list[Webhook]) -> Plan:
    def request(client: httpx.AsyncClient, index: int) -> Any:
        item = webhooks[index]
        return client.post(f"/webhooks/{item.channel_id}", content=item.body, headers=item.headers)
    return Plan(offsets=[item.offset for item in webhooks], request=request)


def healthz_plan(rate: float, seconds: float) -> Plan:
    return Plan(offsets=[index / rate for index in range(int(rate * seconds))],
                request=lambda client, _index: client.get("/healthz"))


# Waiting and reading back ------------------------------------------------------------------------------------


def wait_for_stream(stream: Stream, expected: int, *, url: str, limit_seconds: float, label: str) -> float:
    """Wait until ``expected`` messages were seen, or nothing new arrived for 15 s while no receipt is queued
    (something was lost, not late), or the limit; seconds waited."""
    engine = make_engine(url, pool=False)
    queued = select(func.count()).select_from(WebhookReceipt).where(WebhookReceipt.status == ReceiptStatus.queued)
    started = time.monotonic()
    last_count, last_change = stream.seen, started
    next_report = started + PROGRESS_SECONDS
    while stream.seen < expected and time.monotonic() - started < limit_seconds:
        time.sleep(0.1)
        now = time.monotonic()
        if stream.seen != last_count:
            last_count, last_change = stream.seen, now
        elif now - last_change > 15:
            with engine.connect() as connection:
                if not connection.execute(queued).scalar_one():
                    break
            last_change = now
        if now >= next_report:
            print(f"    {label} draining {now - started:5.1f} s: {stream.seen:,} of {expected:,} messages on "
                  "the agent's stream", flush=True)
            next_report = now + PROGRESS_SECONDS
    engine.dispose()
    return time.monotonic() - started


@dataclass
class Stored:
    """What the database holds after the run."""

    messages: dict[tuple[int, str], int]  # (channel id, provider id) -> message id
    receipts: dict[str, int]
    jobs: dict[str, int]


def read_back(url: str, channel_ids: list[int]) -> Stored:
    """The inbound messages stored (by channel and provider id), receipts by status, jobs not done."""
    engine = make_engine(url, pool=False)
    with engine.connect() as connection:
        rows = connection.execute(select(Message.channel_id, Message.provider_message_id, Message.id).where(
            Message.direction == Direction.inbound, Message.channel_id.in_(channel_ids))).all()
        receipts = connection.execute(select(WebhookReceipt.status, func.count())
                                      .group_by(WebhookReceipt.status)).all()
        jobs = connection.execute(select(Job.status, func.count()).where(Job.status != JobStatus.done)
                                  .group_by(Job.status)).all()
    engine.dispose()
    return Stored(messages={(int(channel), str(provider)): int(message) for channel, provider, message in rows},
                  receipts={ReceiptStatus(status).value: int(count) for status, count in receipts},
                  jobs={JobStatus(status).value: int(count) for status, count in jobs})


# Figures --------------------------------------------------------------------------------------------------


def _quantiles(values: list[float]) -> str:
    if not values:
        return "no values"
    return (f"p50 {percentile(values, 0.5):6.1f} ms   p95 {percentile(values, 0.95):6.1f} ms   "
            f"p99 {percentile(values, 0.99):6.1f} ms   max {max(values):7.1f} ms")


def _aim(met: bool) -> str:
    return "met" if met else "MISSED"


def report(label: str, *, webhooks: list[Webhook], plan: Plan, began: float, healthz: Plan, stream: Stream,
           stored: Stored, drained: float, connections: tuple[int, int], args: argparse.Namespace) -> None:
    """Print one database's block of figures."""
    results = sorted(plan.results, key=lambda item: item.index)
    answered = [item for item in results if item.latency_ms is not None]
    last_answer = max((item.sent + (item.latency_ms or 0) / 1000 for item in answered), default=began)
    ok = [item for item in results if item.status == "200"]
    acks = [item.latency_ms for item in ok if item.latency_ms is not None]
    health = [item.latency_ms for item in healthz.results if item.latency_ms is not None and item.status == "200"]
    lag = [(item.sent - item.planned) * 1000 for item in results]
    kinds = Counter(item.kind for item in webhooks)

    delays, not_stored, not_streamed, last_seen = [], 0, 0, began
    for item in ok:
        message_id = stored.messages.get(webhooks[item.index].key)
        if message_id is None:
            not_stored += 1
        elif message_id not in stream.arrivals:
            not_streamed += 1
        else:
            arrival = stream.arrivals[message_id]
            delays.append((arrival - item.sent) * 1000)
            last_seen = max(last_seen, arrival)
    statuses = Counter(item.status for item in results)
    duration = len(webhooks) / args.rate

    print(f"{label}: {len(webhooks):,} webhooks in {duration:.0f} s ("
          + ", ".join(f"{kind} {kinds[kind]:,}" for kind, _ in CHANNEL_MIX)
          + f") from {args.customers:,} customers; `xuyen serve --workers {args.servers}` and "
          f"{args.workers} `xuyen worker`"
          + (f" + {args.follow_up_workers} for follow-ups only" if args.follow_up_workers else ""))
    print(f"  offered {args.rate:.0f}/s, achieved {len(answered) / max(last_answer - began, 1e-9):.1f}/s answered; "
          f"client lag behind the plan p99 {percentile(lag, 0.99):.1f} ms; {connections[0]} connections "
          f"({connections[1]} for /healthz)")
    print(f"  acknowledgement   {_quantiles(acks)}   aim p99 < {ACK_AIM_P99_MS:.0f} ms: "
          f"{_aim(bool(acks) and percentile(acks, 0.99) < ACK_AIM_P99_MS)}")
    print(f"  GET /healthz      {_quantiles(health)}   (same rate, same server, just before)")
    if acks and health:
        print(f"  webhook / healthz p50 {percentile(acks, 0.5) / percentile(health, 0.5):.1f} x   "
              f"p99 {percentile(acks, 0.99) / percentile(health, 0.99):.1f} x")
    backlog = stored.receipts.get("queued", 0)
    flatter = (f"   ({len(delays):,} of {len(ok):,} delivered; the rest had not arrived when the wait ended, so "
               "these figures flatter)" if len(delays) < len(ok) else "")
    print(f"  delivery          {_quantiles(delays)}   aim p95 < {DELIVERY_AIM_P95_MS:.0f} ms: "
          f"{_aim(bool(delays) and len(delays) == len(ok) and percentile(delays, 0.95) < DELIVERY_AIM_P95_MS)}"
          + flatter)
    print(f"  messages reached the stream at {len(delays) / max(last_seen - began, 1e-9):.1f}/s "
          f"(last one {last_seen - began - duration:+.1f} s after the last send; waited {drained:.1f} s after the last "
          "answer)")
    print(f"  messages          {len(ok):,} answered 200, {len(ok) - not_stored:,} stored, {len(delays):,} on the "
          f"agent's stream; {backlog:,} receipts still queued when the wait ended (not parsed yet)")
    print(f"  lost              {max(not_stored - backlog, 0):,} answered 200 but neither stored nor queued, "
          f"{not_streamed:,} stored but not on the stream ({stream.reloads.value} reload requests, "
          f"{stream.repeats:,} messages reported again)")
    print("  answers           " + ", ".join(f"{count:,} x {status}" for status, count in statuses.most_common()))
    print("  receipts          " + ", ".join(f"{count:,} {status}" for status, count in sorted(stored.receipts.items()))
          + "; jobs not done: " + (", ".join(f"{count:,} {status}" for status, count in stored.jobs.items())
                                   or "none"))


# One database ----------------------------------------------------------------------------------------------


def measure(label: str, url: str, args: argparse.Namespace) -> None:
    """Warm up, the /healthz baseline, the webhook run and its drain, on the database at ``url``."""
    key = seed(url)
    rng = random.Random(2026)
    pool = customers(rng, args.customers)
    with product(url, servers=args.servers, workers=args.workers, follow_up_workers=args.follow_up_workers,
                 poll_seconds=args.poll_seconds, logs=args.logs) as base:
        channels = connect_channels(base, key)
        with agent_stream(base) as stream:
            warm = traffic(rng, pool, channels, rate=args.rate, seconds=args.warmup,
                           starts_at=datetime.now(UTC))
            print(f"  {label}: warming up with {len(warm):,} webhooks", flush=True)
            open_loop(base, webhook_plan(warm), stream=stream, label="warm-up")
            wait_for_stream(stream, len(warm), url=url, limit_seconds=args.drain, label="warm-up")
            analyze(url)
            print(f"  {label}: GET /healthz at {args.rate:.0f}/s for {args.baseline_seconds:.0f} s", flush=True)
            healthz = healthz_plan(args.rate, args.baseline_seconds)
            _, healthz_connections = open_loop(base, healthz, label="healthz")
            before = stream.seen
            webhooks = traffic(rng, pool, channels, rate=args.rate, seconds=args.seconds,
                               starts_at=datetime.now(UTC) + timedelta(seconds=0.2))
            print(f"  {label}: {len(webhooks):,} webhooks at {args.rate:.0f}/s", flush=True)
            plan = webhook_plan(webhooks)
            began, connections = open_loop(base, plan, stream=stream, label="run")
            accepted = sum(1 for item in plan.results if item.status == "200")
            drained = wait_for_stream(stream, before + accepted, url=url, limit_seconds=args.drain, label="run")
            stored = read_back(url, list(channels.values()))
            time.sleep(1.0)  # what was committed just before the read reaches the stream
        report(label, webhooks=webhooks, plan=plan, began=began, healthz=healthz, stream=stream, stored=stored,
               drained=drained, connections=(connections, healthz_connections), args=args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="webhooks per second offered")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured run")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--servers", type=int, default=os.cpu_count() or 1, help="`xuyen serve --workers` processes")
    parser.add_argument("--workers", type=int, default=1, help="`xuyen worker` processes")
    parser.add_argument("--follow-up-workers", type=int, default=0,
                        help="more `xuyen worker --skip inbox.process_receipt` processes (follow-ups only)")
    parser.add_argument("--poll-seconds", type=float,
                        help="`xuyen worker --poll-seconds` (default: the product's, XUYEN_WORKER_POLL_SECONDS)")
    parser.add_argument("--logs", type=Path, help="folder to keep the server's and workers' logs in")
    parser.add_argument("--customers", type=int, default=2_000, help="customers in the traffic's pool")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up traffic, not measured")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="length of the GET /healthz run")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="longest wait after the run for messages to reach the stream")
    args = parser.parse_args()

    print(f"bench/inbox.py: inbound webhooks at {args.rate:.0f}/s for {args.seconds:.0f} s over Zalo, Messenger, SMS "
          f"and WhatsApp; {os.cpu_count()} CPU cores shared by server, worker, database and client; aims: "
          f"acknowledgement p99 < {ACK_AIM_P99_MS:.0f} ms, delivery to the agent's stream p95 < "
          f"{DELIVERY_AIM_P95_MS:.0f} ms", flush=True)
    if args.db in ("postgres", "both"):
        with scratch_postgres() as url:
            measure("PostgreSQL", url, args)
    if args.db in ("sqlite", "both"):
        with scratch_sqlite() as url:
            measure("SQLite", url, args)


if __name__ == "__main__":
    main()
