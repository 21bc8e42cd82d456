"""The ``xuyen customers`` commands."""

from __future__ import annotations

import typer

GROUP = "customers"

customers_app = typer.Typer(help="Customers: find them, see their profile, import customer lists.",
                            no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``customers`` command group to the root command (once, however often it is called)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(customers_app, name=GROUP)
