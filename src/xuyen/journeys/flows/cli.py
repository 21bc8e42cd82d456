"""The ``xuyen journey`` commands: list journeys and their results, check a definition file, import one as a new
journey, publish, pause, resume, archive and broadcast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from xuyen.cli_support import cli_actor, errors_reported, fail, local_time, table
from xuyen.db import session_scope
from xuyen.journeys.flows import results, service

GROUP = "journey"
MAX_FILE_BYTES = 1_000_000

journey_app = typer.Typer(help="Journeys: flows customers enter by a trigger and move through step by step.",
                          no_args_is_help=True)
JourneyId = Annotated[int, typer.Argument(help="The journey's id (`xuyen journey list` shows them).", min=1)]


def register(app: typer.Typer) -> None:
    """Add the ``journey`` command group to the root command (once)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(journey_app, name=GROUP)


def _read(path: Path) -> Any:
    if not path.is_file():
        raise fail(f"There is no file {path}.")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise fail(f"{path} is larger than {MAX_FILE_BYTES:,} bytes; a journey definition is far smaller.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{path} is not JSON in UTF-8 ({exc}).") from exc


@journey_app.command("list")
def journey_list() -> None:
    """List the journeys: status, live version, entries and who is still inside."""
    with errors_reported(), session_scope() as session:
        rows = []
        for journey in service.list_journeys(session):
            totals = results.journey_results(session, journey_id=journey.id)
            rows.append((journey.id, journey.name, journey.status.value, journey.live_version or "-",
                         totals.enrolled, totals.active, local_time(journey.updated_at)))
        typer.echo(table(["ID", "NAME", "STATUS", "VERSION", "ENTERED", "INSIDE", "CHANGED"], rows)
                   if rows else "No journey yet.")


@journey_app.command("show")
def journey_show(journey_id: JourneyId) -> None:
    """Show a journey's results as a whole and per step."""
    with errors_reported(), session_scope() as session:
        journey = service.get_journey(session, journey_id=journey_id)
        totals = results.journey_results(session, journey_id=journey_id)
        typer.echo(f"{journey.name} ({journey.status.value}, version {journey.live_version or '-'})")
        rates = (f"converted {totals.treatment_conversion_rate or 0:.1%} treated vs "
                 f"{totals.holdout_conversion_rate or 0:.1%} held out")
        lift = f", lift {totals.lift:+.1%}" if totals.lift is not None else ""
        typer.echo(f"Entered {totals.enrolled:,} (held out {totals.holdout:,}), inside {totals.active:,}, "
                   f"goal {totals.goal_reached:,}; {rates}{lift}.")
        stats = results.node_stats(session, journey_id=journey_id)
        rows = [(node, figures.get("entered", 0), figures.get("waiting", 0), figures.get("sent", "-"),
                 figures.get("delivered", "-"), figures.get("converted", "-"), figures.get("revenue", "-"))
                for node, figures in sorted(stats.items())]
        if rows:
            typer.echo(table(["STEP", "ENTERED", "WAITING", "SENT", "DELIVERED", "CONVERTED", "REVENUE (VND)"], rows))


@journey_app.command("check")
def journey_check(path: Annotated[Path, typer.Argument(help="A JSON file holding a journey definition.")]) -> None:
    """Check a definition file and list every problem by its path (nothing is saved)."""
    definition = _read(path)
    with errors_reported(), session_scope() as session:
        errors = service.validate(session, definition=definition)
    if errors:
        for where, message in errors.items():
            typer.echo(f"{where or 'definition'}: {message}")
        raise typer.Exit(1)
    typer.echo("The definition is valid.")


@journey_app.command("import")
def journey_import(
    path: Annotated[Path, typer.Argument(help="A JSON file holding a journey definition.")],
    name: Annotated[str, typer.Option(help="The new journey's name.")],
    publish: Annotated[bool, typer.Option(help="Publish it at once (it goes live).")] = False,
) -> None:
    """Create a journey from a definition file (in draft, or live with --publish)."""
    definition = _read(path)
    with errors_reported(), session_scope() as session:
        journey = service.create_journey(session, name=name, definition=definition, actor=cli_actor())
        typer.echo(f"Created journey {journey.id}: {journey.name}.")
        if publish:
            version = service.publish(session, journey_id=journey.id, actor=cli_actor())
            typer.echo(f"Published version {version.number}; the journey is live.")


def _change(action: str, journey_id: int) -> None:
    with errors_reported(), session_scope() as session:
        if action == "publish":
            version = service.publish(session, journey_id=journey_id, actor=cli_actor())
            typer.echo(f"Published version {version.number}; the journey is live.")
        elif action == "broadcast":
            job_id = service.start_broadcast(session, journey_id=journey_id, actor=cli_actor())
            typer.echo(f"Sending to the segment's members in the background (job {job_id}); "
                       f"`xuyen journey show {journey_id}` shows how far it got.")
        else:
            journey = getattr(service, action)(session, journey_id=journey_id, actor=cli_actor())
            typer.echo(f"{journey.name} is {journey.status.value}.")


@journey_app.command("publish")
def journey_publish(journey_id: JourneyId) -> None:
    """Publish the draft as the next version; new entrants follow it, those inside keep theirs."""
    _change("publish", journey_id)


@journey_app.command("pause")
def journey_pause(journey_id: JourneyId) -> None:
    """Stop entries and hold everyone inside where they are."""
    _change("pause", journey_id)


@journey_app.command("resume")
def journey_resume(journey_id: JourneyId) -> None:
    """Take entries again and move on those who waited."""
    _change("resume", journey_id)


@journey_app.command("archive")
def journey_archive(journey_id: JourneyId) -> None:
    """End the journey: no more entries, everyone inside leaves."""
    _change("archive", journey_id)


@journey_app.command("broadcast")
def journey_broadcast(journey_id: JourneyId) -> None:
    """Send a live broadcast journey to its segment's current members."""
    _change("broadcast", journey_id)
