"""Deals board speed: the pipeline board page (``GET /deals``) with 100,000 deals, against the same page with
1,000 deals measured in the same run, on SQLite and PostgreSQL.

Each database is a scratch one (created, migrated and dropped here). The deals are bulk-inserted (``insert_many``)
into the default pipeline: 70 % open, spread over its four open stages, 20 % won and 10 % lost, closed over the
past year (so most closed deals are older than the board's 30 days), with values from 500.000 đ to 200 triệu đ,
for 5,000 customers, 50 sales staff and 10 branches. The page is loaded in-process through the app
(``TestClient``): the full page handler, the board's queries and the Jinja rendering, as a signed-in user sees it.

Printed, per database and per viewer (the owner, who sees everything, and an agent of one branch, who sees their
branch, their own and their teams' deals): the page's load time p50 and p95 over ``--loads`` loads after three
warm-up loads, for 1,000 deals and for 100,000 deals, and the ratio. PostgreSQL is VACUUMed and ANALYZEd after the
inserts, as autovacuum would have done. The issue's aim: the board under 300 ms with 100,000 deals.

Usage: ``python -m bench.deals [--deals 100000] [--baseline 1000] [--loads 30] [--db sqlite|postgres|both]``.
PostgreSQL comes from ``XUYEN_BENCH_POSTGRES_URL`` (default: ``XUYEN_TEST_POSTGRES_URL`` or
postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from bench.jobs import percentile, scratch_postgres, scratch_sqlite
from xuyen.app import create_app
from xuyen.auth.models import Role
from xuyen.auth.service import create_user
from xuyen.config import Settings
from xuyen.db import insert_many, make_engine, session_factory
from xuyen.identity.models import Profile
from xuyen.sales.deals import pipelines
from xuyen.sales.deals.models import Deal, StageKind
from xuyen.stores import service as stores

PASSWORD = "mat-khau-bench-deals-2026"  # noqa: S105  (a scratch database's users)
AIM_MS = 300.0
CUSTOMERS, STAFF, BRANCHES = 5_000, 50, 10
BATCH = 5_000
TITLES = ["Đồng phục công ty", "Bàn ghế văn phòng", "Máy lạnh phòng họp", "Quà Tết doanh nghiệp", "Áo dài lễ tân",
          "Cà phê văn phòng", "Tủ hồ sơ", "Máy lọc nước", "Giày bảo hộ", "Nón lá quà tặng"]



def _seed_people(engine: Engine) -> dict[str, Any]:
    """Branches, staff (an owner and agents spread over the branches), customers and the default pipeline."""
    session = session_factory(engine)()
    branches = [stores.create(session, code=f"CN{n:02d}", name=f"Chi nhánh {n}", province="Hồ Chí Minh",
                              timezone="Asia/Ho_Chi_Minh").id for n in range(1, BRANCHES + 1)]
    owner = create_user(session, email="chu@bench.vn", name="Chủ shop", password=PASSWORD, role=Role.owner)
    agents = [create_user(session, email=f"nv{n}@bench.vn", name=f"Nhân viên {n}", password=PASSWORD,
                          role=Role.agent, store_id=branches[n % BRANCHES]) for n in range(STAFF)]
    pipeline = pipelines.ensure_defaults(session)
    stages = [(s.id, s.kind) for s in pipelines.stages_of(session, pipeline_id=pipeline.id)]
    people = {"branches": branches, "owner": owner.email, "agent": agents[0].email,
              "agent_ids": [a.id for a in agents], "agent_branch": {a.id: a.store_id for a in agents},
              "pipeline": pipeline.id, "stages": stages}
    session.commit()
    session.close()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        insert_many(connection, Profile, [{"created_at": now, "first_seen_at": now, "last_seen_at": now}
                                          for _ in range(CUSTOMERS)])
    return people


def _deal_rows(people: dict[str, Any], count: int, rng: random.Random, start: int) -> Iterator[dict[str, Any]]:
    open_stages = [sid for sid, kind in people["stages"] if kind is StageKind.open]
    won = next(sid for sid, kind in people["stages"] if kind is StageKind.won)
    lost = next(sid for sid, kind in people["stages"] if kind is StageKind.lost)
    now = datetime.now(UTC)
    for number in range(start, start + count):
        roll = rng.random()
        owner = rng.choice(people["agent_ids"])
        changed = now - timedelta(minutes=rng.randint(1, 365 * 24 * 60))
        stage, status = ((rng.choice(open_stages), StageKind.open) if roll < 0.7 else
                         (won, StageKind.won) if roll < 0.9 else (lost, StageKind.lost))
        yield {"title": f"{rng.choice(TITLES)} #{number}", "profile_id": rng.randint(1, CUSTOMERS),
               "pipeline_id": people["pipeline"], "stage_id": stage, "status": status.value,
               "value": rng.randint(5, 2_000) * 100_000, "expected_close": (now + timedelta(days=rng.randint(1, 90)))
               .date(), "owner_id": owner, "store_id": people["agent_branch"][owner], "team_id": None,
               "lead_id": None, "lost_reason_id": None, "lost_note": "",
               "won_at": changed if status is StageKind.won else None,
               "lost_at": changed if status is StageKind.lost else None, "order_id": None, "note": "",
               "created_by": "bench", "created_at": changed - timedelta(days=3), "updated_at": changed}


def _insert_deals(engine: Engine, people: dict[str, Any], count: int, rng: random.Random, start: int) -> None:
    rows = list(_deal_rows(people, count, rng, start))
    with engine.begin() as connection:
        for first in range(0, len(rows), BATCH):
            insert_many(connection, Deal, rows[first:first + BATCH])


def _vacuum_analyze(url: str) -> None:
    """On PostgreSQL, what autovacuum does after a bulk insert (PostgreSQL 13 and later vacuum insert-only tables
    too): the planner's statistics, and the visibility map that lets the board's totals come from the index alone."""
    engine = make_engine(url, pool=False)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _signed_in(app: Any, email: str) -> TestClient:
    client = TestClient(app, base_url="http://testserver")
    answer = client.post("/api/v1/auth/session", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return client


def _loads(client: TestClient, loads: int) -> list[float]:
    for _ in range(3):
        assert client.get("/deals").status_code == 200
    times = []
    for _ in range(loads):
        started = time.perf_counter()
        page = client.get("/deals")
        times.append((time.perf_counter() - started) * 1000)
        assert page.status_code == 200 and "deal-board" in page.text
    return times


@contextmanager
def _database(kind: str) -> Iterator[str]:
    with (scratch_sqlite() if kind == "sqlite" else scratch_postgres()) as url:
        yield url


def run(kind: str, *, deals: int, baseline: int, loads: int) -> list[tuple[str, int, float, float]]:
    """The board's load times on one database: (viewer, deals, p50 ms, p95 ms) rows."""
    rows: list[tuple[str, int, float, float]] = []
    with _database(kind) as url:
        engine = make_engine(url)
        app = create_app(Settings(database_url=url, env="test", log_json=False, log_level="WARNING"),
                         engine=engine)
        people = _seed_people(engine)
        rng = random.Random(2026)
        with _signed_in(app, people["owner"]) as owner, _signed_in(app, people["agent"]) as agent:
            inserted = 0
            for size in (baseline, deals):
                started = time.perf_counter()
                _insert_deals(engine, people, size - inserted, rng, inserted)
                print(f"  {kind}: {size - inserted:,} deals inserted in {time.perf_counter() - started:.1f} s",
                      flush=True)
                inserted = size
                _vacuum_analyze(url)
                for viewer, client in (("owner", owner), ("agent", agent)):
                    times = _loads(client, loads)
                    rows.append((viewer, size, percentile(times, 0.5), percentile(times, 0.95)))
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--loads", type=int, default=30)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"bench/deals.py: GET /deals with {args.baseline:,} and {args.deals:,} deals, {args.loads} loads each")
    for kind in kinds:
        rows = run(kind, deals=args.deals, baseline=args.baseline, loads=args.loads)
        print(f"\n{kind}:  viewer   deals      p50 ms   p95 ms   ratio p50 (vs {args.baseline:,})")
        base = {viewer: p50 for viewer, size, p50, _ in rows if size == args.baseline}
        for viewer, size, p50, p95 in rows:
            verdict = "" if size == args.baseline else ("  ok" if p95 < AIM_MS else f"  over {AIM_MS:.0f} ms")
            print(f"        {viewer:<7} {size:>8,} {p50:>9.1f} {p95:>8.1f}   {p50 / base[viewer]:>5.2f}{verdict}")


if __name__ == "__main__":
    main()
