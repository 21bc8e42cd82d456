"""Reading clerks' files: CSV in any delimiter and the encodings Excel writes, .xlsx and legacy .xls.

A file becomes a ``Table``: the header row found in it, and its data rows with the row numbers a clerk
sees in the spreadsheet (the first line of the file is row 1). Nothing here touches the database.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from xuyen.errors import ValidationFailed

Cell = str | int | float | date | datetime | bool | None

FORMATS = ("csv", "xlsx", "xls")
HEADER_SCAN_ROWS = 20
DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Letters only Vietnamese text has once decoded: a Windows-1258 file read as Windows-1252 shows none of them.
_VIETNAMESE_ONLY = frozenset("ăĂơƠưƯđĐ" "\u0300\u0301\u0303\u0309\u0323")

HeaderScore = Callable[[list[str]], int]


class UnreadableFile(ValidationFailed):
    """The file is not a spreadsheet we can read, or has no header row; the message says what to do."""


@dataclass
class Table:
    """A sheet as read: where its header is, its column names, and a way to read its data rows."""

    format: str
    headers: list[str]
    header_row: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    _rows: Callable[[], Iterator[tuple[int, list[Cell]]]] | None = None

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        """The data rows below the header as (spreadsheet row number, cells), empty rows left out."""
        assert self._rows is not None
        for number, cells in self._rows():
            if number > self.header_row and any(not is_blank(cell) for cell in cells):
                yield number, cells


def is_blank(cell: Cell) -> bool:
    """Whether a cell holds nothing (None or only spaces)."""
    return cell is None or (isinstance(cell, str) and not cell.strip())


def detect_format(data: bytes, file_name: str) -> str:
    """csv, xlsx or xls, from the file's first bytes (the name only breaks ties); refuses anything else."""
    name = file_name.lower()
    if data.startswith(_XLSX_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC):
        return "xls"
    if not data.strip():
        raise UnreadableFile("The file is empty. Choose the file with the customer list.", code="empty_file")
    if name.endswith((".xlsx", ".xlsm", ".xls", ".ods", ".numbers", ".pdf", ".docx", ".zip")) or _looks_binary(data):
        raise UnreadableFile(
            f"{file_name or 'The file'} is not a CSV or Excel file we can read. Save the list from Excel as "
            "“Excel Workbook (.xlsx)” or “CSV UTF-8”, then upload it again.", code="not_a_spreadsheet")
    return "csv"


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _utf16_without_bom(head):
        return False
    return b"\x00" in head or sum(byte < 9 for byte in head) > 0


def _utf16_without_bom(head: bytes) -> str | None:
    """utf-16-le or -be when every other byte is zero, as in ASCII text written as UTF-16."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > len(odd) * 0.4 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.4 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with.

    A byte-order mark decides (UTF-8, UTF-16 as Excel's "Unicode text" writes); then UTF-16 without one;
    then UTF-8 if the bytes are valid UTF-8; otherwise Windows-1258 (Vietnamese Windows) when the text
    then holds letters only Vietnamese has, else Windows-1252 (Western Windows).
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    bomless = _utf16_without_bom(data[:4096])
    if bomless:
        return data.decode(bomless, errors="replace"), bomless
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    vietnamese = unicodedata.normalize("NFC", data.decode("cp1258", errors="replace"))
    if any(char in _VIETNAMESE_ONLY for char in vietnamese):
        return vietnamese, "cp1258"
    return data.decode("cp1252", errors="replace"), "cp1252"


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: the one that splits its lines into the same number (>1) of fields."""
    lines = [line for line in sample.splitlines() if line.strip()][:HEADER_SCAN_ROWS * 2]
    best, best_score = ",", -1
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        wide = [count for count in counts if count > 1]
        if not wide:
            continue
        most = max(set(wide), key=wide.count)
        score = wide.count(most) * 100 + most
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_table(data: bytes, *, file_name: str, sheet: str | None = None,
               header_score: HeaderScore | None = None) -> Table:
    """Read a file's header and prepare its rows; ``header_score`` rates how header-like a row is."""
    kind = detect_format(data, file_name)
    if kind == "csv":
        return _read_csv(data, header_score)
    if kind == "xlsx":
        return _read_xlsx(data, sheet, header_score)
    return _read_xls(data, sheet, header_score)


def _read_csv(data: bytes, header_score: HeaderScore | None) -> Table:
    text, encoding = decode_text(data)
    text = unicodedata.normalize("NFC", text)
    delimiter = sniff_delimiter(text[:_SNIFF_CHARS])

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for number, row in enumerate(reader, start=1):
            yield number, list(row)

    return _with_header(Table(format="csv", headers=[], header_row=0, encoding=encoding, delimiter=delimiter,
                              _rows=rows), header_score)


def _read_xlsx(data: bytes, sheet: str | None, header_score: HeaderScore | None) -> Table:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a damaged or foreign file can fail anywhere inside the parser
        raise UnreadableFile("The Excel file cannot be opened (it may be damaged or protected with a password). "
                             "Open it in Excel, save it again as .xlsx and upload the new file.",
                             code="unreadable_excel") from exc
    names = list(book.sheetnames)
    chosen = _chosen_sheet(names, sheet)
    worksheet = book[chosen]
    worksheet.reset_dimensions()  # some programs write wrong dimensions; read the rows as they are

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            yield number, list(row)

    return _with_header(Table(format="xlsx", headers=[], header_row=0, sheet=chosen, sheets=names, _rows=rows),
                        header_score)


def _read_xls(data: bytes, sheet: str | None, header_score: HeaderScore | None) -> Table:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # a damaged or foreign file can fail anywhere inside the parser
        raise UnreadableFile("The old-style Excel file (.xls) cannot be opened. Open it in Excel, save it as "
                             ".xlsx and upload the new file.", code="unreadable_excel") from exc
    names = book.sheet_names()
    chosen = _chosen_sheet(names, sheet)
    worksheet = book.sheet_by_name(chosen)

    def rows() -> Iterator[tuple[int, list[Cell]]]:
        for index in range(worksheet.nrows):
            yield index + 1, [_xls_value(cell, book.datemode) for cell in worksheet.row(index)]

    return _with_header(Table(format="xls", headers=[], header_row=0, sheet=chosen, sheets=names, _rows=rows),
                        header_score)


def _xls_value(cell: Any, datemode: int) -> Cell:
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    value: Cell = cell.value
    return value


def _chosen_sheet(names: list[str], sheet: str | None) -> str:
    if not names:
        raise UnreadableFile("The Excel file has no sheets.", code="no_sheet")
    if sheet is None or not sheet.strip():
        return names[0]
    wanted = sheet.strip().casefold()
    for name in names:
        if name.strip().casefold() == wanted:
            return name
    listed = ", ".join(f"“{name}”" for name in names)
    raise UnreadableFile(f"The workbook has no sheet called “{sheet}”; its sheets are {listed}.",
                         code="unknown_sheet", details={"sheets": names})


def cell_text(cell: Cell) -> str:
    """A cell as the text a clerk sees (numbers without a trailing .0, dates as dd/mm/yyyy)."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.strftime("%d/%m/%Y") if cell.time() == datetime.min.time() else cell.strftime("%d/%m/%Y %H:%M")
    if isinstance(cell, date):
        return cell.strftime("%d/%m/%Y")
    return unicodedata.normalize("NFC", str(cell)).strip()


def _with_header(table: Table, header_score: HeaderScore | None) -> Table:
    """Find the header row among the first rows: the best-scoring one (a title row above it is skipped)."""
    assert table._rows is not None
    candidates = [(number, [cell_text(cell) for cell in cells])
                  for number, cells in islice(table._rows(), HEADER_SCAN_ROWS * 5)
                  if any(not is_blank(cell) for cell in cells)][:HEADER_SCAN_ROWS]
    if not candidates:
        raise UnreadableFile("The file has no rows. Check that you chose the right file (and sheet).",
                             code="no_rows")
    best_number, best_cells, best_score = 0, [], -1
    for number, cells in candidates:
        filled = [cell for cell in cells if cell]
        if len(filled) < 2 and len(candidates) > 1:
            continue  # a title such as "DANH SÁCH KHÁCH HÀNG" in the first cell only
        score = (header_score(cells) * 10 if header_score else 0) + (1 if len(set(filled)) == len(filled) else 0)
        if score > best_score:
            best_number, best_cells, best_score = number, cells, score
    if best_score < 0:
        best_number, best_cells = candidates[0]
    table.header_row = best_number
    table.headers = _unique_headers(best_cells)
    return table


def _unique_headers(cells: list[str]) -> list[str]:
    """Header names, blanks named by their column letter and repeated names numbered ("Ghi chú (2)")."""
    seen: dict[str, int] = {}
    headers = []
    for index, cell in enumerate(cells):
        name = cell or f"({column_letter(index)})"
        seen[name] = seen.get(name, 0) + 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    while headers and headers[-1].startswith("(") and not cells[len(headers) - 1]:
        headers.pop()
    return headers


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 → A, 27 → AB."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
