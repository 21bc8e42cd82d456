"""``xuyen customers import FILE`` on the real root command: --map, --dry-run, --report, --sheet, errors."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from tests.customers.import_files import HEADER, ROWS, csv_bytes, excel_rows, xlsx_bytes
from xuyen import cli
from xuyen.customers.importing.cli import register
from xuyen.customers.importing.models import CustomerImport
from xuyen.events.models import Event
from xuyen.identity import service as identity_service

register(cli.app)


class Run(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(db_url: str) -> Run:
    """Run ``xuyen ARGS`` against the test database."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli.app, list(args))

    return invoke


def _events(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def test_import_with_map_prints_the_reading_the_summary_and_writes_the_report(
        run: Run, tmp_path: Path, session: Session) -> None:
    source = tmp_path / "khach.csv"
    source.write_bytes(csv_bytes([[*HEADER, "Ghi chú"], *[[*row, "VIP"] for row in ROWS]], delimiter="\t",
                                 encoding="utf-16"))
    report = tmp_path / "loi.csv"
    result = run("customers", "import", str(source), "--map", "Ghi chú=trait:note", "--map", "STT=-",
                 "--report", str(report), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "khach.csv (CSV, encoding utf-16, delimiter '\\t'), header on row 1." in result.stdout
    assert any(line.split() == ["Ghi", "chú", "trait:note"] for line in result.stdout.splitlines())
    assert "4 rows read: 3 imported (2 of them flagged), 1 not imported." in result.stdout
    assert "No phone number, e-mail or customer code" in result.stdout
    assert f"Report written to {report}." in result.stdout
    rows = list(csv.reader(report.open(encoding="utf-8-sig")))
    assert [row[0] for row in rows] == ["Row", "3", "4", "5"]
    assert _events(session) == 6
    view = identity_service.lookup_profile(session, type="phone", value="+84381234567")
    assert view.profile.id is not None


def test_dry_run_checks_an_excel_sheet_and_writes_nothing(run: Run, tmp_path: Path, session: Session) -> None:
    source = tmp_path / "vip.xlsx"
    source.write_bytes(xlsx_bytes(excel_rows(), sheet="Tháng 11", other_sheets=("Tháng 12",)))
    result = run("customers", "import", str(source), "--dry-run", "--sheet", "Tháng 11")
    assert result.exit_code == 0, result.output
    assert "sheet “Tháng 11”" in result.stdout
    assert "3 rows read: 3 would be imported (1 of them flagged), 0 not imported." in result.stdout
    assert "Dry run: nothing was written." in result.stdout
    assert "không phải địa chỉ email" in result.stdout  # the report in the default language, Vietnamese
    assert _events(session) == 0


def test_an_unknown_field_is_refused_with_the_valid_ones_and_nothing_is_stored(
        run: Run, tmp_path: Path, session: Session) -> None:
    source = tmp_path / "khach.csv"
    source.write_bytes(csv_bytes([HEADER, *ROWS]))
    result = run("customers", "import", str(source), "--map", "Email=e_mail")
    assert result.exit_code == 1
    assert "“e_mail” is not a field. Use one of: external_id, name," in result.stderr
    result = run("customers", "import", str(source), "--map", "Zalo=phone")
    assert result.exit_code == 1 and "The file has no column “Zalo”" in result.stderr
    session.rollback()
    assert session.scalar(select(func.count()).select_from(CustomerImport)) == 0


def test_a_file_that_is_not_a_spreadsheet_says_what_to_do(run: Run, tmp_path: Path) -> None:
    source = tmp_path / "khach.pdf"
    source.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3")
    result = run("customers", "import", str(source))
    assert result.exit_code == 1
    assert "Save the list from Excel as “Excel Workbook (.xlsx)” or “CSV UTF-8”" in result.stderr


def test_help_explains_the_fields_and_gives_examples(run: Run) -> None:
    result = run("customers", "import", "--help")
    assert result.exit_code == 0
    for expected in ("external_id", "consent:CHANNEL[:PURPOSE]", "trait:NAME", "--dry-run", "--map", "--report",
                     "xuyen customers import khach-hang.xlsx --dry-run"):
        assert expected in result.stdout
