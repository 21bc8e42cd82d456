"""A broadcast journey at scale: every customer of a segment gets one SMS through the whole engine and policy.

A scratch database gets ``--customers`` customers (default 1,000; the aim is stated for 100,000; bulk inserts, not
API calls), each with a mobile number and SMS marketing consent, a segment of all of them, an SMS channel on the
eSMS preset pointed at the fake eSMS gateway of ``tests/fakes`` (served over real HTTP in this process) and a
template. Each run publishes a
new broadcast journey (segment → send on SMS, marketing → exit) and starts it; ``xuyen worker`` processes enrol the
segment in batches, run each customer's send step (the messaging policy decides: consent, frequency caps, sending
hours; the template is rendered; the message is queued in the customer's conversation) and the inbox's send job
hands each message to the gateway with its idempotency key (eSMS's RequestId).

The policy is applied in full, with two settings changed so that a benchmark can run at any hour and run several
broadcasts: sending hours of 23 h 58 min starting an hour ago (UTC), and frequency caps of 10 a day. Both are
printed.

Printed figures, per run:

- **messages/s** end to end: from the broadcast's start to the last message the gateway accepted;
- **latency** percentiles from a customer's enrolment to the gateway accepting their message;
- **baseline** measured in the same run: the fake gateway taking messages posted directly over HTTP by one client
  (what one sender can push through it at all), and the ratio;
- a **crash run** with two workers, one killed with SIGKILL mid-run and started again: duplicates (a customer who
  got more than one message) and losses (an enrolment not completed, a customer with no message), both must be 0.

Usage: ``python -m bench.journeys [--customers 1000] [--db postgres|sqlite|both] [--skip-crash] [--workers 1 2]
[--logs DIR]``. PostgreSQL
comes from ``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or
postgresql://postgres@127.0.0.1:5432/test); a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from starlette.responses import Response
from tests.fakes.server import serving
from tests.fakes.sms_gateway import ESMS_JSON_PATH, FakeSmsGateway

from bench.jobs import percentile, scratch_postgres, scratch_sqlite
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerConsent, CustomerProfile
from xuyen.db import insert_many, make_engine, session_factory
from xuyen.domains import load_handlers
from xuyen.identity.models import Profile
from xuyen.inbox import connections
from xuyen.jobs import Job, JobStatus
from xuyen.journeys.flows import service
from xuyen.journeys.flows.models import Enrolment, EnrolmentStatus
from xuyen.journeys.policy import settings as policy_settings
from xuyen.journeys.templates.service import add_template
from xuyen.segments.models import Segment, SegmentMember

REPO = Path(__file__).resolve().parents[1]
ACTOR = "bench"
KEY, SECRET = "bench-api-key", "bench-secret-key"
CHUNK = 20_000
_runs = itertools.count(1)
_log_runs = itertools.count(1)


class TimedGateway(FakeSmsGateway):
    """The fake eSMS gateway, noting when it accepted each message (by RequestId) and how many repeats it
    refused as duplicates."""

    accepted_at: dict[str, float]
    duplicates: int

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.accepted_at, self.duplicates = {}, 0

    def _esms(self, body: dict[str, Any], *, route: str) -> Response:
        before = len(self.sent)
        answer = super()._esms(body, route=route)
        if len(self.sent) > before:
            self.accepted_at[self.sent[-1].request_id] = time.time()
        elif b'"124"' in bytes(answer.body):
            self.duplicates += 1
        return answer

    def forget(self) -> None:
        """Start counting afresh (the request ids it has seen stay: a repeat is still refused)."""
        self.sent, self.accepted_at, self.duplicates, self.requests = [], {}, 0, 0


def phone_of(number: int) -> str:
    """A customer's mobile number (E.164, as the identity graph stores it)."""
    return f"+849{number:08d}"


def fill(session: Session, *, customers: int) -> int:
    """Customers with a phone and SMS marketing consent, and a segment of all of them; the segment's id."""
    now = utcnow()
    connection = session.connection()
    people = [{"id": n, "merged_into_id": None, "created_at": now, "first_seen_at": now, "last_seen_at": now}
              for n in range(1, customers + 1)]
    rows = [{"profile_id": n, "display_name": f"Khách Hàng {n}", "name_folded": f"khach hang {n}",
             "family_name": "Khách", "given_name": f"Hàng {n}", "birth_date": None, "gender": "",
             "phones": [phone_of(n)], "emails": [], "user_ids": [], "address": "", "province_code": "01",
             "ward_code": "", "address_parsed": {}, "traits": {}, "computed": {}, "first_seen_at": now,
             "last_seen_at": now, "updated_at": now} for n in range(1, customers + 1)]
    consents = [{"profile_id": n, "channel": "sms", "purpose": "marketing", "status": "granted", "source_id": None,
                 "event_id": None, "recorded_at": now, "proof": {"form": "Phiếu đăng ký tại cửa hàng"}}
                for n in range(1, customers + 1)]
    segment = Segment(name="Đồng ý nhận SMS", definition={"all": [{"consent": {"channel": "sms",
                                                                                "purpose": "marketing"}}]},
                      member_count=customers, created_by=ACTOR, created_at=now, updated_at=now, refreshed_at=now)
    session.add(segment)
    session.flush()
    members = [{"segment_id": segment.id, "profile_id": n, "entered_at": now} for n in range(1, customers + 1)]
    for model, items in ((Profile, people), (CustomerProfile, rows), (CustomerConsent, consents),
                         (SegmentMember, members)):
        for start in range(0, len(items), CHUNK):
            insert_many(connection, model, items[start:start + CHUNK])
    if session.get_bind().dialect.name == "postgresql":
        connection.execute(text("SELECT setval('profiles_id_seq', :last)"), {"last": customers})
        connection.execute(text("ANALYZE"))
    session.commit()
    return segment.id


def prepare_policy(session: Session) -> None:
    """The policy in full, with sending hours that hold for the next 23 hours and caps of 10 a day."""
    now = utcnow()
    minute = now.hour * 60 + now.minute
    config = policy_settings.current(session)
    config = replace(config, timezone="UTC", allowed_from=(minute - 60) % 1440, allowed_until=(minute - 62) % 1440,
                     total=policy_settings.Cap(10, 24),
                     channel_caps={name: policy_settings.Cap(10, 24) for name in config.channel_caps})
    policy_settings.change(session, config=config, actor=ACTOR)
    print(f"  policy: consent, suppressions and caps applied; sending hours set to "
          f"{config.allowed_from // 60:02d}:{config.allowed_from % 60:02d}–"
          f"{config.allowed_until // 60:02d}:{config.allowed_until % 60:02d} UTC so the run may go at any hour; "
          f"caps {config.total.limit} a day (in total and per channel) so several broadcasts fit")


def connect(session: Session, *, url: str) -> int:
    """The SMS channel on the eSMS preset, pointed at the fake, and the SMS template; the template's id."""
    connections.add_channel(session, kind="sms", name="SMS Brandname", actor=ACTOR,
                            settings={"preset": "esms", "brand_name": "XUYEN", "send_url": url + ESMS_JSON_PATH},
                            secrets={"api_key": KEY, "api_secret": SECRET, "webhook_secret": "bench-hook"})
    made = add_template(session, name="Tuần lễ vàng", purpose="marketing", actor=ACTOR, variants={
        "sms": {"text": "Xuyen: {{ profile.first_name }} oi, tuan le vang giam 20% tai cua hang."}})
    session.commit()
    return made.id


def broadcast(session: Session, *, segment_id: int, template_id: int) -> int:
    """A new broadcast journey to the segment, published and started; its id."""
    number = next(_runs)
    journey = service.create_journey(session, name=f"Tuần lễ vàng {number}", actor=ACTOR, definition={
        "trigger": {"type": "broadcast", "segment_id": segment_id}, "settings": {"entry": "once"}, "start": "a",
        "nodes": {"a": {"type": "send", "template_id": template_id, "channel": "sms", "purpose": "marketing",
                        "next": "b"}, "b": {"type": "exit"}}})
    service.publish(session, journey_id=journey.id, actor=ACTOR)
    service.start_broadcast(session, journey_id=journey.id, actor=ACTOR)
    return journey.id


class Workers:
    """``xuyen worker`` processes against the scratch database."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.url, self.log_dir = url, log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 1) -> list[subprocess.Popen[bytes]]:
        """Start ``count`` more workers (a short lease, so a killed one's jobs come back within seconds)."""
        env = dict(os.environ, XUYEN_DATABASE_URL=self.url, XUYEN_LOG_LEVEL="WARNING", PYTHONPATH=str(REPO),
                   XUYEN_WORKER_POLL_SECONDS="0.05", XUYEN_JOB_LEASE_SECONDS="10")
        started = []
        for _ in range(count):
            log = (self.log_dir / f"worker-{len(self.processes)}.log").open("wb")
            process = subprocess.Popen([sys.executable, "-m", "xuyen.cli", "worker"], cwd=REPO, env=env,
                                       stdout=log, stderr=subprocess.STDOUT)
            self.processes.append(process)
            started.append(process)
        return started

    def stop(self) -> None:
        """SIGTERM every live worker and wait."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def check(self) -> None:
        """Stop with the logs when a worker died unasked."""
        for process in self.processes:
            if process.poll() not in (None, -signal.SIGKILL):
                logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.log_dir.glob("*.log")))
                raise SystemExit(f"a worker exited with {process.returncode}:\n{logs}")


def unfinished(engine: Engine) -> int:
    """Jobs still queued or running (due within the hour)."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Job).where(
            Job.status.in_([JobStatus.queued, JobStatus.running]),
            Job.run_at <= utcnow() + timedelta(hours=1))).scalar_one())


def wait_until_sent(engine: Engine, fake: TimedGateway, workers: Workers, *, expected: int, started: float,
                    limit: float, kill_at: int | None = None) -> None:
    """Poll until every expected message was accepted and no work is left, printing progress every 5 s; with
    ``kill_at``, SIGKILL the first worker once that many went out and start another."""
    deadline, shown = time.monotonic() + limit, time.monotonic()
    while True:
        workers.check()
        if kill_at is not None and len(fake.sent) >= kill_at:
            victim = workers.processes[0]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            print(f"    killed worker {victim.pid} with SIGKILL after {len(fake.sent):,} messages; starting another")
            workers.start()
            kill_at = None
        if len(fake.sent) >= expected and unfinished(engine) == 0:
            return
        if time.monotonic() - shown >= 5:
            shown = time.monotonic()
            elapsed = time.time() - started
            print(f"    {elapsed:6.0f} s: {len(fake.sent):,}/{expected:,} accepted "
                  f"({len(fake.sent) / max(elapsed, 0.001):,.0f}/s), {unfinished(engine):,} jobs left")
        if time.monotonic() > deadline:
            print(f"    gave up after {limit:.0f} s with {len(fake.sent):,}/{expected:,} accepted")
            return
        time.sleep(0.2)


def latencies(session: Session, fake: TimedGateway, *, journey_id: int) -> list[float]:
    """Per accepted message, seconds from the customer's enrolment to the gateway accepting it."""
    rows: Any = session.execute(select(Enrolment.id, Enrolment.entered_at).where(Enrolment.journey_id == journey_id))
    entered: dict[int, datetime] = dict(rows.all())
    found = []
    for request_id, at in fake.accepted_at.items():
        enrolment_id = int(request_id.split("-")[1])
        if enrolment_id in entered:
            found.append(at - entered[enrolment_id].timestamp())
    return found


def run(url: str, *, fake: TimedGateway, gateway_url: str, segment_id: int, template_id: int, customers: int,
        workers: int, limit: float, crash: bool = False, logs_in: Path | None = None) -> float:
    """One broadcast to every customer with ``workers`` processes; messages per second (printed with latency,
    and with duplicates and losses for the crash run). The workers' logs go to ``logs_in`` when given (kept)."""
    engine = make_engine(url, pool=False)
    fake.forget()
    with tempfile.TemporaryDirectory() as scratch:
        logs = logs_in / f"run-{next(_log_runs)}" if logs_in is not None else Path(scratch)
        logs.mkdir(parents=True, exist_ok=True)
        processes = Workers(url, logs)
        processes.start(workers)
        time.sleep(3)  # imports and the first poll, as bench/jobs.py does
        session = session_factory(engine)()
        started = time.time()
        journey_id = broadcast(session, segment_id=segment_id, template_id=template_id)
        try:
            wait_until_sent(engine, fake, processes, expected=customers, started=started, limit=limit,
                            kill_at=customers // 3 if crash else None)
        finally:
            processes.stop()
    last = max(fake.accepted_at.values(), default=time.time())
    rate = len(fake.sent) / max(last - started, 0.001)
    delays = latencies(session, fake, journey_id=journey_id)
    label = f"{workers} worker(s){', one killed' if crash else ''}"
    if delays:
        print(f"  {label:<24} {rate:8,.0f} messages/s end to end ({len(fake.sent):,} in {last - started:.1f} s); "
              f"enrolment → accepted p50 {percentile(delays, 0.5):.1f} s, p95 {percentile(delays, 0.95):.1f} s, "
              f"p99 {percentile(delays, 0.99):.1f} s")
    if crash:
        report_crash(session, fake, journey_id=journey_id, customers=customers)
    session.close()
    engine.dispose()
    return rate


def report_crash(session: Session, fake: TimedGateway, *, journey_id: int, customers: int) -> None:
    """Duplicates and losses of the crash run."""
    per_phone = Counter(message.phone for message in fake.sent)
    duplicates = sum(count - 1 for count in per_phone.values() if count > 1)
    statuses: Counter[EnrolmentStatus] = Counter(session.scalars(select(Enrolment.status).where(
        Enrolment.journey_id == journey_id)))
    enrolled = sum(statuses.values())
    lost = (customers - len(per_phone)) + (enrolled - statuses.get(EnrolmentStatus.completed, 0)) + \
        (customers - enrolled)
    print(f"  crash run: duplicates {duplicates}, losses {lost} (customers enrolled {enrolled:,}/{customers:,}, "
          f"completed {statuses.get(EnrolmentStatus.completed, 0):,}, reached the gateway {len(per_phone):,}; "
          f"{fake.duplicates} repeated request(s) refused by the gateway as a duplicate RequestId)")
    if duplicates or lost:
        print("  FAILED: duplicates and losses must both be 0")


def gateway_baseline(gateway_url: str, *, count: int) -> float:
    """Messages per second the fake gateway takes from one HTTP client posting directly (keep-alive)."""
    body = {"ApiKey": KEY, "SecretKey": SECRET, "Brandname": "XUYEN", "SmsType": "2", "IsUnicode": "0",
            "Content": "Xuyen: Hang oi, tuan le vang giam 20% tai cua hang."}
    with httpx.Client(timeout=10) as client:
        started = time.perf_counter()
        for n in range(count):
            client.post(gateway_url + ESMS_JSON_PATH, json={**body, "Phone": f"09{n % 10**8:08d}",
                                                               "RequestId": f"baseline-{n}"})
        return count / (time.perf_counter() - started)


def bench(url: str, *, label: str, customers: int, crash: bool, limit: float, workers: list[int],
          logs_in: Path | None) -> None:
    """Fill the database, then the baseline, a run for each number of ``workers`` and the crash run."""
    fake = TimedGateway(api_key=KEY, api_secret=SECRET)
    with serving(fake.app()) as gateway_url:
        engine = make_engine(url)
        session = session_factory(engine)()
        started = time.perf_counter()
        segment_id = fill(session, customers=customers)
        print(f"{label}: {customers:,} customers with SMS marketing consent, one segment, written in "
              f"{time.perf_counter() - started:.1f} s")
        prepare_policy(session)
        template_id = connect(session, url=gateway_url)
        session.close()
        engine.dispose()
        direct = gateway_baseline(gateway_url, count=min(customers, 5_000))
        print(f"  baseline: the fake gateway takes {direct:,.0f} messages/s posted directly by one HTTP client")
        for count in workers:
            rate = run(url, fake=fake, gateway_url=gateway_url, segment_id=segment_id, template_id=template_id,
                       customers=customers, workers=count, limit=limit, logs_in=logs_in)
            print(f"  {'':<24} {rate / direct:8.3f} x baseline")
        if crash:
            run(url, fake=fake, gateway_url=gateway_url, segment_id=segment_id, template_id=template_id,
                customers=customers, workers=2, limit=limit, crash=True, logs_in=logs_in)


def main() -> None:
    """Parse the options and run on the chosen databases."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000,
                        help="customers in the segment (the aim is stated for 100,000; at today's speed that "
                             "takes about 20 minutes a run)")
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="postgres")
    parser.add_argument("--skip-crash", action="store_true", help="leave out the run with a killed worker")
    parser.add_argument("--limit", type=float, default=3600, help="seconds a run may take before giving up")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                        help="worker processes of each run before the crash run (default: 1 2)")
    parser.add_argument("--logs", type=Path, help="keep the workers' logs in this folder, one subfolder a run")
    options = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows when piped
    load_handlers()
    print(f"bench/journeys.py: broadcast of one SMS to {options.customers:,} customers, {os.cpu_count()} CPU cores")
    if options.db in ("postgres", "both"):
        with scratch_postgres() as url:
            bench(url, label="PostgreSQL", customers=options.customers, crash=not options.skip_crash,
                  limit=options.limit, workers=options.workers, logs_in=options.logs)
    if options.db in ("sqlite", "both"):
        with scratch_sqlite() as url:
            bench(url, label="SQLite", customers=options.customers, crash=not options.skip_crash,
                  limit=options.limit, workers=options.workers, logs_in=options.logs)


if __name__ == "__main__":
    main()
