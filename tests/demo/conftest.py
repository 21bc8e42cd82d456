"""Demo test fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, delete, update

from xuyen.db import Base
from xuyen.demo import customers

# Enough customers for every case the demo shows (old phone formats, family phones, …), few enough to be fast.
TEST_CUSTOMER_COUNT = 20


@pytest.fixture(autouse=True)
def small_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """A demo shop with fewer customers than ``xuyen demo`` loads, so that loading it in tests is quick."""
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", TEST_CUSTOMER_COUNT)


@pytest.fixture
def wipe(engine: Engine) -> Callable[[], None]:
    """Delete every row of every table, so the demo can be loaded again into the same database."""

    def run() -> None:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                for key in table.foreign_keys:  # rows pointing to rows of their own table (merged profiles)
                    if key.column.table is table:
                        connection.execute(update(table).values({key.parent.name: None}))
                connection.execute(delete(table))

    return run
