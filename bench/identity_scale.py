"""Identity at scale: a million identify calls through the identity graph, duplicate detection over a million.

Each part runs in a process of its own, which reports its wall time and its peak memory (the process's
maximum resident set size, so every part starts from a fresh interpreter):

- ``identify-sqlite`` / ``identify-postgres``: N identify calls (user id, phone in a clerk's format, e-mail;
  a fifth of them a returning customer, some giving a phone or e-mail already known) resolved through
  ``xuyen.identity.graph.resolve_calls`` in batches of 1,000, a commit per batch, into a scratch database.
  Baseline, same database kind: ``insert-sqlite`` / ``insert-postgres``, a bare bulk insert of as many
  profiles and identifier rows, in the same batches, with no resolution at all.
- ``detect``: duplicate detection (``xuyen.customers.duplicates.matcher.find_duplicates``, what a detection
  run calls) over N made-up Vietnamese profiles from ``bench/_vietnamese.py`` (20 % of the people typed in
  twice or three times). Making the records is not timed; precision and recall are printed too.
  Baseline: ``self-join``, a plain DuckDB self-join of the same records on one blocking key (same full name
  and birth year) that only counts the pairs, on the same threads.

Usage: ``python -m bench.identity_scale [--count 1000000] [--only identify|detect]``; one part alone:
``--part NAME``. PostgreSQL comes from ``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or
postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BATCH = 1_000
PARTS = ("insert-sqlite", "identify-sqlite", "insert-postgres", "identify-postgres", "self-join", "detect")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def peak_mib() -> float:
    """This process's peak resident memory in MiB (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Identify calls ----------------------------------------------------------------------------------------


def calls(count: int, *, seed: int = 7) -> Iterator[list[Any]]:
    """Batches of identify calls: new customers, returning ones, and some sharing a known phone or e-mail."""
    from xuyen.identity.graph import CallIdentity, RawIdentifier

    rng = random.Random(seed)
    customers = 0
    batch: list[Any] = []
    for index in range(count):
        if customers and rng.random() < 0.2:
            number = rng.randrange(customers)  # a returning customer
        else:
            number, customers = customers, customers + 1
        phone = f"09{number:08d}"
        raw = [RawIdentifier("user_id", f"KH{number:08d}"),
               RawIdentifier("phone", f"{phone[:4]} {phone[4:7]} {phone[7:]}" if index % 2 else phone),
               RawIdentifier("email", f"khach{number}@example.vn")]
        batch.append(CallIdentity(raw=raw, seen_at=T0 + timedelta(seconds=index)))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def identify(url: str, count: int) -> dict[str, Any]:
    """Resolve ``count`` identify calls in batches, a commit per batch."""
    from xuyen.db import make_engine, session_factory
    from xuyen.identity.graph import resolve_calls

    engine = make_engine(url)
    sessions = session_factory(engine)
    started = time.perf_counter()
    resolved = 0
    for batch in calls(count):
        with sessions() as session:
            resolved += sum(1 for profile in resolve_calls(session, calls=batch) if profile is not None)
            session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "items": resolved}


def bare_insert(url: str, count: int) -> dict[str, Any]:
    """Insert ``count`` profiles with three identifiers each, in batches, a commit per batch, the way resolution
    writes them (on PostgreSQL ids handed out ahead and one statement of arrays per table)."""
    from sqlalchemy import insert

    from xuyen.db import insert_many, is_postgres, make_engine, next_ids, session_factory
    from xuyen.identity.models import Profile, ProfileIdentifier

    engine = make_engine(url)
    sessions = session_factory(engine)
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        numbers = range(first, min(first + BATCH, count))
        with sessions() as session:
            rows = [{"created_at": T0, "first_seen_at": T0, "last_seen_at": T0} for _ in numbers]
            if is_postgres(session):
                ids = next_ids(session.connection(), Profile, len(rows))
                insert_many(session.connection(), Profile, [{"id": pid} | row for pid, row in zip(ids, rows,
                                                                                               strict=True)])
            else:
                ids = session.scalars(insert(Profile).returning(Profile.id), rows).all()
            insert_many(session.connection(), ProfileIdentifier, [
                {"profile_id": profile_id, "type": kind, "scope": "", "value": value, "flags": [],
                 "first_seen_at": T0, "last_seen_at": T0}
                for profile_id, number in zip(ids, numbers, strict=True)
                for kind, value in (("user_id", f"KH{number:08d}"), ("phone", f"+849{number:08d}"),
                                    ("email", f"khach{number}@example.vn"))])
            session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "items": count}


def on_scratch(kind: str, work: Any, count: int) -> dict[str, Any]:
    """Run ``work(url, count)`` on a scratch database of ``kind``."""
    from bench.jobs import scratch_postgres, scratch_sqlite

    with (scratch_sqlite() if kind == "sqlite" else scratch_postgres()) as url:
        return dict(work(url, count))


# Duplicate detection -----------------------------------------------------------------------------------


def detect(count: int) -> dict[str, Any]:
    """Find duplicates among ``count`` made-up Vietnamese profiles."""
    from bench._vietnamese import people
    from xuyen.customers.duplicates.matcher import find_duplicates

    records, truth = people(count, normalise=False)
    started = time.perf_counter()
    found = {(pair.left_id, pair.right_id) for pair in find_duplicates(records, threshold=0.9).pairs}
    seconds = time.perf_counter() - started
    hits = len(found & truth)
    return {"seconds": seconds, "items": len(records), "pairs": len(found),
            "precision": hits / len(found) if found else 1.0, "recall": hits / len(truth) if truth else 1.0}


def self_join(count: int) -> dict[str, Any]:
    """Count the pairs sharing full name and birth year with a bare DuckDB self-join."""
    import duckdb

    from bench._vietnamese import people
    from xuyen.customers.duplicates.records import records_table

    records, _truth = people(count, normalise=False)
    started = time.perf_counter()
    connection = duckdb.connect(":memory:")
    connection.register("profiles", records_table(records))
    pairs = connection.execute(
        "SELECT count(*) FROM profiles AS l JOIN profiles AS r ON l.name_key = r.name_key "
        "AND substr(l.birth_date, 1, 4) = substr(r.birth_date, 1, 4) AND l.unique_id < r.unique_id").fetchone()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "items": len(records), "pairs": int(pairs[0]) if pairs else 0}


def run_part(part: str, count: int) -> dict[str, Any]:
    """Do one part in this process and return its figures."""
    logging.getLogger("splink").setLevel(logging.ERROR)
    if part.startswith(("identify-", "insert-")):
        action, kind = part.split("-")
        return on_scratch(kind, identify if action == "identify" else bare_insert, count)
    return detect(count) if part == "detect" else self_join(count)


# The driver --------------------------------------------------------------------------------------------


def in_subprocess(part: str, count: int) -> dict[str, Any]:
    """Run one part in a fresh interpreter; its last output line is its figures as JSON."""
    env = dict(os.environ, PYTHONPATH=str(REPO), XUYEN_LOG_LEVEL="WARNING")
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--part", part, "--count", str(count)],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def show(part: str, figures: dict[str, Any], baseline: dict[str, Any] | None = None) -> None:
    """One line per part: time, rate, peak memory, and the ratio to its baseline."""
    if "error" in figures:
        print(f"{part:18} failed: {figures['error']}")
        return
    line = (f"{part:18} {figures['seconds']:8.1f} s  {figures['items'] / figures['seconds']:>10,.0f} /s  "
            f"peak {figures['peak_mib']:7,.0f} MiB")
    if baseline and "seconds" in baseline:
        line += f"  {figures['seconds'] / baseline['seconds']:5.1f} x baseline"
    if "recall" in figures:
        line += f"  {figures['pairs']:,} pairs, precision {figures['precision']:.4f}, recall {figures['recall']:.4f}"
    elif "pairs" in figures:
        line += f"  {figures['pairs']:,} pairs"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="identify calls, and profiles to dedupe")
    parser.add_argument("--only", choices=("identify", "detect"), help="run one half only")
    parser.add_argument("--part", choices=PARTS, help="run one part in this process (used by the driver)")
    args = parser.parse_args()
    if args.count < 2:
        parser.error("--count must be at least 2")
    if args.part:
        figures = run_part(args.part, args.count)
        print(json.dumps(figures | {"peak_mib": peak_mib()}))
        return
    print(f"bench/identity_scale.py: {args.count:,} calls / profiles, {os.cpu_count()} CPU cores; aim: under "
          "60 s each")
    wanted = [part for part in PARTS if args.only is None or (args.only == "detect") == (part in ("self-join",
                                                                                                  "detect"))]
    results: dict[str, dict[str, Any]] = {}
    for part in wanted:
        results[part] = in_subprocess(part, args.count)
        baseline = {"identify-sqlite": "insert-sqlite", "identify-postgres": "insert-postgres",
                    "detect": "self-join"}.get(part)
        show(part, results[part], results.get(baseline) if baseline else None)


if __name__ == "__main__":
    main()
