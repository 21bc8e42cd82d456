"""Leads captured through the website form endpoint, and the pipeline board with 100,000 deals.

Printed figures:

- form: ``POST /forms/leads/{key}`` against a uvicorn server in another process, ``--clients`` keep-alive clients
  at once, each lead a new person (token checked, phone and email normalised, the identity graph resolving the
  customer, the lead assigned round-robin inside a team by a rule), leads per second with p50/p95/p99 latency;
- baseline: ``GET /healthz`` through the same server and clients in the same run (what the frame alone costs),
  and the form's share of it;
- the board: ``bench/deals.py`` loaded with 100,000 deals against 1,000 (``--board`` to run it; it takes a few
  minutes, so it is off by default).

Usage: ``python -m bench.leads [--postgres] [--seconds 3] [--clients 4] [--board]``. The form's tokens are issued
here as if the form had been shown a minute earlier (a person takes more than the two seconds the form asks), and
the per-address rate limit is lifted for the run, as it would be behind a proxy that names each visitor.
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable

import httpx
from sqlalchemy.orm import Session

from bench.quote import percentile, scratch_database, served
from xuyen.auth.models import Role
from xuyen.auth.service import create_user
from xuyen.db import make_engine, session_factory
from xuyen.inbox.routing.models import Team, TeamMember
from xuyen.sales.leads.forms import TOKEN_FIELD, issue_token
from xuyen.sales.leads.models import AssignmentRule, LeadForm, SourceKind

FORM_KEY = "bench-tu-van"
ORIGIN = "https://luamay.vn"
_people = itertools.count(1)


def make_form(session: Session) -> None:
    """A form, a telesales team of three agents, and the rule that gives the team every form lead."""
    team = Team(name="Telesales")
    session.add(team)
    session.flush()
    for number in range(3):
        agent = create_user(session, email=f"tele{number}@bench.vn", name=f"Tư vấn {number}", role=Role.agent,
                            password=secrets.token_urlsafe(16))
        session.add(TeamMember(team_id=team.id, user_id=agent.id))
    session.add(LeadForm(name="Đăng ký tư vấn", key=FORM_KEY, allowed_origins=[ORIGIN], campaign="bench",
                         active=True))
    session.add(AssignmentRule(position=1, name="Form → Telesales", source=SourceKind.form,
                               assign_team_id=team.id, active=True))
    session.commit()


def _lead() -> dict[str, str]:
    number = next(_people)
    return {"name": f"Khách {number}", "phone": f"09{number:08d}"[:10], "email": f"khach{number}@example.vn",
            "province": "Hà Nội", TOKEN_FIELD: issue_token(form_key=FORM_KEY, now=time.time() - 60)}


def _measure(base: str, *, clients: int, seconds: float,
             one: Callable[[httpx.Client], None]) -> tuple[float, list[float]]:
    """Calls per second and latencies (s) of ``clients`` keep-alive clients calling ``one`` for ``seconds``."""
    latencies: list[float] = []
    lock = threading.Lock()
    done = threading.Event()

    def client() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, headers={"Origin": ORIGIN}, timeout=30) as http:
            while not done.is_set():
                began = time.perf_counter()
                one(http)
                mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    done.set()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.perf_counter() - began), latencies


def _submit(http: httpx.Client) -> None:
    response = http.post(f"/forms/leads/{FORM_KEY}", json=_lead())
    if response.status_code != 201:
        raise RuntimeError(f"the form answered {response.status_code}: {response.text[:300]}")


def _health(http: httpx.Client) -> None:
    if http.get("/healthz").status_code != 200:
        raise RuntimeError("healthz failed")


def _line(label: str, rate: float, latencies: list[float], extra: str = "") -> None:
    print(f"  {label:<34} {rate:>8.0f}/s  p50 {percentile(latencies, 0.5) * 1000:6.1f} ms  "
          f"p95 {percentile(latencies, 0.95) * 1000:6.1f} ms  p99 {percentile(latencies, 0.99) * 1000:6.1f} ms{extra}")


def bench(*, postgres: bool, seconds: float, clients: int) -> None:
    """The form endpoint against the frame's floor, on one database."""
    with scratch_database(postgres) as url:
        engine = make_engine(url)
        with session_factory(engine)() as session:
            make_form(session)
        engine.dispose()
        with served(url) as base:
            _measure(base, clients=1, seconds=0.5, one=_submit)  # warm up
            floor_rate, floor_latencies = _measure(base, clients=clients, seconds=seconds, one=_health)
            rate, latencies = _measure(base, clients=clients, seconds=seconds, one=_submit)
        print(f"{'PostgreSQL' if postgres else 'SQLite'}, {clients} clients:")
        _line("GET /healthz (baseline)", floor_rate, floor_latencies)
        _line("POST /forms/leads/{key}", rate, latencies,
              f"  {rate / floor_rate:.0%} of the baseline's rate" if floor_rate else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--board", action="store_true", help="also load the board with 100,000 deals")
    args = parser.parse_args()
    os.environ.update({"XUYEN_LEADS_FORM_RATE_PER_MINUTE": "100000000", "XUYEN_LEADS_CHECK_MX": "false"})
    bench(postgres=args.postgres, seconds=args.seconds, clients=args.clients)
    if args.board:
        from bench import deals

        sys.argv = [sys.argv[0]]  # bench/deals.py with its own defaults: 100,000 deals against 1,000
        deals.main()


if __name__ == "__main__":
    main()
