"""``xuyen analytics rollup``: rebuilds a range of days with progress, and refuses wrong dates."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import xuyen.cli
from tests.analytics import sales_data
from xuyen.analytics.cli import register
from xuyen.analytics.sales_models import SalesDay

register(xuyen.cli.app)  # as ``main()`` adds every domain's commands


def test_the_command_rebuilds_a_range_and_prints_its_progress(session: Session) -> None:
    sales_data.build(session)
    result = CliRunner().invoke(xuyen.cli.app, ["analytics", "rollup", "--from", "2026-01-01", "--to", "2026-03-10"])
    assert result.exit_code == 0, result.output
    assert "2026-01-01 … 2026-01-31 ✓" in result.output and "Rebuilt 69 days" in result.output
    session.rollback()
    assert session.execute(select(func.sum(SalesDay.orders), func.sum(SalesDay.revenue))).one() == (9, 1_700_000)


def test_the_command_refuses_wrong_dates() -> None:
    runner = CliRunner()
    wrong = runner.invoke(xuyen.cli.app, ["analytics", "rollup", "--from", "01/03/2026"])
    assert wrong.exit_code == 1 and "YYYY-MM-DD" in wrong.output
    swapped = runner.invoke(xuyen.cli.app, ["analytics", "rollup", "--from", "2026-03-02", "--to", "2026-03-01"])
    assert swapped.exit_code == 1 and "swap" in swapped.output
    assert "Rebuild the daily sales rollups" in runner.invoke(xuyen.cli.app, ["analytics", "rollup", "--help"]).output
