"""The ``xuyen source`` commands: create a source (printing its write key once) and list the sources."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from xuyen.clock import to_local
from xuyen.config import get_settings
from xuyen.db import session_scope
from xuyen.errors import XuyenError
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


def _fail(message: str) -> typer.Exit:
    """Print ``message`` in red on stderr and return the exit (code 1) to raise."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(1)


@contextmanager
def _errors_reported() -> Iterator[None]:
    """Turn expected errors into a red message and exit code 1."""
    try:
        yield
    except XuyenError as exc:
        raise _fail(exc.message) from exc
    except (OperationalError, ProgrammingError) as exc:
        where = get_settings().database_url.split("@")[-1]
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise _fail(f"The database {where} cannot be used ({reason}). Check XUYEN_DATABASE_URL, and run "
                    "`xuyen migrate` if the tables are missing.") from exc


def _channel(value: str) -> ChannelType:
    """The channel named ``value`` (any case); an unknown one is refused with the list of valid names."""
    try:
        return ChannelType(value.strip().lower())
    except ValueError:
        valid = ", ".join(channel.value for channel in ChannelType)
        raise typer.BadParameter(f"{value!r} is not a channel; use one of: {valid}.") from None


def _local(moment: datetime) -> str:
    """A timestamp in the configured time zone, for people to read."""
    return to_local(moment, get_settings().default_timezone).strftime("%d/%m/%Y %H:%M:%S")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows in aligned columns under a header line."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in (headers, *rows))


@source_app.command("create")
def source_create(
    name: Annotated[str, typer.Option(help="What people call the source, e.g. 'Website' or 'POS Hoàn Kiếm'.")],
    channel: Annotated[ChannelType, typer.Option(help=CHANNEL_HELP, parser=_channel, metavar="TYPE")],
    store: Annotated[str | None, typer.Option(
        help="Code of the store the source belongs to (a store's POS, for instance).")] = None,
) -> None:
    """Create a source; its write key is printed once, as the last line on stdout."""
    with _errors_reported(), session_scope() as session:
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
    with _errors_reported(), session_scope() as session:
        sources = service.list_sources(session)
        codes = {store.id: store.code for store in stores_service.list_all(session)}
        if not sources:
            typer.echo("No sources yet. Create one with `xuyen source create --name NAME --channel TYPE`.")
            return
        rows = [(str(source.id), source.name, source.channel.value, codes.get(source.store_id or 0, "-"),
                 f"{service.WRITE_KEY_PREFIX}_{source.write_key_prefix}_…", "yes" if source.is_active else "no",
                 _local(source.created_at)) for source in sources]
        timezone = get_settings().default_timezone
        headers = ("ID", "NAME", "CHANNEL", "STORE", "KEY PREFIX", "ACTIVE", f"CREATED ({timezone})")
        typer.echo(_table(headers, rows))
