"""What every ``xuyen`` command shares: error messages in red with what to do next, times, tables."""

from __future__ import annotations

import getpass
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from xuyen.clock import to_local
from xuyen.config import get_settings
from xuyen.errors import XuyenError


def cli_actor() -> str:
    """Who runs the command, as merges, imports and the audit log record it: ``cli:<login>``."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        login = "unknown"
    return f"cli:{login}"[:200]


def fail(message: str) -> typer.Exit:
    """Print ``message`` in red on stderr and return the exit (code 1) to raise."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(1)


@contextmanager
def errors_reported(hints: Mapping[str, str] | None = None) -> Iterator[None]:
    """Turn expected errors into a red message (plus the hint for its code, if any) and exit code 1."""
    try:
        yield
    except XuyenError as exc:
        hint = (hints or {}).get(exc.code)
        raise fail(f"{exc.message} {hint}" if hint else exc.message) from exc
    except (OperationalError, ProgrammingError) as exc:
        where = get_settings().database_url.split("@")[-1]
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise fail(f"The database {where} cannot be used ({reason}). Check XUYEN_DATABASE_URL, and run "
                   "`xuyen migrate` if the tables are missing.") from exc


def local_time(moment: datetime | None) -> str:
    """A timestamp in the configured time zone, for people to read ("-" when there is none)."""
    if moment is None:
        return "-"
    return to_local(moment, get_settings().default_timezone).strftime("%d/%m/%Y %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows in aligned columns under a header line."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    return "\n".join("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in (headers, *rows))


def name_value_pairs(values: Sequence[str], what: str) -> dict[str, str]:
    """``NAME=VALUE`` options (``--setting``, ``--secret``) as a dict; ``what`` names them in the error."""
    found: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{what} {value!r} is not NAME=VALUE.")
        found[name.strip()] = content
    return found


def echo_kinds(kinds: Mapping[str, Mapping[str, object]]) -> None:
    """Print installable connection kinds (channels, marketplaces) with the settings and secrets each asks for."""
    for kind, info in kinds.items():
        typer.echo(f"{kind}: {info['label']}")
        settings, secrets, optional = info["settings"], info["secrets"], info["optional"]
        assert isinstance(settings, Mapping) and isinstance(secrets, Mapping) and isinstance(optional, Collection)
        for name, hint in {**settings, **secrets}.items():
            secret = " (secret)" if name in secrets else ""
            maybe = " (optional)" if name in optional else ""
            typer.echo(f"    {name}{secret}{maybe}: {hint}")
