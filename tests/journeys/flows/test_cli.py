"""``xuyen journey`` on the real root command, against the test database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.journeys.flows.conftest import customer, run_worker, track
from xuyen import cli
from xuyen.journeys.flows.cli import register

register(cli.app)

DEFINITION = {"trigger": {"type": "event", "event": "Checkout Started"}, "start": "wait",
              "nodes": {"wait": {"type": "delay", "for": {"hours": 2}, "next": None}}}


def test_import_publish_and_show_a_journey(db_url: str, session: Session, engine: Engine, tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "cart.json"
    path.write_text(json.dumps(DEFINITION), encoding="utf-8")
    assert runner.invoke(cli.app, ["journey", "check", str(path)]).output.strip() == "The definition is valid."
    imported = runner.invoke(cli.app, ["journey", "import", str(path), "--name", "Nhắc giỏ hàng", "--publish"])
    assert imported.exit_code == 0, imported.output
    assert "Published version 1" in imported.output
    customer(session)
    track(session, event="Checkout Started")
    run_worker(session, engine)
    listed = runner.invoke(cli.app, ["journey", "list"]).output
    assert "Nhắc giỏ hàng" in listed and "live" in listed
    shown = runner.invoke(cli.app, ["journey", "show", "1"]).output
    assert "Entered 1 (held out 0), inside 1" in shown and "wait" in shown
    paused = runner.invoke(cli.app, ["journey", "pause", "1"])
    assert paused.exit_code == 0 and "is paused" in paused.output


def test_bad_files_and_definitions_say_what_is_wrong(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli.app, ["journey", "check", str(tmp_path / "none.json")])
    assert missing.exit_code == 1 and "There is no file" in missing.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert "is not JSON" in runner.invoke(cli.app, ["journey", "check", str(broken)]).output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**DEFINITION, "start": "nowhere"}), encoding="utf-8")
    checked = runner.invoke(cli.app, ["journey", "check", str(bad)])
    assert checked.exit_code == 1 and "start: unknown step 'nowhere'" in checked.output
    unknown = runner.invoke(cli.app, ["journey", "publish", "99"])
    assert unknown.exit_code == 1 and "There is no journey 99." in unknown.output


def test_help_for_every_command(db_url: str) -> None:
    runner = CliRunner()
    for command in ("list", "show", "check", "import", "publish", "pause", "resume", "archive", "broadcast"):
        result = runner.invoke(cli.app, ["journey", command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
