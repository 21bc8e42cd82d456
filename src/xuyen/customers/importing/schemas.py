"""Customer import API answers and requests: imports with their progress, file previews, report rows."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from xuyen.customers.importing.models import ImportStatus
from xuyen.customers.importing.service import ImportView, Preview, ReportLine

MAX_ID = 2**63 - 1


class ImportOut(BaseModel):
    """An import: how its file was read and mapped, its status, its progress and its counts."""

    id: int
    file_name: str
    size_bytes: int
    format: str = Field(description="csv, xlsx or xls.")
    encoding: str | None = Field(description="The encoding a CSV file was read with (utf-8, utf-8-sig, utf-16, "
                                             "cp1258, cp1252).")
    delimiter: str | None
    sheet: str | None
    header_row: int = Field(description="The spreadsheet row of the header (the first row is 1).")
    mapping: dict[str, str] = Field(description="Each column's field; - means ignored.")
    status: ImportStatus
    error: str | None
    dry_run: bool = Field(description="Only checked: the counts say what would be imported, nothing was written.")
    source_id: int | None
    rows_total: int
    rows_done: int
    rows_imported: int
    rows_rejected: int
    rows_flagged: int
    events_stored: int
    percent: int = Field(description="How much of the file is done, 0 to 100.")
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, view: ImportView) -> ImportOut:
        """The answer for an import as it stands."""
        row = view.customer_import
        return cls(id=row.id, file_name=row.file_name, size_bytes=row.size_bytes, format=row.format,
                   encoding=row.encoding, delimiter=row.delimiter, sheet=row.sheet, header_row=row.header_row,
                   mapping=row.mapping, status=view.status, error=view.error, dry_run=row.dry_run,
                   source_id=row.source_id, rows_total=row.rows_total, rows_done=row.rows_done,
                   rows_imported=row.rows_imported, rows_rejected=row.rows_rejected, rows_flagged=row.rows_flagged,
                   events_stored=row.events_stored, percent=view.percent, created_by=row.created_by,
                   created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at)


class ColumnOut(BaseModel):
    """A column of the file: its letter, header, mapped field and sample values."""

    letter: str
    header: str
    field: str
    samples: list[str]


class PreviewRowOut(BaseModel):
    """One of the first data rows, with its spreadsheet row number."""

    row: int
    cells: list[str]


class PreviewOut(BaseModel):
    """How a file reads and how its columns would be mapped; nothing is stored."""

    file_name: str
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    header_row: int
    columns: list[ColumnOut]
    rows: list[PreviewRowOut]
    mapping: dict[str, str]
    has_identifier: bool = Field(description="Whether a column holds a phone, an e-mail, a customer code or a "
                                             "loyalty card: without one nothing can be imported.")
    fields: list[str] = Field(description="Every field a column can be mapped to.")

    @classmethod
    def of(cls, preview: Preview) -> PreviewOut:
        """The answer for a preview."""
        return cls(file_name=preview.file_name, format=preview.format, encoding=preview.encoding,
                   delimiter=preview.delimiter, sheet=preview.sheet, sheets=preview.sheets,
                   header_row=preview.header_row,
                   columns=[ColumnOut(letter=c.letter, header=c.header, field=c.field, samples=c.samples)
                            for c in preview.columns],
                   rows=[PreviewRowOut(row=number, cells=cells) for number, cells in preview.rows],
                   mapping=preview.mapping, has_identifier=preview.has_identifier, fields=preview.fields)


class ReasonOut(BaseModel):
    """Why a row was rejected or flagged: a stable code, the column, and the words for a person."""

    code: str
    column: str | None
    message: str


class ReportLineOut(BaseModel):
    """A rejected or flagged row: its spreadsheet row number, reasons and cells."""

    row: int
    status: str = Field(description="rejected (not imported) or flagged (imported without its bad cells).")
    reasons: list[ReasonOut]
    raw: dict[str, str]

    @classmethod
    def of(cls, line: ReportLine) -> ReportLineOut:
        """The answer for a report line."""
        return cls(row=line.row_number, status=line.status, raw=line.raw,
                   reasons=[ReasonOut(code=str(r["code"]), column=r["column"], message=str(r["message"]))
                            for r in line.reasons])


class StartIn(BaseModel):
    """Start a draft import (or a dry run's import for real)."""

    mapping: dict[str, str] | None = Field(default=None, description="COLUMN → FIELD choices applied to the guess.")
    source_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    dry_run: bool = False
