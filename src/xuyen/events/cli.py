"""The ``xuyen source`` commands: create a source (printing its write key once) and list the sources."""

from __future__ import annotations

from typing import Annotated

import typer

from xuyen.cli_support import errors_reported, local_time, table
from xuyen.config import get_settings
from xuyen.db import session_scope
from xuyen.events import service
from xuyen.events.models import ChannelType
from xuyen.stores import service as stores_service

GROUP = "source"
CHANNEL_HELP = ("The kind of channel: " + ", ".join(channel.value for channel in ChannelType)
                + " (api: anything else that sends events through the API).")

source_app = typer.Typer(help="Sources (one per channel instance) and their write keys for the tracking API.",
                         no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``source`` command group to the root command (once, however often it is called)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(source_app, name=GROUP)




def _channel(value: str) -> ChannelType:
    """The channel named ``value`` (any case); an unknown one is refused with the list of valid names."""
    try:
        return ChannelType(value.strip().lower())
    except ValueError:
        valid = ", ".join(channel.value for channel in ChannelType)
        raise typer.BadParameter(f"{value!r} is not a channel; use one of: {valid}.") from None




@source_app.command("create")
def source_create(
    name: Annotated[str, typer.Option(help="What people call the source, e.g. 'Website' or 'POS Hoàn Kiếm'.")],
    channel: Annotated[ChannelType, typer.Option(help=CHANNEL_HELP, parser=_channel, metavar="TYPE")],
    store: Annotated[str | None, typer.Option(
        help="Code of the store the source belongs to (a store's POS, for instance).")] = None,
) -> None:
    """Create a source; its write key is printed once, as the last line on stdout."""
    with errors_reported(), session_scope() as session:
        store_id = stores_service.get_by_code(session, code=store).id if store else None
        source, key = service.create_source(session, name=name, channel=channel, store_id=store_id)
        where = f", store {store.strip().upper()}" if store else ""
        typer.echo(f"Created source {source.id}: {source.name} ({source.channel.value}{where}).")
        typer.secho("Copy the write key below now: it is shown only this once and cannot be recovered. Send it "
                    "as the HTTP Basic user name (empty password), `writeKey` in the JSON body or an X-Write-Key "
                    "header; see docs/tracking-api.md.", err=True, fg=typer.colors.YELLOW)
        typer.echo(key)


@source_app.command("list")
def source_list() -> None:
    """List the sources with their channel, store and write key prefix (never the key)."""
    with errors_reported(), session_scope() as session:
        sources = service.list_sources(session)
        codes = {store.id: store.code for store in stores_service.list_all(session)}
        if not sources:
            typer.echo("No sources yet. Create one with `xuyen source create --name NAME --channel TYPE`.")
            return
        rows = [(str(source.id), source.name, source.channel.value, codes.get(source.store_id or 0, "-"),
                 f"{service.WRITE_KEY_PREFIX}_{source.write_key_prefix}_…", "yes" if source.is_active else "no",
                 local_time(source.created_at)) for source in sources]
        timezone = get_settings().default_timezone
        headers = ("ID", "NAME", "CHANNEL", "STORE", "KEY PREFIX", "ACTIVE", f"CREATED ({timezone})")
        typer.echo(table(headers, rows))
