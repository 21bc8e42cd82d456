"""The ``xuyen catalogue`` commands: import and export the catalogue as CSV or Excel, find a product or variant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xuyen.cli_support import cli_actor, errors_reported, table
from xuyen.commerce.catalogue import service
from xuyen.commerce.catalogue.columns import COLUMNS, OPTION_PREFIXES
from xuyen.commerce.catalogue.exporting import export_catalogue
from xuyen.commerce.catalogue.importing import ImportReport, import_catalogue
from xuyen.db import session_scope

GROUP = "catalogue"
ERRORS_SHOWN = 30

catalogue_app = typer.Typer(help="The catalogue: import and export products and variants (CSV or Excel), look "
                                 "them up.", no_args_is_help=True)

_REQUIRED_FIRST = sorted(COLUMNS, key=lambda column: column.field not in ("product_code", "sku"))
IMPORT_HELP = f"""Import products and variants from a CSV or Excel (.xlsx) file, one row per variant.

The whole file is checked first and kept only if every row is right: a file with errors changes nothing, and
every error is listed with its row number. Products are matched by product code, variants by SKU, so the same
file can be imported again (it then changes nothing); an empty cell leaves the value as it is.

Columns (Vietnamese or English headers, with or without accents; the first two are required):

\b
{chr(10).join(f"  {column.vi:<22} {column.en}" for column in _REQUIRED_FIRST)}
  {OPTION_PREFIXES['vi']}NAME{'':<6} {OPTION_PREFIXES['en']}NAME  (one column per option: Màu, Cỡ…)

Examples:

\b
  xuyen catalogue import san-pham.xlsx --dry-run
  xuyen catalogue import san-pham.csv
  xuyen catalogue export san-pham.xlsx
"""


def register(app: typer.Typer) -> None:
    """Add the ``catalogue`` command group to the root command (once, however often it is called)."""
    if GROUP not in {group.name for group in app.registered_groups}:
        app.add_typer(catalogue_app, name=GROUP)


def _print_report(report: ImportReport) -> None:
    typer.echo(f"{report.rows} rows read ({report.format.upper()}).")
    if report.ignored_columns:
        typer.echo(f"Columns not read: {', '.join(report.ignored_columns)}.")
    if report.errors:
        typer.echo(table(("ROW", "COLUMN", "PROBLEM"), [(str(error.row), error.column or "-", error.message)
                                                         for error in report.errors[:ERRORS_SHOWN]]))
        if len(report.errors) > ERRORS_SHOWN:
            typer.echo(f"… and {len(report.errors) - ERRORS_SHOWN} more.")
        typer.secho(f"{len(report.errors)} problems: nothing was imported. Fix the rows above and run the same "
                    "command again.", err=True, fg=typer.colors.RED)
        return
    verb = "would be" if report.dry_run else "were"
    typer.echo(f"Products: {report.products_created} {verb} created, {report.products_updated} {verb} changed. "
               f"Variants: {report.variants_created} {verb} created, {report.variants_updated} {verb} changed. "
               f"Listings: {report.listings_set} {verb} set.")
    if report.dry_run:
        typer.echo("Dry run: nothing was written. Run the same command without --dry-run to import.")


@catalogue_app.command("import", help=IMPORT_HELP, no_args_is_help=True)
def import_file(
    file: Annotated[Path, typer.Argument(help="The CSV or .xlsx file.", exists=True, dir_okay=False,
                                         readable=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only check the file: write nothing.")] = False,
    sheet: Annotated[str | None, typer.Option(help="The Excel sheet to read (default: the first).")] = None,
) -> None:
    """Import products and variants (the full help is IMPORT_HELP)."""
    with (errors_reported(), session_scope() as session,
          typer.progressbar(length=100, label="Checking and importing") as bar):
        shown = 0

        def advance(done: int, total: int) -> None:
            nonlocal shown
            percent = int(done * 100 / max(total, 1))
            bar.update(max(percent - shown, 0))
            shown = max(shown, percent)

        report = import_catalogue(session, data=file.read_bytes(), file_name=file.name, actor=cli_actor(),
                                  dry_run=dry_run, sheet=sheet, progress=advance)
    _print_report(report)
    if report.errors:
        raise typer.Exit(1)


@catalogue_app.command("export")
def export_file(
    file: Annotated[Path, typer.Argument(help="Where to write: a .csv or .xlsx file.", dir_okay=False)],
    lang: Annotated[str, typer.Option(help="The headers' language: vi or en.")] = "vi",
) -> None:
    """Export every product and variant, one row per variant, in the format the import reads."""
    fmt = "csv" if file.suffix.lower() == ".csv" else "xlsx"
    if file.suffix.lower() not in (".csv", ".xlsx"):
        raise typer.BadParameter("Name the file .csv or .xlsx.", param_hint="FILE")
    with errors_reported(), session_scope() as session:
        data = export_catalogue(session, fmt=fmt, language=lang,
                                progress=lambda n: typer.echo(f"  {n:,} products written…", err=True))
        total = service.search_products(session, limit=1).total
    file.write_bytes(data)
    typer.echo(f"Wrote {total:,} products to {file}.")


@catalogue_app.command("find")
def find(
    query: Annotated[str, typer.Argument(help="Words of the name (with or without diacritics), a product code, a "
                                              "SKU or a barcode.")],
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many to list at most.")] = 20,
) -> None:
    """Find products by name, code, SKU or barcode."""
    with errors_reported(), session_scope() as session:
        page = service.search_products(session, query=query, limit=limit)
        if not page.products:
            typer.echo(f"No product matches {query!r}.")
            return
        typer.echo(table(("ID", "CODE", "NAME", "STATUS", "VARIANTS"),
                         [(str(p.id), p.code, p.name, p.status.value, str(page.variant_counts.get(p.id, 0)))
                          for p in page.products]))
        if page.total > len(page.products):
            typer.echo(f"… {page.total - len(page.products)} more; add words to narrow it down.")
