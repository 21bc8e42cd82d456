"""``xuyen demo``: migrates, loads the demo shop once, prints the sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import xuyen.cli
from tests.demo.helpers import shop_source_count, snapshot
from xuyen.auth.models import Role
from xuyen.auth.service import create_user
from xuyen.config import get_settings
from xuyen.db import dispose_engines, make_engine, session_factory
from xuyen.demo.cli import register
from xuyen.demo.service import data_counts, is_empty, load_demo
from xuyen.demo.shop import DEMO_OWNER_EMAIL, DEMO_PASSWORD
from xuyen.migrate import current_revision, head_revision

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """The real root command with ``xuyen demo`` on it, as ``main()`` builds it."""
    register(xuyen.cli.app)
    return xuyen.cli.app


def test_registering_twice_adds_one_command(app: typer.Typer) -> None:
    register(app)
    register(app)
    assert [info.name for info in app.registered_commands].count("demo") == 1


def test_help_lists_the_options(app: typer.Typer) -> None:
    result = runner.invoke(app, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--host", "--port", "--seed", "--no-serve"):
        assert option in result.output


def test_no_serve_loads_and_prints_the_login(app: typer.Typer, db_url: str, session: Session) -> None:
    result = runner.invoke(app, ["demo", "--no-serve"])

    assert result.exit_code == 0, result.output
    assert "cửa hàng ✓, nguồn ✓, nhân viên ✓, khách hàng ✓" in result.output
    assert "http://127.0.0.1:8000" in result.output
    assert "http://127.0.0.1:8000/analytics/sales" in result.output and "số liệu bán hàng ✓" in result.output
    assert DEMO_OWNER_EMAIL in result.output
    assert DEMO_PASSWORD in result.output
    session.rollback()
    counts = data_counts(session)
    assert (counts["stores"], shop_source_count(session), counts["users"]) == (3, 10, 7)
    assert counts["events"] > counts["profiles"] > 0


def test_a_second_run_does_not_load_again(app: typer.Typer, db_url: str, session: Session) -> None:
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    before = snapshot(session)

    again = runner.invoke(app, ["demo", "--no-serve", "--seed", "99"])

    assert again.exit_code == 0, again.output
    assert "already has data" in again.output
    assert "✓" not in again.output
    assert DEMO_OWNER_EMAIL in again.output  # the demo login still works, so it is still shown
    assert snapshot(session) == before


def test_seed_option_chooses_the_data(app: typer.Typer, db_url: str, session: Session,
                                      wipe: Callable[[], None]) -> None:
    assert runner.invoke(app, ["demo", "--no-serve", "--seed", "7"]).exit_code == 0
    from_cli = snapshot(session)
    wipe()

    load_demo(session, seed=7)
    assert snapshot(session) == from_cli


def test_host_and_port_shape_the_url(app: typer.Typer, db_url: str) -> None:
    result = runner.invoke(app, ["demo", "--no-serve", "--host", "0.0.0.0", "--port", "9123"])  # noqa: S104
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9123" in result.output


def test_an_existing_database_without_the_demo_shows_no_demo_login(app: typer.Typer, db_url: str,
                                                                   session: Session) -> None:
    create_user(session, email="chu@luamay.example", name="Lê Thu Hà", password="mật-khẩu-riêng",
                role=Role.owner)

    result = runner.invoke(app, ["demo", "--no-serve"])

    assert result.exit_code == 0, result.output
    assert "already has data" in result.output
    assert DEMO_PASSWORD not in result.output
    assert data_counts(session) == {"stores": 0, "sources": 0, "users": 1, "events": 0, "profiles": 0}


def test_refuses_to_run_in_production(app: typer.Typer, db_url: str, session: Session,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_ENV", "production")
    get_settings.cache_clear()

    result = runner.invoke(app, ["demo", "--no-serve"])

    assert result.exit_code == 1
    assert "XUYEN_ENV=production" in result.output
    assert is_empty(session)


@pytest.fixture
def fresh_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An SQLite file that does not exist yet, as the configured database."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("XUYEN_DATABASE_URL", url)
    monkeypatch.setenv("XUYEN_ENV", "test")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    dispose_engines()


def test_migrates_a_new_database_first(app: typer.Typer, fresh_sqlite: str) -> None:
    result = runner.invoke(app, ["demo", "--no-serve"])

    assert result.exit_code == 0, result.output
    engine = make_engine(fresh_sqlite)
    try:
        assert current_revision(engine) == head_revision()
        with session_factory(engine)() as session:
            assert data_counts(session)["users"] == 7
    finally:
        engine.dispose()
