"""The ``xuyen analytics`` commands: ``rollup`` rebuilds the daily sales rollups for any range of days; ``clv``
fits the customer value model on any transaction file and checks it on a holdout; ``scores`` computes every
customer's RFM scores and predicted value now."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from xuyen.analytics import clv_file, value
from xuyen.cli_support import errors_reported, fail
from xuyen.db import session_scope

GROUP = "analytics"
analytics_app = typer.Typer(help="Analytics: the daily rollups the dashboards read, and customer value (RFM "
                                 "scores, predicted value).",
                            no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``analytics`` command group to the root command (once, however often it is called)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(analytics_app, name=GROUP)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write it as YYYY-MM-DD.") from None


@analytics_app.command("clv")
def clv_command(
    transactions: Annotated[Path, typer.Option("--transactions", metavar="FILE.csv", help=(
        "A CSV file with a header line and the columns customer_id, date (YYYY-MM-DD) and amount; other columns "
        "are ignored. Several purchases of a customer on one day count as one purchase of their sum."))],
    calibration_end: Annotated[str, typer.Option("--calibration-end", metavar="DATE", help=(
        "The last day (YYYY-MM-DD, included) of the transactions the model is fitted on. Transactions after it "
        "are the holdout the predictions are checked against."))],
    out: Annotated[Path, typer.Option("--out", metavar="FILE.csv", help=(
        "Where to write one line per customer: customer_id, frequency, recency, T, monetary, expected_purchases, "
        "probability_alive, predicted_value (and actual_purchases, actual_value with a holdout)."))],
    horizon_days: Annotated[int, typer.Option("--horizon-days", metavar="N", min=1, max=value.MAX_HORIZON_DAYS,
                                              help="How many days after the calibration end to predict.")] = 90,
) -> None:
    """Fit the BG/NBD and Gamma-Gamma customer value model on a transaction file and predict each customer's
    purchases, probability of being active and value over the next N days; with transactions after the
    calibration end, report the error against what happened and against the naive run-rate prediction."""
    end = _day(calibration_end)
    with errors_reported({"not_enough_data": "Choose a later --calibration-end or a file with more customers."}):
        rows = clv_file.read_transactions(transactions)
        result = clv_file.evaluate(rows, calibration_end=end, horizon_days=horizon_days)
    try:
        clv_file.write_rows(out, result)
    except OSError as exc:
        raise fail(f"Cannot write {out}: {exc}") from exc
    typer.echo(clv_file.report(result, horizon_days=horizon_days))
    typer.echo(f"Wrote {len(result.rows)} customers to {out}")


@analytics_app.command("scores")
def scores_command(
    horizon_days: Annotated[int, typer.Option("--horizon-days", metavar="N", min=1, max=value.MAX_HORIZON_DAYS,
                                              help="How many days ahead to predict.")] = value.DEFAULT_HORIZON_DAYS,
) -> None:
    """Compute every customer's RFM scores and group and the value model's predictions now (the worker does it
    each night)."""
    with errors_reported(), session_scope() as session:
        done = value.refresh(session, horizon_days=horizon_days)
        fit = done.fit
        typer.echo(f"Scored {done.customers} customers as of {fit.as_of.isoformat()}.")
        if fit.status == value.FITTED:
            typer.echo(f"Value model: r={fit.r:.4f} alpha={fit.alpha:.4f} a={fit.a:.4f} b={fit.b:.4f} (days), "
                       f"spend model {fit.spend_model}.")
        if fit.message:
            typer.echo(fit.message)


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
    start, end = _optional_day(first, "--from"), _optional_day(last, "--to")
    if start and end and start > end:
        raise fail("--from comes after --to: swap them.")
    began = time.perf_counter()
    with errors_reported(), session_scope() as session:
        result = rollups.rebuild(session, first=start, last=end,
                                 progress=lambda a, b: typer.echo(f"  {a.isoformat()} … {b.isoformat()} ✓"))
    typer.echo(f"Rebuilt {result.days} days: {result.customer_days} customer-days, {result.touch_days} touch-days, "
               f"{result.customers} customers, in {time.perf_counter() - began:.1f} s.")


def _optional_day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{name} is not a date: write it as YYYY-MM-DD.") from None
