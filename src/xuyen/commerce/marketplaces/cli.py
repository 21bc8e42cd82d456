"""The ``xuyen marketplace`` commands: connect a Shopee or Lazada shop, list the shops, disconnect one, ask for an
order recovery sync or a stock reconciliation, and read the activity log."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from xuyen.cli_support import cli_actor, echo_kinds, errors_reported, local_time, name_value_pairs, table
from xuyen.commerce.marketplaces import service
from xuyen.commerce.marketplaces.models import ActivityKind, ActivityLevel
from xuyen.db import session_scope

GROUP = "marketplace"
SECRET_PREFIX = "XUYEN_MARKETPLACE_SECRET_"  # noqa: S105  (a variable name prefix, no secret)

marketplace_app = typer.Typer(help="Shopee and Lazada shops synced with Xuyên.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``marketplace`` command group to the root command (once)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(marketplace_app, name=GROUP)


@marketplace_app.command("kinds")
def kinds() -> None:
    """List the marketplaces this installation can connect and what each asks for."""
    echo_kinds(service.installed_kinds())


@marketplace_app.command("connect")
def connect(
    channel: Annotated[str, typer.Option(help="shopee or lazada; `xuyen marketplace kinds` lists them.")],
    name: Annotated[str, typer.Option(help="What staff call the shop, e.g. 'Shopee – Thời trang Xuyên'.")],
    setting: Annotated[list[str] | None, typer.Option(help="A setting as NAME=VALUE (repeat).")] = None,
    secret: Annotated[list[str] | None, typer.Option(
        help=f"A secret as NAME=VALUE (repeat); stored encrypted. Prefer {SECRET_PREFIX}<NAME> variables to keep "
             "keys and tokens out of the shell history.")] = None,
) -> None:
    """Connect a shop; prints its id and the push address to set in the platform's console."""
    secrets = {key.removeprefix(SECRET_PREFIX).lower(): value for key, value in os.environ.items()
               if key.startswith(SECRET_PREFIX)}
    with errors_reported(), session_scope() as session:
        secrets |= name_value_pairs(secret or [], "Secret")
        shop = service.connect(session, channel=channel, name=name, settings=name_value_pairs(setting or [], "Setting"),
                               secrets=secrets, actor=cli_actor())
        typer.echo(f"Connected shop {shop.id}: {shop.name} ({shop.channel.value} {shop.account}).")
        typer.echo(f"Push address: https://YOUR-HOST/webhooks/marketplaces/{shop.channel.value}/{shop.app_id}")


@marketplace_app.command("list")
def list_shops() -> None:
    """List the connected shops and where their sync stands."""
    with errors_reported(), session_scope() as session:
        rows = [(s.connection.id, s.connection.channel.value, s.connection.account, s.connection.name,
                 s.connection.status.value + (" (demo)" if s.connection.is_demo else ""),
                 local_time(s.connection.last_sync_at), s.pending_pushes, s.orders_seen)
                for s in service.shop_statuses(session)]
        typer.echo(table(["ID", "MARKETPLACE", "SHOP", "NAME", "STATE", "LAST SYNC", "PENDING PUSHES", "ORDERS"],
                         rows) if rows else "No shop yet.")


@marketplace_app.command("disconnect")
def disconnect(connection_id: Annotated[int, typer.Argument(help="The shop's id (`xuyen marketplace list`).")]) -> None:
    """Stop syncing a shop; its tokens are forgotten, its history kept."""
    with errors_reported(), session_scope() as session:
        shop = service.disconnect(session, connection_id=connection_id, actor=cli_actor())
        typer.echo(f"Disconnected shop {shop.id}: {shop.name}.")


@marketplace_app.command("sync")
def sync(connection_id: Annotated[int, typer.Argument(help="The shop's id.")]) -> None:
    """Queue the shop's order recovery sync now (a worker runs it)."""
    with errors_reported(), session_scope() as session:
        shop = service.request_sync(session, connection_id=connection_id, actor=cli_actor())
        typer.echo(f"Recovery sync of {shop.name} queued.")


@marketplace_app.command("reconcile")
def reconcile(connection_id: Annotated[int, typer.Argument(help="The shop's id.")]) -> None:
    """Queue the shop's stock reconciliation now (a worker runs it)."""
    with errors_reported(), session_scope() as session:
        shop = service.request_reconcile(session, connection_id=connection_id, actor=cli_actor())
        typer.echo(f"Stock reconciliation of {shop.name} queued.")


@marketplace_app.command("activity")
def activity(
    shop: Annotated[int | None, typer.Option(help="Only this shop's entries.")] = None,
    kind: Annotated[ActivityKind | None, typer.Option(help="Only entries of this kind.")] = None,
    level: Annotated[ActivityLevel | None, typer.Option(help="Only entries of this level.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
) -> None:
    """The newest activity entries first."""
    with errors_reported(), session_scope() as session:
        rows = [(entry.id, local_time(entry.created_at), entry.connection_id or "", entry.kind.value,
                 entry.level.value, entry.message)
                for entry in service.list_activity(session, connection_id=shop, kind=kind, level=level, limit=limit)]
        typer.echo(table(["ID", "WHEN", "SHOP", "KIND", "LEVEL", "MESSAGE"], rows) if rows else "Nothing yet.")
