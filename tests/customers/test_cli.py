"""``xuyen customers`` on the real root command, against the test database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from tests.customers.conftest import Channels, Send
from xuyen import cli
from xuyen.audit import AuditEntry
from xuyen.customers.cli import register
from xuyen.customers.models import CustomerProfile
from xuyen.identity.graph import find_profile

register(cli.app)


class Run(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> Result: ...


@pytest.fixture
def run(db_url: str) -> Run:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli.app, list(args), input=input)

    return invoke


@pytest.fixture
def hoa(keys: Channels, send: Send, session: Session) -> int:
    send(keys.pos, {"type": "identify", "userId": "KH001", "timestamp": "2026-11-01T03:00:00Z",
                    "traits": {"name": "Nguyễn Thị Hoa", "phone": "0168 123 4567"}})
    send(keys.web, {"type": "track", "userId": "KH001", "event": "Order Completed", "timestamp": "2026-11-02T03:00:00Z",
                    "properties": {"order_id": "W1", "total": 1_250_000}})
    session.rollback()
    found = find_profile(session, type="user_id", value="KH001")
    assert found is not None
    return found


def test_find_and_show(run: Run, hoa: int) -> None:
    found = run("customers", "find", "0381234567")
    assert found.exit_code == 0, found.output
    assert "Nguyễn Thị Hoa" in found.output and "+84381234567" in found.output
    assert "No customer matches" in run("customers", "find", "không ai cả").output
    shown = run("customers", "show", str(hoa))
    assert shown.exit_code == 0, shown.output
    assert "Cửa hàng Hà Nội" in shown.output and "1,250,000 VND" in shown.output
    assert "01/11/2026 10:00:00" in shown.output  # in Asia/Ho_Chi_Minh
    missing = run("customers", "show", "999")
    assert missing.exit_code == 1 and "There is no profile 999" in missing.output


def test_export_to_a_file_and_erase(run: Run, hoa: int, tmp_path: Path, session: Session) -> None:
    target = tmp_path / "hoa.json"
    exported = run("customers", "export", str(hoa), "--output", str(target))
    assert exported.exit_code == 0, exported.output
    assert json.loads(target.read_text(encoding="utf-8"))["traits"]["name"] == "Nguyễn Thị Hoa"
    refused = run("customers", "erase", str(hoa), "--reason", "Yêu cầu qua điện thoại", input="n\n")
    assert refused.exit_code == 1 and session.get(CustomerProfile, hoa) is not None
    erased = run("customers", "erase", str(hoa), "--reason", "Yêu cầu qua điện thoại", "--yes")
    assert erased.exit_code == 0, erased.output
    assert "2 events stripped" in erased.output
    again = run("customers", "erase", str(hoa), "--reason", "again", "--yes")
    assert again.exit_code == 1 and "already erased" in again.output
    session.rollback()
    actions = [entry.action for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["customer.exported", "customer.erased"]


def test_rebuild(run: Run, hoa: int, session: Session) -> None:
    session.execute(CustomerProfile.__table__.delete())
    session.commit()
    rebuilt = run("customers", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Rebuilt 1 customers." in rebuilt.output
    session.rollback()
    row = session.get(CustomerProfile, hoa)
    assert row is not None and row.display_name == "Nguyễn Thị Hoa"


def test_help_for_every_command(run: Run) -> None:
    for command in ("find", "show", "export", "erase", "rebuild"):
        result = run("customers", command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output
