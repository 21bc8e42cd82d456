"""The ``xuyen analytics`` commands: rebuild the daily sales rollups for any range of days."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated

import typer

from xuyen.cli_support import errors_reported, fail

GROUP = "analytics"

analytics_app = typer.Typer(help="Analytics: rebuild the daily rollups the dashboards read.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``analytics`` command group to the root command (once, however often it is called)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(analytics_app, name=GROUP)


@analytics_app.command("rollup")
def rollup(
    first: Annotated[str | None, typer.Option("--from", help="The first local day to rebuild (YYYY-MM-DD); "
                                                              "default: the day of the first order.")] = None,
    last: Annotated[str | None, typer.Option("--to", help="The last local day to rebuild (YYYY-MM-DD); "
                                                           "default: today.")] = None,
) -> None:
    """Rebuild the daily sales rollups (orders, revenue, customers per day, channel and store) for a range of
    days in the shop's time zone. Safe to run at any time and as often as you like: each day is recomputed whole
    from the orders and events."""
    from xuyen.analytics import rollups
    from xuyen.db import session_scope
    from xuyen.domains import load_models

    load_models()
    start, end = _day(first, "--from"), _day(last, "--to")
    if start and end and start > end:
        raise fail("--from comes after --to: swap them.")
    began = time.perf_counter()
    with errors_reported(), session_scope() as session:
        result = rollups.rebuild(session, first=start, last=end,
                                 progress=lambda a, b: typer.echo(f"  {a.isoformat()} … {b.isoformat()} ✓"))
    typer.echo(f"Rebuilt {result.days} days: {result.customer_days} customer-days, {result.touch_days} touch-days, "
               f"{result.customers} customers, in {time.perf_counter() - began:.1f} s.")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"{name} is not a date: write it as YYYY-MM-DD.") from None
