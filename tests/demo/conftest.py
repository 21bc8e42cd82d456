"""Demo test fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, delete

from xuyen.db import Base


@pytest.fixture
def wipe(engine: Engine) -> Callable[[], None]:
    """Delete every row of every table, so the demo can be loaded again into the same database."""

    def run() -> None:
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(delete(table))

    return run
