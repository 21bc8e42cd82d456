"""Customer list files as clerks make them, built in the test: CSV in several encodings and delimiters, .xlsx."""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime
from typing import Any

import openpyxl

HEADER = ["STT", "Họ và tên", "Số điện thoại", "Email", "Ngày sinh", "Giới tính", "Đồng ý nhận tin"]
ROWS = [
    ["1", "Nguyễn Văn An", "0168 123 4567", "an.nguyen@gmail.com", "01/02/1990", "Nam", "Có"],
    ["2", "Trần Thị Bình", "0912345678/0987654321", "binh@@gmail", "31/02/1991", "Nữ", "x"],
    ["3", "Lê Văn Cường", "", "", "", "", ""],
    ["4", "Phạm Thị Dung", "0551234567", "dung.pham@yahoo.com.vn", "1995-05-06", "nữ", "không"],
]


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8",
              title: str | None = None) -> bytes:
    """A CSV file: optional title line and blank line, then the rows, in ``encoding`` (Windows line ends)."""
    lines = [f"{title}{delimiter * (len(rows[0]) - 1)}", ""] if title else []
    lines += [delimiter.join(_quoted(cell, delimiter) for cell in row) for row in rows]
    text = "\r\n".join(lines) + "\r\n"
    return windows_1258(text) if encoding == "cp1258" else text.encode(encoding)


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below


def windows_1258(text: str) -> bytes:
    """Text as Windows writes it in code page 1258: letters with a tone mark as base letter + combining mark."""
    encoded = bytearray()
    for char in text:
        try:
            encoded += char.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", char)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONE_MARKS))
            encoded += (base + "".join(c for c in parts if c in _TONE_MARKS)).encode("cp1258")
    return bytes(encoded)


def _quoted(cell: str, delimiter: str) -> str:
    return f'"{cell}"' if delimiter in cell or '"' in cell else cell


def xlsx_bytes(rows: list[list[Any]], *, title: str | None = None, sheet: str = "Khách hàng",
               other_sheets: tuple[str, ...] = ()) -> bytes:
    """An .xlsx workbook whose first sheet holds an optional title row, a blank row, then the rows."""
    book = openpyxl.Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    if title:
        worksheet.append([title])
        worksheet.append([])
    for row in rows:
        worksheet.append(row)
    for name in other_sheets:
        book.create_sheet(name).append(["Ghi chú"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def excel_rows() -> list[list[Any]]:
    """The sample list as Excel keeps it: phones turned into numbers, dates as dates or serial numbers."""
    return [
        ["Mã KH", "Họ tên", "SĐT", "Email", "Ngày sinh", "Nhận SMS"],
        ["KH001", "Nguyễn Văn An", 1681234567.0, "an.nguyen@gmail.com", datetime(1990, 2, 1), 1],
        ["KH002", "Trần Thị Bình", 912345678.0, "", 33000, 0],
        ["KH003", "Đỗ Minh Châu", "0987 654 321", "chau@@", "không nhớ", "x"],
    ]
