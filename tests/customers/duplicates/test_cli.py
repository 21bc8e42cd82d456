"""``xuyen identity duplicates`` and the other duplicate commands on the real root command."""

from __future__ import annotations

import csv
import io
import json
from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from tests.customers.duplicates.helpers import add_pair_and_strangers
from xuyen import cli
from xuyen.customers.duplicates.cli import CSV_COLUMNS, register
from xuyen.customers.duplicates.models import DuplicateSuggestion, SuggestionStatus

register(cli.app)


class Run(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(db_url: str) -> Run:
    """Run ``xuyen ARGS`` against the test database."""
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.app, list(args))


def detected(run: Run, session: Session) -> tuple[int, int, DuplicateSuggestion]:
    first, second, _ = add_pair_and_strangers(session)
    result = run("identity", "detect-duplicates")
    assert result.exit_code == 0, result.output
    assert "3 profiles compared, 1 pairs scored at least 0.9; 1 new" in result.stdout
    assert "… scoring candidate pairs" in result.stderr
    session.rollback()
    [row] = session.scalars(select(DuplicateSuggestion))
    return first, second, row


def test_csv_lists_both_profiles_user_ids_and_score(run: Run, session: Session) -> None:
    first, second, row = detected(run, session)
    result = run("identity", "duplicates", "--min-score", "0.5", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    [line] = rows
    assert (int(line["suggestion_id"]), int(line["profile_id"]), int(line["other_profile_id"])) == (row.id, first,
                                                                                                     second)
    assert (line["user_ids"], line["other_user_ids"], line["status"]) == ("u-khai", "", "open")
    assert float(line["score"]) == pytest.approx(row.score, abs=1e-4)
    assert json.loads(line["reasons"])["birth_date"]["level"] == "same"
    assert line["display_name"] == "Nguyễn Thị Minh Khai"
    empty = run("identity", "duplicates", "--min-score", "1", "--format", "csv")
    assert empty.stdout.splitlines() == [",".join(CSV_COLUMNS)]


def test_table_then_decisions(run: Run, session: Session) -> None:
    _first, _second, row = detected(run, session)
    listed = run("identity", "duplicates")
    assert listed.exit_code == 0
    assert listed.stdout.splitlines()[0].split() == ["ID", "SCORE", "STATUS", "PROFILE", "OTHER", "PROFILE", "REASONS"]
    assert "Nguyễn Thị Minh Khai" in listed.stdout
    merged = run("identity", "duplicate-merge", str(row.id), "--note", "same shop card")
    assert merged.exit_code == 0, merged.output
    assert f"duplicate-unmerge {row.id}" in merged.stdout
    undone = run("identity", "duplicate-unmerge", str(row.id))
    assert undone.exit_code == 0, undone.output
    kept_apart = run("identity", "duplicate-not-same", str(row.id), "--note", "twins")
    assert kept_apart.exit_code == 0, kept_apart.output
    session.rollback()
    assert session.get(DuplicateSuggestion, row.id).status == SuggestionStatus.not_same  # type: ignore[union-attr]
    by_status = run("identity", "duplicates", "--status", "not_same", "--format", "csv")
    assert len(by_status.stdout.splitlines()) == 2


def test_errors_say_what_to_do(run: Run, session: Session) -> None:
    missing = run("identity", "duplicate-merge", "42")
    assert missing.exit_code == 1
    assert "There is no duplicate suggestion 42" in missing.stderr
    assert "`xuyen identity duplicates` lists" in missing.stderr
    assert run("identity", "duplicates", "--format", "xml").exit_code == 2
    assert run("identity", "duplicates", "--status", "maybe").exit_code == 2
    assert run("identity", "duplicates", "--min-score", "2").exit_code == 2
    nothing = run("identity", "duplicates")
    assert nothing.exit_code == 0 and "No duplicate suggestions match" in nothing.stdout
