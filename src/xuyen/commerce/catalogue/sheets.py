"""Catalogue files: reading a CSV (the encodings and delimiters Excel writes) or an .xlsx sheet into rows with the
row numbers the shop owner sees, and writing rows back as CSV (UTF-8 with a BOM, so Excel shows Vietnamese) or
.xlsx. Nothing here touches the database."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from xuyen.errors import ValidationFailed

FORMATS = ("csv", "xlsx")
_XLSX_MAGIC = b"PK\x03\x04"
_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class Sheet:
    """A file as read: its header cells and data rows as (row number, cells), blank rows left out."""

    format: str
    headers: list[str]
    rows: list[tuple[int, list[str]]]


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # an id or a barcode Excel kept as a number
    if isinstance(cell, datetime | date):
        return cell.isoformat()
    return str(cell).strip()


def _decode(data: bytes) -> str:
    """The text of a CSV file: UTF-16 with its BOM, UTF-8, or else Windows-1258 (older Excel in Vietnamese), whose
    tone marks come apart from their letters and are put back together."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1258", errors="replace")
    return unicodedata.normalize("NFC", text)


def _read_csv(data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(data)
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for cells in reader:
        yield reader.line_num, [_text(cell) for cell in cells]


def _read_xlsx(data: bytes, sheet: str | None) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValidationFailed("The file looks like an Excel workbook but cannot be opened; save it again from "
                               "Excel as .xlsx.", code="not_a_spreadsheet") from exc
    names = workbook.sheetnames
    if sheet is not None and sheet not in names:
        raise ValidationFailed(f"The workbook has no sheet {sheet!r}; its sheets are {', '.join(names)}.",
                               code="unknown_sheet")
    worksheet = workbook[sheet or names[0]]
    try:
        for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield number, [_text(cell) for cell in cells]
    finally:
        workbook.close()


def read_sheet(data: bytes, *, file_name: str = "", sheet: str | None = None, max_rows: int = 100_000) -> Sheet:
    """The header row (the first that is not blank) and the data rows of a CSV or .xlsx file."""
    if not data.strip():
        raise ValidationFailed("The file is empty: choose the catalogue file (CSV or Excel .xlsx).",
                               code="empty_file")
    binary = b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if data.startswith(_XLSX_MAGIC):
        fmt, rows = "xlsx", _read_xlsx(data, sheet)
    elif binary or file_name.lower().endswith((".xls", ".xlsx", ".ods", ".pdf", ".zip")):
        raise ValidationFailed(f"{file_name or 'The file'} is not a CSV or .xlsx file. Save it from Excel as "
                               "“Excel Workbook (.xlsx)” or “CSV UTF-8” and upload it again.",
                               code="not_a_spreadsheet")
    else:
        fmt, rows = "csv", _read_csv(data)
    headers: list[str] | None = None
    found: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if not any(cells):
            continue
        if headers is None:
            headers = cells
            continue
        if len(found) >= max_rows:
            raise ValidationFailed(f"The file has more than {max_rows:,} rows; split it into smaller files.",
                                   code="too_many_rows", details={"max_rows": max_rows})
        found.append((number, cells + [""] * (len(headers) - len(cells))))
    if headers is None:
        raise ValidationFailed("The file has no header row: its first row must name the columns (SKU, Tên sản "
                               "phẩm, …).", code="no_header")
    return Sheet(format=fmt, headers=headers, rows=found)


def write_csv(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """Rows as a CSV file Excel opens with its Vietnamese intact (UTF-8 with a BOM, comma-separated)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(headers: Sequence[str], rows: Sequence[Sequence[str]], *, title: str = "Sản phẩm") -> bytes:
    """Rows as an .xlsx workbook of one sheet, every cell text (so barcodes keep their leading zeros)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for column in sheet.iter_cols(min_row=2):
        for cell in column:
            cell.number_format = "@"
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
