"""Catalogue files: import (all or nothing, upsert by SKU, Vietnamese or English headers), export, round trips."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.commerce.catalogue.helpers import ACTOR, ean, make_tshirt
from xuyen.commerce.catalogue import service
from xuyen.commerce.catalogue.exporting import catalogue_table, export_catalogue
from xuyen.commerce.catalogue.importing import import_catalogue
from xuyen.commerce.catalogue.models import ChannelListing, Product, ProductStatus, TaxClass, Variant
from xuyen.commerce.catalogue.schemas import ListingIn, ProductUpdate
from xuyen.commerce.channels import SalesChannel
from xuyen.errors import ValidationFailed

VI_HEADER = ["Mã sản phẩm", "Tên sản phẩm", "Danh mục", "Thương hiệu", "Loại thuế", "Mã SKU", "Mã vạch",
             "Thuộc tính: Màu", "Thuộc tính: Cỡ", "Ảnh sản phẩm", "Mã shop Shopee", "Mã sản phẩm Shopee",
             "Mã phân loại Shopee", "Mã sản phẩm Lazada", "Mã nhà bán Lazada", "Giá bán"]
VI_ROWS = [
    ["VD-01", "Đầm lụa suông", "Thời trang nữ > Váy đầm", "Lụa Mây", "chuẩn", "vd-01-xng-s", ean(11), "Xanh ngọc",
     "S", "https://cdn.example.vn/vd01.jpg", "220314588", "2391840001", "18000000001", "2154870001", "100354712",
     "1250000"],
    ["VD-01", "Đầm lụa suông", "Thời trang nữ > Váy đầm", "Lụa Mây", "chuẩn", "VD-01-XNG-M", ean(12), "Xanh ngọc",
     "M", "https://cdn.example.vn/vd01.jpg", "220314588", "2391840001", "18000000002", "", "", "1250000"],
    ["PK-01", "Khăn lụa vuông", "Phụ kiện", "", "miễn thuế", "PK-01-DO", "", "Đỏ", "", "", "", "", "", "", "",
     "350000"],
]


TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def _windows_1258(text: str) -> bytes:
    """Text as Windows-1258 writes it: letters with their vowel marks, tone marks apart."""
    out = b""
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            letter = unicodedata.normalize("NFC", base + "".join(m for m in marks if m not in TONE_MARKS))
            out += (letter + "".join(m for m in marks if m in TONE_MARKS)).encode("cp1258")
    return out


def _csv(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    text = buffer.getvalue()
    return _windows_1258(text) if encoding == "cp1258" else text.encode(encoding)


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _counts(session: Session) -> list[int]:
    session.rollback()
    return [int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Product, Variant, ChannelListing)]


def test_a_vietnamese_csv_creates_products_categories_variants_and_listings(session: Session) -> None:
    report = import_catalogue(session, data=_csv([VI_HEADER, *VI_ROWS], delimiter=";"), file_name="sp.csv",
                              actor=ACTOR)
    assert report.applied, report.errors
    assert (report.rows, report.products_created, report.variants_created, report.listings_set) == (3, 2, 3, 3)
    assert report.ignored_columns == ["Giá bán"]
    dress = service.get_product_by_code(session, code="VD-01")
    detail = service.product_detail(session, product_id=dress.id)
    assert detail.category_path == "Thời trang nữ > Váy đầm"
    assert [v.sku for v in detail.variants] == ["VD-01-XNG-S", "VD-01-XNG-M"]
    assert [i.url for i in detail.images] == ["https://cdn.example.vn/vd01.jpg"]
    scarf = service.get_product_by_code(session, code="PK-01")
    assert scarf.tax_class == TaxClass.exempt and scarf.option_names == ["Màu"]
    small = detail.variants[0]
    assert service.listing_for(session, channel=SalesChannel.shopee, account="220314588",
                               external_item_id="2391840001", external_model_id="18000000001").variant_id == small.id
    lazada = service.listings_of(session, channel=SalesChannel.lazada)
    assert [(row.variant_id, row.external_sku) for row in lazada] == [(small.id, "VD-01-XNG-S")]


def test_english_xlsx_with_numbers_as_excel_keeps_them(session: Session) -> None:
    data = _xlsx([["Product code", "Product name", "SKU", "Barcode", "Option: Size", "Weight (g)", "Status"],
                  ["QJ-1", "Quần jeans", "QJ-1-28", int(ean(21)), 28, 450.0, "draft"],
                  ["QJ-1", "Quần jeans", "QJ-1-29", int(ean(22)), 29, 460, "draft"]])
    report = import_catalogue(session, data=data, file_name="products.xlsx", actor=ACTOR)
    assert report.applied, report.errors
    variant = service.get_variant_by_sku(session, sku="QJ-1-28")
    assert (variant.barcode, variant.options, variant.weight_grams) == (ean(21), {"Size": "28"}, 450)
    assert service.get_product_by_code(session, code="QJ-1").status == ProductStatus.draft


def test_every_bad_row_is_reported_and_nothing_is_written(session: Session) -> None:
    make_tshirt(session)
    before = _counts(session)
    rows = [
        ["A-1", "Áo", "A-1-M", ean(31), "M", "đang bán"],
        ["A-1", "Áo", "A-1-L", "8930000000320", "L", "đang bán"],  # a wrong check digit
        ["A-1", "Áo", "a-1-m", "", "XL", "đang bán"],  # the SKU of row 2 again
        ["A-2", "", "A-2", "", "", "đang bán"],  # a new product without a name
        ["A-3", "Áo", "AT-001-DEN-M", "", "", "đang bán"],  # another product's SKU
        ["A-4", "Áo", "A-4", "", "", "bán sỉ"],  # a status nobody knows
        ["", "Áo", "A-5", "", "", ""],  # no product code
    ]
    report = import_catalogue(session, data=_csv([["Mã SP", "Tên SP", "SKU", "Mã vạch", "Thuộc tính: Cỡ",
                                                    "Trạng thái"], *rows]), file_name="x.csv", actor=ACTOR)
    assert not report.applied
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (3, "barcode", "invalid_barcode"), (4, "sku", "sku_repeated"), (5, "product_name", "invalid_product"),
        (6, "sku", "sku_taken"), (7, "status", "invalid_status"), (8, "product_code", "invalid_product_code")]
    assert "check digit" in report.errors[0].message
    assert "row 2" in report.errors[1].message
    assert _counts(session) == before


def test_a_dry_run_reports_what_would_change_and_keeps_nothing(session: Session) -> None:
    report = import_catalogue(session, data=_csv([VI_HEADER, *VI_ROWS]), file_name="sp.csv", actor=ACTOR,
                              dry_run=True)
    assert report.ok and not report.applied and report.products_created == 2
    assert _counts(session) == [0, 0, 0]


def test_reimporting_the_same_file_changes_nothing_and_changed_cells_update(session: Session) -> None:
    data = _csv([VI_HEADER, *VI_ROWS])
    assert import_catalogue(session, data=data, file_name="sp.csv", actor=ACTOR).applied
    stamp = service.get_product_by_code(session, code="VD-01").updated_at
    again = import_catalogue(session, data=data, file_name="sp.csv", actor=ACTOR)
    assert again.applied
    assert (again.products_created, again.products_updated, again.variants_created, again.variants_updated,
            again.listings_set) == (0, 0, 0, 0, 0)
    session.expire_all()
    assert service.get_product_by_code(session, code="VD-01").updated_at == stamp

    changed = [row[:] for row in VI_ROWS]
    changed[0][1] = changed[1][1] = "Đầm lụa suông 2026"
    changed[1][12] = "18000000009"  # a new Shopee model id
    changed[2][8] = "Vàng"  # an option where there was none: refused, the scarf names only Màu
    report = import_catalogue(session, data=_csv([VI_HEADER, *changed]), file_name="sp.csv", actor=ACTOR)
    assert [(e.row, e.code) for e in report.errors] == [(4, "invalid_options")]
    changed[2][8] = ""
    report = import_catalogue(session, data=_csv([VI_HEADER, *changed]), file_name="sp.csv", actor=ACTOR)
    assert report.applied and (report.products_updated, report.listings_set) == (1, 1)
    assert service.get_product_by_code(session, code="VD-01").name == "Đầm lụa suông 2026"


def test_rows_of_one_product_must_agree(session: Session) -> None:
    rows = [["B-1", "Áo A", "B-1-M", "M"], ["B-1", "Áo B", "B-1-L", "L"]]
    report = import_catalogue(session, data=_csv([["Mã sản phẩm", "Tên sản phẩm", "SKU", "Thuộc tính: Cỡ"], *rows]),
                              file_name="x.csv", actor=ACTOR)
    assert [(e.row, e.code) for e in report.errors] == [(3, "rows_disagree")]


@pytest.mark.parametrize(("data", "file_name", "code"), [
    (b"", "x.csv", "empty_file"),
    (b"\x00\x01binary\x00", "x.csv", "not_a_spreadsheet"),
    (b"PK\x03\x04broken", "x.xlsx", "not_a_spreadsheet"),
    ("Tên sản phẩm,Giá\nÁo,100\n".encode(), "x.csv", "missing_columns"),
    ("SKU,Mã SKU,Mã sản phẩm\nA,B,C\n".encode(), "x.csv", "duplicate_column"),
])
def test_a_file_that_cannot_be_read_is_refused(session: Session, data: bytes, file_name: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_catalogue(session, data=data, file_name=file_name, actor=ACTOR)
    assert refused.value.code == code


def test_windows_1258_and_utf_16_csv_files_read(session: Session) -> None:
    rows = [["Mã sản phẩm", "Tên sản phẩm", "SKU"], ["C-1", "Áo dài", "C-1"]]
    assert import_catalogue(session, data=_csv(rows, delimiter="\t", encoding="utf-16"), file_name="a.csv",
                            actor=ACTOR).applied
    assert service.get_product_by_code(session, code="C-1").name == "Áo dài"
    rows[1] = ["C-2", "Váy đầm", "C-2"]
    assert import_catalogue(session, data=_csv(rows, delimiter=";", encoding="cp1258"), file_name="b.csv",
                            actor=ACTOR).applied
    assert service.get_product_by_code(session, code="C-2").name == "Váy đầm"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_is_a_round_trip(session: Session, fmt: str) -> None:
    assert import_catalogue(session, data=_csv([VI_HEADER, *VI_ROWS]), file_name="sp.csv", actor=ACTOR).applied
    product = make_tshirt(session)
    black_m = service.get_variant_by_sku(session, sku="AT-001-DEN-M")
    service.list_variant(session, variant_id=black_m.id, actor=ACTOR, listing=ListingIn(
        channel=SalesChannel.shopee, account="220314588", external_item_id="77", external_model_id="0"))
    service.update_product(session, product_id=product.id, actor=ACTOR,
                           changes=ProductUpdate(description="Dòng 1\nDòng 2, có dấu phẩy; \"ngoặc\""))
    before = catalogue_table(session, language="vi")
    assert catalogue_table(session, language="en")[0][:2] == ["Product code", "Product name"]

    data = export_catalogue(session, fmt=fmt, language="vi")
    report = import_catalogue(session, data=data, file_name=f"catalogue.{fmt}", actor=ACTOR)
    assert report.applied, report.errors
    assert (report.products_created, report.products_updated, report.variants_created, report.variants_updated,
            report.listings_set) == (0, 0, 0, 0, 0)
    assert catalogue_table(session, language="vi") == before
    en_data = export_catalogue(session, fmt=fmt, language="en")
    assert import_catalogue(session, data=en_data, file_name=f"catalogue.{fmt}", actor=ACTOR).products_updated == 0


def test_exported_rows_hold_every_field(session: Session) -> None:
    make_tshirt(session)
    headers, rows = catalogue_table(session, language="en")
    first = dict(zip(headers, rows[0], strict=True))
    assert first["SKU"] == "AT-001-DEN-M" and first["Barcode"] == ean(1)
    assert first["Option: Màu"] == "Đen" and first["Option: Cỡ"] == "M"
    assert first["Status"] == "active" and first["Tax class"] == "standard"
    assert first["Product images"] == "https://cdn.example.vn/ao.jpg"
    assert dict(zip(headers, rows[2], strict=True))["Variant images"] == "/static/catalogue/ao-thun.svg"


def test_the_sample_in_the_docs_imports(session: Session) -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "catalogue.md").read_text(encoding="utf-8")
    sample = docs.split("```csv\n", 1)[1].split("```", 1)[0]
    report = import_catalogue(session, data=sample.encode(), file_name="sample.csv", actor=ACTOR)
    assert report.applied, report.errors
    assert (report.products_created, report.variants_created, report.listings_set) == (1, 2, 2)
