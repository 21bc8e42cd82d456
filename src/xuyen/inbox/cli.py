"""The ``xuyen channel`` commands: connect a channel, list them, give one new secrets, poll the mailboxes, and
parse failed webhooks again."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from xuyen.cli_support import cli_actor, echo_kinds, errors_reported, local_time, name_value_pairs, table
from xuyen.db import session_scope
from xuyen.errors import ValidationFailed
from xuyen.inbox import connections, intake

GROUP = "channel"

channel_app = typer.Typer(help="Chat, e-mail and SMS channels connected to the inbox.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``channel`` command group to the root command (once)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(channel_app, name=GROUP)


@channel_app.command("kinds")
def channel_kinds() -> None:
    """List the channel kinds this installation can connect and what each asks for."""
    echo_kinds(connections.installed_kinds())


@channel_app.command("add")
def channel_add(
    kind: Annotated[str, typer.Option(help="The channel kind; `xuyen channel kinds` lists them.")],
    name: Annotated[str, typer.Option(help="What staff call the channel, e.g. 'Zalo OA Cửa hàng'.")],
    setting: Annotated[list[str] | None, typer.Option(help="A setting as NAME=VALUE (repeat).")] = None,
    secret: Annotated[list[str] | None, typer.Option(
        help="A secret as NAME=VALUE (repeat); stored encrypted. Prefer XUYEN_CHANNEL_SECRET_<NAME> variables "
             "to keep secrets out of the shell history.")] = None,
) -> None:
    """Connect a channel; prints its id and the webhook path to give the provider."""
    secrets = {key.removeprefix("XUYEN_CHANNEL_SECRET_").lower(): value for key, value in os.environ.items()
               if key.startswith("XUYEN_CHANNEL_SECRET_")}
    with errors_reported(), session_scope() as session:
        secrets |= name_value_pairs(secret or [], "Secret")
        settings = name_value_pairs(setting or [], "Setting")
        channel = connections.add_channel(session, kind=kind, name=name, settings=settings, secrets=secrets,
                                          actor=cli_actor())
        typer.echo(f"Connected channel {channel.id}: {channel.name} ({channel.kind}).")
        typer.echo(f"Webhook address: https://YOUR-HOST/webhooks/{channel.id}")


@channel_app.command("list")
def channel_list() -> None:
    """List the connected channels and their state."""
    with errors_reported(), session_scope() as session:
        rows = [(channel.id, channel.kind, channel.name, channel.status.value, local_time(channel.last_polled_at))
                for channel in connections.list_channels(session)]
        typer.echo(table(["ID", "KIND", "NAME", "STATE", "LAST POLLED"], rows) if rows else "No channel yet.")


@channel_app.command("secrets")
def channel_secrets(
    channel_id: Annotated[int, typer.Argument(help="The channel's id.")],
    secret: Annotated[list[str], typer.Option(help="A secret as NAME=VALUE (repeat).")],
) -> None:
    """Replace some of a channel's secrets (after reconnecting it at the provider)."""
    with errors_reported(), session_scope() as session:
        if not secret:
            raise ValidationFailed("Give at least one --secret NAME=VALUE.", code="secrets_required")
        channel = connections.update_secrets(session, channel_id=channel_id, secrets=name_value_pairs(secret, "Secret"),
                                             actor=cli_actor())
        typer.echo(f"Channel {channel.id} has new secrets and is active again.")


@channel_app.command("poll")
def channel_poll(channel_id: Annotated[int | None, typer.Argument(help="One channel (default: every polled one).")]
                 = None) -> None:
    """Fetch now what the polled channels (mailboxes) received; workers do it every minute anyway."""
    with errors_reported(), session_scope() as session:
        ids = [channel_id] if channel_id is not None else intake.polled_channel_ids(session)
        for one in ids:
            kept = intake.poll_channel(session, channel_id=one)
            session.commit()
            typer.echo(f"Channel {one}: {kept} new item(s) queued.")


@channel_app.command("retry-failed")
def channel_retry(channel_id: Annotated[int | None, typer.Argument(help="One channel (default: all).")] = None) -> None:
    """Parse webhooks that failed again (after an upgrade that understands them)."""
    with errors_reported(), session_scope() as session:
        typer.echo(f"{intake.retry_failed_receipts(session, channel_id=channel_id)} webhook(s) queued again.")
