"""Catalogue files over the API and the command line: upload (all or nothing), dry runs, downloads, refusals."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.api_client import Browser, assert_problem
from tests.commerce.catalogue.helpers import ean, make_tshirt
from tests.factories import make_user
from xuyen import cli
from xuyen.auth.models import Role, User
from xuyen.commerce.catalogue import service
from xuyen.commerce.catalogue.cli import register
from xuyen.commerce.catalogue.models import Product

BrowserFor = Callable[[User], Browser]
register(cli.app)
GOOD = ("Mã sản phẩm,Tên sản phẩm,Mã SKU,Mã vạch,Thuộc tính: Cỡ\n"
        f"AT-9,Áo thun,AT-9-M,{ean(91)},M\nAT-9,Áo thun,AT-9-L,{ean(92)},L\n").encode()
WRONG_CHECK_DIGIT = ean(91)[:-1] + str((int(ean(91)[-1]) + 1) % 10)
BAD = ("Mã sản phẩm,Tên sản phẩm,Mã SKU,Mã vạch\n"
       f"AT-9,Áo thun,AT-9-M,{WRONG_CHECK_DIGIT}\nAT-8,Áo,AT-8,\n").encode()


@pytest.fixture
def manager(session: Session, browser_for: BrowserFor) -> Browser:
    return browser_for(make_user(session, role=Role.manager))


def _products(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Product)) or 0)


def test_upload_dry_run_then_for_real(manager: Browser, session: Session) -> None:
    dry = manager.request("POST", "/catalogue/import", files={"file": ("sp.csv", GOOD, "text/csv")},
                          data={"dry_run": "true"})
    assert dry.status_code == 200, dry.text
    assert (dry.json()["applied"], dry.json()["products_created"], dry.json()["variants_created"]) == (False, 1, 2)
    assert _products(session) == 0
    done = manager.request("POST", "/catalogue/import", files={"file": ("sp.csv", GOOD, "text/csv")})
    assert done.status_code == 200 and done.json()["applied"]
    assert _products(session) == 1
    again = manager.request("POST", "/catalogue/import", files={"file": ("sp.csv", GOOD, "text/csv")}).json()
    assert (again["products_created"], again["products_updated"], again["variants_updated"]) == (0, 0, 0)


def test_a_file_with_errors_is_refused_with_every_row_and_nothing_kept(manager: Browser, session: Session) -> None:
    body = assert_problem(manager.request("POST", "/catalogue/import", files={"file": ("sp.csv", BAD, "text/csv")}),
                          422, "import_rejected")
    assert body["details"]["errors"][0]["row"] == 2 and body["details"]["errors"][0]["column"] == "barcode"
    assert _products(session) == 0
    checked = manager.request("POST", "/catalogue/import", files={"file": ("sp.csv", BAD, "text/csv")},
                              data={"dry_run": "true"})
    assert checked.status_code == 200 and checked.json()["errors"][0]["code"] == "invalid_barcode"
    assert_problem(manager.request("POST", "/catalogue/import", files={"file": ("a.pdf", b"%PDF-1.4\x00", "x")}),
                   422, "not_a_spreadsheet")
    too_big = manager.request("POST", "/catalogue/import",
                              files={"file": ("sp.csv", b"a" * (21 * 1024 * 1024), "text/csv")})
    assert too_big.status_code == 413


def test_export_downloads_csv_and_xlsx_and_agents_may_not(manager: Browser, session: Session,
                                                         browser_for: BrowserFor) -> None:
    make_tshirt(session)
    csv_file = manager.request("GET", "/catalogue/export", params={"format": "csv", "lang": "en"})
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.content.startswith("\ufeffProduct code,Product name".encode())
    xlsx = manager.request("GET", "/catalogue/export")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet["A1"].value == "Mã sản phẩm" and sheet["H2"].value == "AT-001-DEN-M"
    assert manager.request("GET", "/catalogue/export", params={"format": "pdf"}).status_code == 422
    agent = browser_for(make_user(session, role=Role.agent))
    assert_problem(agent.request("GET", "/catalogue/export"), 403, "role_required")
    assert_problem(agent.request("POST", "/catalogue/import", files={"file": ("sp.csv", GOOD, "text/csv")}), 403,
                   "role_required")


def test_the_command_line_imports_exports_and_finds(db_url: str, tmp_path: Path, session: Session) -> None:
    runner = CliRunner()
    source = tmp_path / "san-pham.csv"
    source.write_bytes(GOOD)
    dry = runner.invoke(cli.app, ["catalogue", "import", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output and _products(session) == 0
    done = runner.invoke(cli.app, ["catalogue", "import", str(source)])
    assert done.exit_code == 0 and "1 were created" in done.output
    session.rollback()
    assert service.get_variant_by_sku(session, sku="AT-9-L").barcode == ean(92)
    session.rollback()

    bad = tmp_path / "loi.csv"
    bad.write_bytes(BAD)
    refused = runner.invoke(cli.app, ["catalogue", "import", str(bad)])
    assert refused.exit_code == 1 and "check digit" in refused.output and "nothing was imported" in refused.output

    target = tmp_path / "out.xlsx"
    exported = runner.invoke(cli.app, ["catalogue", "export", str(target)])
    assert exported.exit_code == 0 and target.stat().st_size > 0 and "1 products" in exported.output
    assert runner.invoke(cli.app, ["catalogue", "export", str(tmp_path / "x.pdf")]).exit_code != 0
    found = runner.invoke(cli.app, ["catalogue", "find", "ao thun"])
    assert found.exit_code == 0 and "AT-9" in found.output
    helped = runner.invoke(cli.app, ["catalogue", "import", "--help"])
    assert helped.exit_code == 0 and "Mã vạch" in helped.output
