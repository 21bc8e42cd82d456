"""``keeping``: rows kept referenced for a block are found again by id without a query; outside it, a row nothing
refers to any more is read again."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.db import keeping
from xuyen.identity.models import Profile


@contextmanager
def _selects(session: Session) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(*args: object) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_kept_rows_are_found_again_without_a_query_and_others_are_read_again(session: Session) -> None:
    now = utcnow()
    session.add_all([Profile(created_at=now, first_seen_at=now, last_seen_at=now) for _ in range(3)])
    session.commit()
    ids = list(session.scalars(select(Profile.id).order_by(Profile.id)))

    with keeping(session.scalars(select(Profile).where(Profile.id.in_(ids)))):
        gc.collect()
        with _selects(session) as statements:
            assert [row.id for row in (session.get(Profile, profile_id) for profile_id in ids) if row] == ids
        assert statements == []

    gc.collect()
    with _selects(session) as statements:
        assert session.get(Profile, ids[0]) is not None
    assert len(statements) == 1
