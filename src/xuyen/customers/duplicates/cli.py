"""Duplicate detection commands in the ``xuyen identity`` group: list, detect, merge, not the same, unmerge."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated

import typer

from xuyen.cli_support import cli_actor, errors_reported, local_time, table
from xuyen.customers.duplicates import service
from xuyen.customers.duplicates.models import DuplicateSuggestion, SuggestionStatus
from xuyen.customers.duplicates.reasons import summary
from xuyen.customers.models import CustomerProfile
from xuyen.db import session_scope
from xuyen.identity import cli as identity_cli
from xuyen.identity.cli import identity_app

MAX_ID = 2**63 - 1
CSV_COLUMNS = ("suggestion_id", "status", "score", "match_weight", "profile_id", "user_ids", "display_name",
               "other_profile_id", "other_user_ids", "other_display_name", "summary", "reasons")
STEPS = {"reading": "reading the profiles", "preparing": "preparing the records",
         "estimating": "estimating the model from random pairs", "training": "training the model",
         "scoring": "scoring candidate pairs", "storing": "updating the review queue", "done": "done"}
HINTS = {
    "suggestion_not_found": "`xuyen identity duplicates` lists the open suggestions with their ids.",
    "suggestion_not_open": "`xuyen identity duplicates --status all` shows every suggestion's status.",
    "merge_breaks_rules": "Check both profiles with `xuyen identity show ID`; an owner can merge them with "
                          "`xuyen identity merge SURVIVOR ABSORBED --force`.",
}

SuggestionArg = Annotated[int, typer.Argument(metavar="SUGGESTION_ID", min=1, max=MAX_ID,
                                              help="The suggestion (see `xuyen identity duplicates`).")]


def register(app: typer.Typer) -> None:
    """Add the ``identity`` group (with the duplicate commands in it) to the root command."""
    identity_cli.register(app)


def _status(value: str) -> SuggestionStatus | None:
    """The status filter: a status name, or ``all``."""
    if value == "all":
        return None
    try:
        return SuggestionStatus(value)
    except ValueError:
        raise typer.BadParameter(f"use one of {', '.join(SuggestionStatus)} or all") from None


def _ids(row: CustomerProfile | None) -> str:
    return ";".join(row.user_ids) if row is not None else ""


def _name(row: CustomerProfile | None) -> str:
    return row.display_name if row is not None else ""


def _csv(rows: list[DuplicateSuggestion], customers: dict[int, CustomerProfile]) -> None:
    """The suggestions as CSV on standard output, one pair per line."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        left, right = customers.get(row.profile_id), customers.get(row.other_profile_id)
        writer.writerow((row.id, row.status.value, f"{row.score:.4f}", f"{row.match_weight:.2f}", row.profile_id,
                         _ids(left), _name(left), row.other_profile_id, _ids(right), _name(right),
                         summary(row.reasons), json.dumps(row.reasons, ensure_ascii=False, sort_keys=True)))


def _table(rows: list[DuplicateSuggestion], customers: dict[int, CustomerProfile]) -> str:
    """The suggestions in aligned columns."""
    lines = [(str(row.id), f"{row.score:.3f}", row.status.value,
              f"{row.profile_id} {_name(customers.get(row.profile_id))}".strip(),
              f"{row.other_profile_id} {_name(customers.get(row.other_profile_id))}".strip(), summary(row.reasons))
             for row in rows]
    return table(("ID", "SCORE", "STATUS", "PROFILE", "OTHER PROFILE", "REASONS"), lines)


@identity_app.command("duplicates")
def duplicates(
    min_score: Annotated[float, typer.Option("--min-score", min=0.0, max=1.0,
                                             help="Only pairs scoring at least this (0–1).")] = 0.0,
    output: Annotated[str, typer.Option("--format", help="table or csv (csv: both profile ids, both user ids, "
                                                         "score and reasons).")] = "table",
    status: Annotated[str, typer.Option(help="open, merged, not_same, stale or all.")] = "open",
    limit: Annotated[int, typer.Option(min=1, max=1_000_000, help="How many to list, best first.")] = 1000,
) -> None:
    """List suggested duplicate pairs, best first (run `xuyen identity detect-duplicates` to find them)."""
    if output not in ("table", "csv"):
        raise typer.BadParameter("use table or csv", param_hint="--format")
    wanted = _status(status)
    with errors_reported(HINTS), session_scope() as session:
        page = service.list_suggestions(session, status=wanted, min_score=min_score, limit=limit)
        customers = service.customers_of(session, suggestions=page.items)
        if output == "csv":
            _csv(page.items, customers)
            return
        if not page.items:
            typer.echo("No duplicate suggestions match. `xuyen identity detect-duplicates` looks for new ones.")
            return
        typer.echo(_table(page.items, customers))
        if page.total > len(page.items):
            typer.echo(f"\n{len(page.items)} of {page.total} shown; raise --limit to see more.")


@identity_app.command("detect-duplicates")
def detect_duplicates(
    changed: Annotated[bool, typer.Option("--changed", help="Re-check only the profiles changed since the last "
                                                            "run (against everyone).")] = False,
) -> None:
    """Look for duplicate customers now, showing each step; the review queue is updated at the end."""
    with errors_reported(HINTS), session_scope() as session:
        run = service.run_now(session, requested_by=cli_actor(), changed_only=changed,
                              progress=lambda step: typer.echo(f"… {STEPS.get(step, step)}", err=True))
        typer.echo(f"Run {run.id}: {run.profile_count} profiles compared, {run.pair_count} pairs scored at least "
                   f"{run.min_score:g}; {run.new_count} new, {run.updated_count} updated, {run.stale_count} no "
                   f"longer open, {run.auto_merged_count} merged automatically. Finished "
                   f"{local_time(run.finished_at)}.")


@identity_app.command("duplicate-merge")
def duplicate_merge(
    suggestion_id: SuggestionArg,
    survivor: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="Which of the two keeps its id "
                                                                         "(default: the older).")] = None,
    note: Annotated[str, typer.Option(help="What you checked, kept with the decision.")] = "",
) -> None:
    """Merge a suggested pair (within the identity rules); the merge records the score and the reasons."""
    with errors_reported(HINTS), session_scope() as session:
        merged = service.merge_suggestion(session, suggestion_id=suggestion_id, actor=cli_actor(),
                                          survivor_id=survivor, note=note)
        typer.echo(f"Merge {merged.id}: profile {merged.absorbed_id} is now part of profile {merged.survivor_id}. "
                   f"Undo it with `xuyen identity duplicate-unmerge {suggestion_id}`.")


@identity_app.command("duplicate-not-same")
def duplicate_not_same(
    suggestion_id: SuggestionArg,
    note: Annotated[str, typer.Option(help="Why, e.g. \"mother and daughter share the phone\".")] = "",
) -> None:
    """Mark a suggested pair as two different customers; it is never suggested again."""
    with errors_reported(HINTS), session_scope() as session:
        row = service.mark_not_same(session, suggestion_id=suggestion_id, actor=cli_actor(), note=note)
        typer.echo(f"Suggestion {row.id}: profiles {row.profile_id} and {row.other_profile_id} are kept apart.")


@identity_app.command("duplicate-unmerge")
def duplicate_unmerge(suggestion_id: SuggestionArg) -> None:
    """Undo the merge of a suggested pair; the pair is open for review again."""
    with errors_reported(HINTS), session_scope() as session:
        undone = service.unmerge_suggestion(session, suggestion_id=suggestion_id, actor=cli_actor())
        typer.echo(f"Merge {undone.id} undone: profiles {undone.survivor_id} and {undone.absorbed_id} are separate "
                   f"again; suggestion {suggestion_id} is open.")
