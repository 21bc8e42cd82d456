"""``xuyen customers import FILE``: import a customer list in this process, with a progress bar and a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from xuyen.cli_support import cli_actor, errors_reported, table
from xuyen.config import get_settings
from xuyen.customers.cli import customers_app
from xuyen.customers.cli import register as register_customers
from xuyen.customers.importing import service
from xuyen.customers.importing.mapping import FIELDS, parse_map_option
from xuyen.customers.importing.models import CustomerImport, ImportStatus
from xuyen.db import session_scope
from xuyen.errors import ValidationFailed

MAX_ID = 2**63 - 1
REPORT_SHOWN = 20
HINTS = {
    "import_not_found": "`xuyen customers import --help` shows how to start one.",
    "source_not_found": "`xuyen source list` shows the sources and their ids.",
}

IMPORT_HELP = f"""Import a customer list (CSV or Excel) as store clerks keep it.

Each row becomes a customer through the event ingestion (an identify call, plus a Consent Updated call per
consent column). Rows with a bad phone or e-mail are imported without the bad cell and listed in the report;
rows with no phone, e-mail or customer code are not imported. The whole file is read and checked before the
first row is written, so a file that cannot be read changes nothing.

Columns are mapped from their headers (Vietnamese or English, with or without accents: "Họ tên", "SĐT",
"Ngày sinh", "Mã KH", …). Override with --map COLUMN=FIELD, where FIELD is one of:

\b
{chr(10).join(f"  {field.name:<13} {field.description}" for field in FIELDS)}
  trait:NAME    a custom trait called NAME
  consent:CHANNEL[:PURPOSE]  yes/no consent; CHANNEL any, email, sms, zalo, messenger, whatsapp, phone;
                PURPOSE marketing (default), transactional, care
  -             ignore the column

Examples:

\b
  xuyen customers import khach-hang.xlsx --dry-run
  xuyen customers import khach-hang.csv --map "Số ĐT=phone" --map "Ghi chú=trait:note" --report loi.csv
  xuyen customers import danh-sach.xlsx --sheet "Khách VIP" --source 3
  xuyen customers import --resume 12
"""


def register(app: typer.Typer) -> None:
    """Add the ``customers`` group (the ``import`` command joins it when this module is imported)."""
    register_customers(app)


def _mapping(options: list[str]) -> dict[str, str]:
    mapping = {}
    for option in options:
        column, field_name = parse_map_option(option)
        mapping[column] = field_name
    return mapping


@customers_app.command("import", help=IMPORT_HELP, no_args_is_help=True)
def import_customers(
    file: Annotated[Path | None, typer.Argument(help="The CSV, .xlsx or .xls file.", exists=True, dir_okay=False,
                                                readable=True)] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", metavar="COLUMN=FIELD",
                                                   help="Map a column to a field (repeat for several).")] = None,
    source: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="The id of the source the events go to "
                                               f"(default: a source called “{service.DEFAULT_SOURCE_NAME}”).")]
    = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only check the file and write the report.")] = False,
    sheet: Annotated[str | None, typer.Option(help="The Excel sheet to read (default: the first).")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the report of rejected and flagged rows to this CSV "
                                                "file.", dir_okay=False)] = None,
    lang: Annotated[str | None, typer.Option(help="Language of the report: vi or en (default: "
                                             "XUYEN_DEFAULT_LOCALE).")] = None,
    resume: Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="Carry on with a failed or interrupted "
                                               "import from its last committed batch, instead of a new file.")]
    = None,
) -> None:
    """Import a customer list (the full help is IMPORT_HELP)."""
    locale = lang or get_settings().default_locale
    if locale not in ("vi", "en"):
        raise typer.BadParameter(f"{locale!r} is not a report language; use vi or en.", param_hint="--lang")
    with errors_reported(HINTS), session_scope() as session:
        if resume is not None:
            customer_import = _resumable(session, resume)
        elif file is None:
            raise ValidationFailed("Give the file to import, or --resume ID.", code="no_file")
        else:
            customer_import = service.upload(session, data=file.read_bytes(), file_name=file.name,
                                             actor=service.Actor(name=cli_actor()), sheet=sheet,
                                             mapping=_mapping(map_ or []), source_id=source, dry_run=dry_run,
                                             in_process=True)
            _print_reading(customer_import)
        _run(session, customer_import)
        _print_summary(customer_import)
        _print_report(session, customer_import, locale=locale, path=report)
        if customer_import.status == ImportStatus.failed:
            raise typer.Exit(1)


def _resumable(session: Session, import_id: int) -> CustomerImport:
    customer_import = service.get_import(session, import_id=import_id)
    if customer_import.status == ImportStatus.failed:
        service.retry(session, import_id=import_id, in_process=True)
    elif customer_import.status not in (ImportStatus.queued, ImportStatus.running):
        raise ValidationFailed(f"Import {import_id} is {customer_import.status.value}; there is nothing to resume.",
                               code="import_not_resumable")
    return customer_import


def _print_reading(customer_import: CustomerImport) -> None:
    how = [customer_import.format.upper()]
    if customer_import.encoding:
        how.append(f"encoding {customer_import.encoding}")
    if customer_import.delimiter:
        how.append(f"delimiter {customer_import.delimiter!r}")
    if customer_import.sheet:
        how.append(f"sheet “{customer_import.sheet}”")
    typer.echo(f"Import {customer_import.id}: {customer_import.file_name} ({', '.join(how)}), "
               f"header on row {customer_import.header_row}.")
    rows = [(header, field_name) for header, field_name in customer_import.mapping.items()]
    typer.echo(table(("COLUMN", "FIELD"), rows))


def _run(session: Session, customer_import: CustomerImport) -> None:
    with typer.progressbar(length=100, label="Importing", file=None) as bar:
        shown = 0

        def advance(current: CustomerImport) -> None:
            nonlocal shown
            total = current.rows_total or 1
            percent = int(current.rows_done * 100 / total) if current.status != ImportStatus.done else 100
            bar.update(max(percent - shown, 0))
            shown = max(shown, percent)

        service.run_in_process(session, import_id=customer_import.id, progress=advance)


def _print_summary(customer_import: CustomerImport) -> None:
    imported = "would be imported" if customer_import.dry_run else "imported"
    typer.echo(f"{customer_import.rows_total} rows read: {customer_import.rows_imported} {imported} "
               f"({customer_import.rows_flagged} of them flagged), {customer_import.rows_rejected} not imported.")
    if customer_import.dry_run:
        typer.echo("Dry run: nothing was written. Run the same command without --dry-run to import.")
    if customer_import.status == ImportStatus.failed:
        typer.secho(f"The import failed: {customer_import.error}", err=True, fg=typer.colors.RED)


def _print_report(session: Session, customer_import: CustomerImport, *, locale: str,
                  path: Path | None) -> None:
    lines = service.report(session, import_id=customer_import.id, locale=locale)
    if not lines:
        return
    rows = [(str(line.row_number), line.status, " ".join(str(reason["message"]) for reason in line.reasons))
            for line in lines[:REPORT_SHOWN]]
    typer.echo(table(("ROW", "RESULT", "REASONS"), rows))
    if len(lines) > REPORT_SHOWN:
        typer.echo(f"… and {len(lines) - REPORT_SHOWN} more rows in the report.")
    if path is not None:
        path.write_bytes(service.report_csv(session, import_id=customer_import.id, locale=locale))
        typer.echo(f"Report written to {path}.")
    elif len(lines) > REPORT_SHOWN:
        typer.echo("Add --report FILE.csv to get every row (it opens in Excel).")

