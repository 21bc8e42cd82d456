"""Segment evaluation at scale: a three-condition segment over many customers and their events, on PostgreSQL
(or SQLite).

A scratch database gets ``--profiles`` customers (default 20,000) with ``--events`` track events each (default 10,
over the last 60 days) and a province each, then, each ``--repeat`` times and printed as the median:

- **baseline**: the plain query a hand-written report would run for the event part alone (profiles with at least
  two ``Product Added`` in the last 30 days, one GROUP BY over the events);
- **segment**: the compiled rule "added to cart at least twice in 30 days AND lives in Hà Nội AND did not complete
  an order in 7 days", counted;
- **real time**: the same rule restricted to 100 profile ids (what an ``events.stored`` batch evaluates);
- the ratio segment / baseline.

Usage: ``python -m bench.segments [--db postgres|sqlite|both] [--profiles 20000] [--events 10] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench.jobs import scratch_postgres, scratch_sqlite
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.db import insert_many, make_engine, session_factory
from xuyen.domains import load_handlers
from xuyen.events.models import ChannelType, Event, EventType, Source
from xuyen.identity.models import Profile
from xuyen.segments.compile import members_query
from xuyen.segments.rules import parse_rule

RULE = {"all": [{"did": "Product Added", "times": 2, "days": 30}, {"province": "Hà Nội"},
                {"did_not": "Order Completed", "days": 7}]}
EVENTS = ("Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Checkout Started",
          "Order Completed")
PROVINCES = ("01", "79", "48", "31", "92")


def _fill(session: Session, *, profiles: int, events: int, rng: random.Random) -> int:
    """Write the customers and their events; how many events."""
    now = utcnow()
    source = Source(name="Website", channel=ChannelType.web, write_key_prefix="bench", write_key_hash="x")
    session.add(source)
    session.commit()
    connection = session.connection()
    people = [{"id": number, "merged_into_id": None, "created_at": now, "first_seen_at": now, "last_seen_at": now}
              for number in range(1, profiles + 1)]
    rows = [{"profile_id": number, "display_name": f"Khách {number}", "name_folded": f"khach {number}",
             "family_name": "", "given_name": "", "birth_date": None, "gender": "", "phones": [], "emails": [],
             "user_ids": [], "address": "", "province_code": rng.choice(PROVINCES), "ward_code": "",
             "address_parsed": {}, "traits": {}, "computed": {}, "first_seen_at": now, "last_seen_at": now,
             "updated_at": now} for number in range(1, profiles + 1)]
    logged = [{"source_id": source.id, "channel": "web", "type": EventType.track, "event": rng.choice(EVENTS),
               "name": None, "message_id": f"m{number}-{index}", "user_id": None, "anonymous_id": None,
               "previous_id": None, "group_id": None, "profile_id": number, "properties": {}, "traits": {},
               "context": {}, "integrations": {}, "timestamp": now - timedelta(minutes=rng.randrange(60 * 24 * 60)),
               "original_timestamp": None, "sent_at": None, "received_at": now}
              for number in range(1, profiles + 1) for index in range(events)]
    for model, items in ((Profile, people), (CustomerProfile, rows), (Event, logged)):
        for start in range(0, len(items), 20_000):
            insert_many(connection, model, items[start:start + 20_000])
    if session.get_bind().dialect.name == "postgresql":
        connection.execute(text("ANALYZE"))
    session.commit()
    return len(logged)


def _median(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def run(url: str, *, label: str, profiles: int, events: int, repeat: int) -> None:
    """Fill the scratch database and print the baseline's, the segment's and the real-time evaluation's times."""
    engine = make_engine(url)
    session = session_factory(engine)()
    started = time.perf_counter()
    written = _fill(session, profiles=profiles, events=events, rng=random.Random(2026))
    print(f"{label}: {profiles:,} customers, {written:,} events written in {time.perf_counter() - started:.1f} s")
    rule = parse_rule(RULE)
    since = utcnow() - timedelta(days=30)

    def baseline() -> int:
        added = (select(Event.profile_id).where(Event.event == "Product Added", Event.timestamp >= since)
                 .group_by(Event.profile_id).having(func.count() >= 2).subquery())
        return int(session.scalar(select(func.count()).select_from(added)) or 0)

    def segment() -> int:
        query = members_query(session, rule=rule, now=utcnow()).order_by(None).subquery()
        return int(session.scalar(select(func.count()).select_from(query)) or 0)

    some = random.Random(7).sample(range(1, profiles + 1), min(100, profiles))

    def real_time() -> int:
        return len(session.scalars(members_query(session, rule=rule, now=utcnow(), profile_ids=some)).all())

    results = {}
    for name, work in (("baseline (events only)", baseline), ("segment, 3 conditions", segment),
                       ("segment, 100 profiles", real_time)):
        elapsed, found = _median(repeat, work)
        results[name] = elapsed
        print(f"  {name:<26} {elapsed:9.1f} ms   ({found:,})")
    ratio = results["segment, 3 conditions"] / max(results["baseline (events only)"], 0.001)
    print(f"  segment / baseline         {ratio:9.2f}")
    session.close()
    engine.dispose()


def main() -> None:
    """Parse the options and run on the chosen databases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="postgres")
    parser.add_argument("--profiles", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    load_handlers()
    if options.db in ("sqlite", "both"):
        with scratch_sqlite() as url:
            run(url, label="SQLite", profiles=options.profiles, events=options.events, repeat=options.repeat)
    if options.db in ("postgres", "both"):
        with scratch_postgres() as url:
            run(url, label="PostgreSQL", profiles=options.profiles, events=options.events, repeat=options.repeat)


if __name__ == "__main__":
    main()
