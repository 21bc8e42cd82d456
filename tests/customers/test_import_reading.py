"""Reading clerks' files and mapping their columns: encodings, delimiters, title rows, Excel's numbers and dates."""

from __future__ import annotations

import codecs
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.customers.import_files import HEADER, ROWS, csv_bytes, excel_rows, xlsx_bytes
from xuyen.customers.importing.cells import CellProblem, birthday, phone_text, yes_no
from xuyen.customers.importing.mapping import (
    check_field,
    guess_mapping,
    parse_map_option,
    require_identifier,
    resolve_mapping,
)
from xuyen.customers.importing.processing import read_file
from xuyen.customers.importing.reading import UnreadableFile, cell_text
from xuyen.errors import ValidationFailed

TODAY = date(2026, 11, 23)
DATA = Path(__file__).parent / "data"


def _rows(data: bytes, name: str = "khach.csv", sheet: str | None = None) -> list[tuple[int, list[str]]]:
    table = read_file(data, file_name=name, sheet=sheet)
    return [(number, [cell_text(cell) for cell in cells]) for number, cells in table.rows()]


@pytest.mark.parametrize(("encoding", "bom", "expected"), [
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),  # Excel's "Unicode text"
    ("cp1258", b"", "cp1258"),  # Excel's "CSV" on Vietnamese Windows
])
def test_vietnamese_text_reads_the_same_in_every_encoding_excel_writes(encoding: str, bom: bytes,
                                                                        expected: str) -> None:
    delimiter = "\t" if encoding.startswith("utf-16") else ","
    data = bom + csv_bytes([HEADER, *ROWS], delimiter=delimiter, encoding=encoding)
    table = read_file(data, file_name="khach.csv", sheet=None)
    assert table.encoding == expected
    assert table.delimiter == delimiter
    assert table.headers == HEADER
    rows = _rows(data)
    assert rows[0] == (2, ROWS[0])
    assert rows[1][1][1] == "Trần Thị Bình"


def test_western_windows_files_are_read_as_cp1252() -> None:
    data = csv_bytes([["Name", "Email", "Phone"], ["José Müller", "jose@example.de", "+49 30 1234567"]],
                     encoding="cp1252")
    table = read_file(data, file_name="export.csv", sheet=None)
    assert table.encoding == "cp1252"
    assert _rows(data)[0][1][0] == "José Müller"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(delimiter: str) -> None:
    rows = [HEADER, *ROWS, ["5", "Võ Thị Em", "0901234567", "em@gmail.com", "", "", ""]]
    table = read_file(csv_bytes(rows, delimiter=delimiter), file_name="khach.txt", sheet=None)
    assert table.delimiter == delimiter
    assert table.headers == HEADER


def test_a_title_row_above_the_header_is_skipped_and_row_numbers_are_the_spreadsheets() -> None:
    data = csv_bytes([HEADER, ROWS[0], ["", "", "", "", "", "", ""], ROWS[1]], delimiter=";",
                     title="DANH SÁCH KHÁCH HÀNG THÁNG 11")
    table = read_file(data, file_name="khach.csv", sheet=None)
    assert table.header_row == 3
    assert [number for number, _ in table.rows()] == [4, 6]  # the empty row 5 is skipped


def test_headers_without_diacritics_or_in_english_are_recognised() -> None:
    mapping = guess_mapping(["stt", "Ho va ten", "SDT", "E-mail", "Ngay sinh", "GIOI TINH", "Ma KH", "Dia chi",
                             "Customer ID", "Nhan SMS", "Ghi chu"])
    assert mapping == {"stt": "-", "Ho va ten": "name", "SDT": "phone", "E-mail": "email", "Ngay sinh": "birthday",
                       "GIOI TINH": "gender", "Ma KH": "external_id", "Dia chi": "address",
                       "Customer ID": "-",  # one column per field: the first customer code column wins
                       "Nhan SMS": "consent:sms:marketing", "Ghi chu": "-"}


def test_family_and_given_name_columns() -> None:
    assert guess_mapping(["Họ", "Tên", "Điện thoại"]) == {"Họ": "last_name", "Tên": "first_name",
                                                          "Điện thoại": "phone"}
    assert guess_mapping(["Tên", "Điện thoại"])["Tên"] == "name"


def test_explicit_mapping_overrides_the_guess_and_refuses_unknown_fields_and_columns() -> None:
    headers = ["Khách", "Liên lạc", "Ghi chú", "Số ĐT"]
    mapping = resolve_mapping(headers, {"lien lac": "phone", "Ghi chú": "trait:note", "Số ĐT": "-"})
    assert mapping == {"Khách": "name", "Liên lạc": "phone", "Ghi chú": "trait:note", "Số ĐT": "-"}
    with pytest.raises(ValidationFailed) as unknown_field:
        resolve_mapping(headers, {"Liên lạc": "telephone"})
    assert unknown_field.value.code == "unknown_field"
    assert "phone" in unknown_field.value.message and "trait:NAME" in unknown_field.value.message
    with pytest.raises(ValidationFailed) as unknown_column:
        resolve_mapping(headers, {"Zalo": "phone"})
    assert unknown_column.value.code == "unknown_column" and "“Liên lạc”" in unknown_column.value.message
    assert check_field("consent:SMS:care") == "consent:sms:care"
    with pytest.raises(ValidationFailed):
        check_field("consent:fax")
    assert parse_map_option("Giảm giá=10%=trait:discount") == ("Giảm giá=10%", "trait:discount")


def test_a_mapping_without_an_identifier_column_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValidationFailed) as refused:
        require_identifier(guess_mapping(["Họ tên", "Ngày sinh"]))
    assert refused.value.code == "no_identifier_column"
    assert "--map" in refused.value.message


def test_xlsx_with_title_row_float_phones_and_dates() -> None:
    data = xlsx_bytes(excel_rows(), title="Danh sách khách hàng VIP", other_sheets=("Ghi chú",))
    table = read_file(data, file_name="khach.xlsx", sheet=None)
    assert (table.format, table.sheet, table.header_row) == ("xlsx", "Khách hàng", 3)
    assert table.sheets == ["Khách hàng", "Ghi chú"]
    rows = list(table.rows())
    assert rows[0][0] == 4
    assert rows[0][1][2] == 1681234567.0 and phone_text(rows[0][1][2]) == "01681234567"
    assert phone_text(rows[1][1][2]) == "0912345678"
    assert rows[0][1][4] == datetime(1990, 2, 1)


def test_a_named_sheet_is_read_and_an_unknown_one_refused_with_the_sheets_listed() -> None:
    data = xlsx_bytes([["SĐT"], ["0912345678"]], sheet="Tháng 11", other_sheets=("Tháng 12",))
    assert read_file(data, file_name="k.xlsx", sheet="tháng 11").sheet == "Tháng 11"
    with pytest.raises(UnreadableFile) as refused:
        read_file(data, file_name="k.xlsx", sheet="Tháng 10")
    assert refused.value.code == "unknown_sheet" and "“Tháng 12”" in refused.value.message


@pytest.mark.parametrize(("data", "name", "code"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "khach.pdf", "not_a_spreadsheet"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "anh.png", "not_a_spreadsheet"),
    (b"PK\x03\x04 not really a workbook", "khach.xlsx", "unreadable_excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "khach.xls", "unreadable_excel"),
    (b"   \r\n", "khach.csv", "empty_file"),
])
def test_files_that_are_not_spreadsheets_are_refused_with_what_to_do(data: bytes, name: str, code: str) -> None:
    with pytest.raises(UnreadableFile) as refused:
        read_file(data, file_name=name, sheet=None)
    assert refused.value.code == code
    assert refused.value.message.endswith(".")


def test_legacy_xls_is_read_with_its_dates_and_number_phones() -> None:
    # Made once with xlwt (an .xls writer) and kept as a file: a title row, a date cell, phones as numbers.
    data = (DATA / "khach-hang-cu.xls").read_bytes()
    table = read_file(data, file_name="khach-hang-cu.xls", sheet=None)
    assert (table.format, table.header_row) == ("xls", 3)
    assert table.headers == ["Mã khách hàng", "Họ và tên", "Điện thoại", "Ngày sinh"]
    rows = list(table.rows())
    assert [number for number, _ in rows] == [4, 5]
    assert phone_text(rows[0][1][2]) == "0912345678" and phone_text(rows[1][1][2]) == "01291234567"
    assert birthday(rows[0][1][3], today=TODAY) == date(1988, 7, 15)


@pytest.mark.parametrize(("cell", "expected"), [
    (912345678.0, "0912345678"), (912345678, "0912345678"), (84912345678.0, "84912345678"),
    ("9.12345678E+08", "0912345678"), ("912345678.0", "0912345678"), (1681234567.0, "01681234567"),
    ("0912 345 678", "0912 345 678"), ("0912345678/0987654321", "0912345678/0987654321"),
])
def test_phone_cells_excel_turned_into_numbers_get_their_leading_zero_back(cell: object, expected: str) -> None:
    assert phone_text(cell) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("cell", "expected"), [
    ("01/02/1990", date(1990, 2, 1)), ("1/2/1990", date(1990, 2, 1)), ("01-02-1990", date(1990, 2, 1)),
    ("01.02.1990", date(1990, 2, 1)), ("1990-02-01", date(1990, 2, 1)), ("01/02/90", date(1990, 2, 1)),
    (32905, date(1990, 2, 1)), ("32905", date(1990, 2, 1)), (datetime(1990, 2, 1), date(1990, 2, 1)),
])
def test_birthdays_as_clerks_and_excel_write_them(cell: object, expected: date) -> None:
    assert birthday(cell, today=TODAY) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("cell", "code"), [("31/02/1991", "bad_date"), ("không nhớ", "bad_date"),
                                            ("01/01/2030", "date_out_of_range"), ("01/01/1850", "date_out_of_range")])
def test_bad_birthdays_say_why(cell: str, code: str) -> None:
    with pytest.raises(CellProblem) as problem:
        birthday(cell, today=TODAY)
    assert problem.value.code == code


def test_yes_and_no_as_clerks_write_them() -> None:
    assert [yes_no(cell) for cell in ("Có", "co", "x", "X", 1, "TRUE", "Đồng ý")] == [True] * 7
    assert [yes_no(cell) for cell in ("Không", "ko", 0, "false", "Từ chối")] == [False] * 5
    with pytest.raises(CellProblem):
        yes_no("có lẽ")
