"""The ``xuyen routing`` commands: fold the messages stored before search existed (and make PostgreSQL's trigram
index once pg_trgm is there), and add the suggested Vietnamese labels."""

from __future__ import annotations

import typer

from xuyen.cli_support import cli_actor, errors_reported
from xuyen.db import get_engine, session_scope
from xuyen.inbox.routing import labels, search

GROUP = "routing"

routing_app = typer.Typer(help="Inbox routing: labels and conversation search.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``routing`` command group to the root command (once)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(routing_app, name=GROUP)


@routing_app.command("reindex")
def reindex() -> None:
    """Fold every message not yet searchable (after upgrading), and make the trigram index on PostgreSQL."""
    with errors_reported(), session_scope() as session:
        folded = search.rebuild_index(session)
    with get_engine().begin() as connection:
        indexed = search.ensure_trigram_index(connection)
    typer.echo(f"{folded} messages folded for search.")
    if get_engine().dialect.name == "postgresql":
        typer.echo("The trigram index is in place." if indexed else
                   "No trigram index: install the pg_trgm extension (as a superuser) and run this again.")


@routing_app.command("default-labels")
def default_labels() -> None:
    """Add the suggested Vietnamese labels (Facebook Ads, Zalo OA, Đổi trả, …) and their rules."""
    with errors_reported(), session_scope() as session:
        added = labels.install_defaults(session, actor=cli_actor())
    typer.echo(f"Added: {', '.join(label.name for label in added)}." if added else "Every default label is there.")
