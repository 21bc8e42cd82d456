"""Inserting many rows in one statement: the same rows land on SQLite and PostgreSQL, JSON and NULLs included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xuyen.db import insert_many, is_postgres, next_ids
from xuyen.identity.models import Profile, ProfileIdentifier

T0 = datetime(2026, 11, 1, 8, 30, tzinfo=UTC)


def _profile(session: Session) -> int:
    profile = Profile(created_at=T0, first_seen_at=T0, last_seen_at=T0)
    session.add(profile)
    session.flush()
    return profile.id


def test_rows_land_whole_with_json_nulls_and_times(session: Session) -> None:
    owner = _profile(session)
    rows = [{"profile_id": owner, "type": "email", "scope": "", "value": f"khach{n}@example.vn",
             "flags": ["possible_not_valid"] if n % 2 else [], "source_id": None,
             "first_seen_at": T0, "last_seen_at": T0.replace(hour=9 + n)} for n in range(5)]
    insert_many(session.connection(), ProfileIdentifier, rows)
    stored = session.execute(select(ProfileIdentifier.value, ProfileIdentifier.flags, ProfileIdentifier.source_id,
                                    ProfileIdentifier.last_seen_at)
                             .where(ProfileIdentifier.profile_id == owner).order_by(ProfileIdentifier.value)).all()
    assert [tuple(row) for row in stored] == [
        (row["value"], row["flags"], None, row["last_seen_at"]) for row in rows]


def test_nothing_to_insert_writes_nothing(session: Session) -> None:
    insert_many(session.connection(), ProfileIdentifier, [])
    assert session.scalars(select(ProfileIdentifier.id)).all() == []


def test_a_row_breaking_a_constraint_fails_the_whole_statement(session: Session) -> None:
    owner = _profile(session)
    session.commit()
    row = {"profile_id": owner, "type": "user_id", "scope": "", "value": "KH1", "flags": [], "source_id": None,
           "first_seen_at": T0, "last_seen_at": T0}
    with pytest.raises(Exception, match=r"(?i)unique"):
        insert_many(session.connection(), ProfileIdentifier, [row, dict(row)])
    session.rollback()
    assert session.scalars(select(ProfileIdentifier.id)).all() == []


def test_next_ids_are_new_and_ascending(engine: Engine, session: Session) -> None:
    if not is_postgres(engine):
        pytest.skip("SQLite assigns ids as it inserts; only PostgreSQL hands them out ahead")
    existing = _profile(session)
    ids = next_ids(session.connection(), Profile, 3)
    assert ids == sorted(ids) and len(set(ids)) == 3 and min(ids) > existing
    insert_many(session.connection(), Profile, [{"id": profile_id, "created_at": T0, "first_seen_at": T0,
                                                 "last_seen_at": T0} for profile_id in ids])
    assert _profile(session) > max(ids)  # the sequence moved past the ids handed out
