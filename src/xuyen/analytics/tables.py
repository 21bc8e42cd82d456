"""Every table a dashboard shows can be downloaded as CSV or Excel: a ``Table`` is the rows with their columns,
and each dashboard registers the tables it offers under a name, so one export route serves them all.

A builder takes the database session, the dashboard's filters and the language, and returns the table with
headings in that language; cells are plain values (text, whole numbers, decimals, dates), never formatted text,
so a spreadsheet can sum them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy.orm import Session

from xuyen.analytics.filters import Filters
from xuyen.errors import NotFound

Cell = str | int | float | Decimal | date | datetime | None
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
SHEET_TITLE_CHARS = 31  # Excel's limit


@dataclass(frozen=True)
class Table:
    """Rows of plain values under their column headings."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)


TableBuilder = Callable[[Session, Filters, str], Table]
_builders: dict[tuple[str, str], TableBuilder] = {}


def exportable(dashboard: str, name: str) -> Callable[[TableBuilder], TableBuilder]:
    """Register ``builder(session, filters, locale)`` as the table ``name`` of ``dashboard``, downloadable at
    ``/analytics/{dashboard}/export/{name}.csv`` (or ``.xlsx``)."""
    def register(builder: TableBuilder) -> TableBuilder:
        _builders[(dashboard, name)] = builder
        return builder
    return register


def exportable_names(dashboard: str) -> list[str]:
    """The names of the tables ``dashboard`` offers."""
    return [name for (owner, name) in _builders if owner == dashboard]


def build(session: Session, *, dashboard: str, name: str, filters: Filters, locale: str) -> Table:
    """The table ``name`` of ``dashboard`` for ``filters``; ``NotFound`` when there is no such table."""
    builder = _builders.get((dashboard, name))
    if builder is None:
        raise NotFound(f"The {dashboard} dashboard has no table named {name}.", code="table_not_found")
    return builder(session, filters, locale)


def to_csv(table: Table) -> bytes:
    """The table as UTF-8 CSV with a byte-order mark, so Excel reads Vietnamese letters right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([_csv_cell(cell) for cell in row] for row in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """The table as an Excel workbook of one sheet, numbers as numbers and dates as dates."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(table.title))
    sheet.append(list(table.columns))
    for row in table.rows:
        sheet.append([_xlsx_cell(cell) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(table: Table, *, fmt: str) -> tuple[bytes, str]:
    """The table's bytes and media type in ``fmt`` (``csv`` or ``xlsx``)."""
    if fmt == "xlsx":
        return to_xlsx(table), XLSX_MEDIA_TYPE
    return to_csv(table), CSV_MEDIA_TYPE


def _csv_cell(cell: Cell) -> str | int | float:
    if cell is None:
        return ""
    if isinstance(cell, (date, datetime)):
        return cell.isoformat()
    if isinstance(cell, Decimal):
        return str(cell)
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@"):
        return "'" + cell  # a text that a spreadsheet would take for a formula stays text
    return cell


def _xlsx_cell(cell: Cell) -> str | int | float | date | datetime | None:
    if isinstance(cell, Decimal):
        return float(cell)
    if isinstance(cell, datetime) and cell.tzinfo is not None:
        return cell.replace(tzinfo=None)  # Excel has no time zones; times are given in the viewer's zone
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@"):
        return "'" + cell
    return cell


def _sheet_title(title: str) -> str:
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return cleaned[:SHEET_TITLE_CHARS] or "Sheet"
