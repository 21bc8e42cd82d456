"""A batch's identifiers are found by index search even before PostgreSQL has statistics of the table (a new
shop's first big import): with the key led by the value, the planner cannot leave the value to a filter (which,
with the key led by the type, it did: every batch then read every identifier of the type, ever slower)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from xuyen.db import insert_many, is_postgres
from xuyen.identity.models import Profile, ProfileIdentifier

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_lookup_by_values_searches_the_index_without_statistics(engine: Engine, session: Session) -> None:
    if not is_postgres(engine):
        pytest.skip("the query plan checked is PostgreSQL's")
    profile = Profile(created_at=T0, first_seen_at=T0, last_seen_at=T0)
    session.add(profile)
    session.flush()
    insert_many(session.connection(), ProfileIdentifier, [
        {"profile_id": profile.id, "type": kind, "scope": "", "value": f"{kind}-{n}", "flags": [],
         "first_seen_at": T0, "last_seen_at": T0} for n in range(5_000) for kind in ("email", "user_id")])
    session.commit()
    session.execute(text("SET LOCAL enable_seqscan = off"))  # small here; what matters is how the index is used
    wanted = "{" + ",".join(f"email-{n}" for n in range(0, 5_000, 5)) + "}"
    plan = "\n".join(session.execute(text(
        "EXPLAIN SELECT id FROM profile_identifiers WHERE type = 'email' AND scope = '' "
        "AND value = ANY(CAST(:wanted AS varchar[]))"), {"wanted": wanted}).scalars())
    assert "uq_profile_identifiers_key" in plan
    index_condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "value" in index_condition
