"""Custom fields at list scale: filtering, sorting and reading values over many records, on SQLite and PostgreSQL.

A scratch database gets ``--records`` records (default 100,000) of the entity ``lead`` with a number, a date, a
text and a multi-choice value each (about 4.5 value rows per record), then each query runs ``--repeat`` times
and its median time is printed, with how many records matched:

- number between (the indexed ``value_number``), date between, multi-choice any-of, text contains (a scan of the
  folded text), two conditions together;
- the first page of 50 sorted by the number (a correlated subquery per record);
- the values of a page of 50 records (``values_for``: two queries).

Usage: ``python -m bench.fields [--db postgres|sqlite|both] [--records 100000] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import column, func, select, table, text
from sqlalchemy.orm import Session

from bench.jobs import scratch_postgres, scratch_sqlite
from xuyen.db import insert_many, make_engine, session_factory
from xuyen.domains import load_handlers
from xuyen.fields import service
from xuyen.fields.filters import Condition, conditions_clauses, sort_value
from xuyen.fields.models import CustomFieldValue
from xuyen.fields.service import OptionSpec
from xuyen.identity.names import fold_name

ENTITY = "lead"
RECORDS = table("bench_records", column("id"))
WORDS = ["Hà Nội", "Sài Gòn", "Đà Nẵng", "khách quen", "gọi lại", "quan tâm áo dài", "hỏi giá", "đặt cọc"]
OPTIONS = ["ao_dai", "tui", "giay", "phu_kien", "cong_so", "tre_em"]


def _define(session: Session) -> dict[str, int]:
    made = [service.add_field(session, entity=ENTITY, key="budget", label_vi="Ngân sách", kind="number",
                              actor="bench"),
            service.add_field(session, entity=ENTITY, key="met", label_vi="Ngày gặp", kind="date", actor="bench"),
            service.add_field(session, entity=ENTITY, key="note", label_vi="Ghi chú", kind="text", actor="bench"),
            service.add_field(session, entity=ENTITY, key="likes", label_vi="Quan tâm", kind="multi_choice",
                              actor="bench", options=[OptionSpec(key, key) for key in OPTIONS])]
    session.commit()
    return {field.key: field.id for field in made}


def _rows(ids: dict[str, int], records: int, rng: random.Random) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    base = dict(value_text=None, value_folded=None, value_number=None, value_date=None, option_key="",
                entity=ENTITY)
    for record in range(1, records + 1):
        note = " ".join(rng.sample(WORDS, 2))
        rows.append({**base, "entity_id": record, "field_id": ids["budget"],
                     "value_number": Decimal(rng.randrange(100_000, 500_000_000, 1000))})
        rows.append({**base, "entity_id": record, "field_id": ids["met"],
                     "value_date": date(2024, 1, 1) + timedelta(days=rng.randrange(1000))})
        rows.append({**base, "entity_id": record, "field_id": ids["note"], "value_text": note,
                     "value_folded": fold_name(note)})
        for key in rng.sample(OPTIONS, rng.randint(1, 2)):
            rows.append({**base, "entity_id": record, "field_id": ids["likes"], "option_key": key})
    return rows


def _median(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def run(url: str, *, label: str, records: int, repeat: int) -> None:
    """Fill the scratch database and print each query's median time."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_records (id BIGINT PRIMARY KEY)"))
    session = session_factory(engine)()
    ids = _define(session)
    rows = _rows(ids, records, random.Random(2026))
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(RECORDS.insert(), [{"id": record} for record in range(1, records + 1)])
        for start in range(0, len(rows), 20_000):
            insert_many(connection, CustomFieldValue, rows[start:start + 20_000])
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
    print(f"{label}: {records:,} records, {len(rows):,} value rows written in {time.perf_counter() - started:.1f} s")

    def count(*conditions: Condition) -> Callable[[], int]:
        def work() -> int:
            clauses = conditions_clauses(session, entity=ENTITY, conditions=list(conditions),
                                         id_column=RECORDS.c.id)
            return int(session.scalar(select(func.count()).select_from(RECORDS).where(*clauses)) or 0)
        return work

    checks: list[tuple[str, Callable[[], Any]]] = [
        ("number between", count(Condition("budget", "between", ("10000000", "20000000")))),
        ("date between", count(Condition("met", "between", ("2025-01-01", "2025-01-31")))),
        ("multi-choice any of", count(Condition("likes", "any_of", ["tui", "giay"]))),
        ("text contains", count(Condition("note", "contains", "ha noi"))),
        ("number and any of", count(Condition("budget", "between", ("10000000", "20000000")),
                                    Condition("likes", "any_of", ["tui"]))),
    ]

    def first_page() -> int:
        order = sort_value(session, entity=ENTITY, key="budget", id_column=RECORDS.c.id)
        return len(session.scalars(select(RECORDS.c.id).order_by(order.desc().nulls_last()).limit(50)).all())

    def page_values() -> int:
        return len(service.values_for(session, entity=ENTITY, entity_ids=range(1, 51)))

    checks += [("first 50 sorted by number", first_page), ("values of 50 records", page_values)]
    for name, work in checks:
        elapsed, result = _median(repeat, work)
        print(f"  {name:<28} {elapsed:9.1f} ms   ({result:,})")
    session.close()
    engine.dispose()


def main() -> None:
    """Parse the options and run on the chosen databases."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    load_handlers()
    if options.db in ("sqlite", "both"):
        with scratch_sqlite() as url:
            run(url, label="SQLite", records=options.records, repeat=options.repeat)
    if options.db in ("postgres", "both"):
        with scratch_postgres() as url:
            run(url, label="PostgreSQL", records=options.records, repeat=options.repeat)


if __name__ == "__main__":
    main()
