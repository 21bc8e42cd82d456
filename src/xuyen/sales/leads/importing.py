"""Importing a list of leads (CSV, .xlsx or .xls, read the way customer lists are): every row is captured as a
lead from the "import" source; rows that cannot be are reported with their row number, rows with a bad phone or
e-mail are kept and flagged. A row's content makes its capture key, so importing the same list again adds nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from xuyen.customers.importing.cells import phone_text
from xuyen.customers.importing.reading import Cell, cell_text, read_table
from xuyen.fields import service as custom_fields
from xuyen.identity.names import fold_name
from xuyen.sales.custom_fields import LEAD
from xuyen.sales.leads.capturing import UTM_KEYS, record_capture

MAX_ROWS = 20_000
COMMIT_EVERY = 200

HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("Họ tên", "Họ và tên", "Tên", "Tên khách hàng", "Khách hàng", "Name", "Full name"),
    "phone": ("Số điện thoại", "SĐT", "SDT", "Điện thoại", "Di động", "Phone", "Phone number", "Mobile", "Tel"),
    "email": ("Email", "E-mail", "Thư điện tử", "Mail", "Email address"),
    "province": ("Tỉnh/Thành phố", "Tỉnh/TP", "Tỉnh thành", "Tỉnh", "Thành phố", "Province", "City"),
    "product_interest": ("Sản phẩm quan tâm", "Sản phẩm", "Quan tâm", "Product", "Product interest", "Interest"),
    "campaign": ("Chiến dịch", "Campaign"),
    "source_detail": ("Nguồn", "Nguồn chi tiết", "Source", "Source detail"),
    "note": ("Ghi chú", "Nội dung", "Note", "Notes", "Message"),
    **{key: (key, key.replace("_", " ")) for key in UTM_KEYS},
}
_BY_HEADER = {fold_name(header): name for name, headers in HEADERS.items() for header in (name, *headers)}


@dataclass
class ImportReport:
    """What importing a list did, row by row where something was wrong."""

    rows: int = 0
    new_leads: int = 0
    existing_leads: int = 0
    repeated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[tuple[int, str]] = field(default_factory=list)


def _score(cells: list[str]) -> int:
    return sum(1 for cell in cells if fold_name(cell) in _BY_HEADER)


def _row_key(values: dict[str, str]) -> str:
    content = "\x1f".join(fold_name(values.get(key, "")) for key in sorted(HEADERS))
    return "import:" + hashlib.sha256(content.encode()).hexdigest()[:40]


def _values(columns: dict[int, str], cells: list[Cell]) -> dict[str, str]:
    values = {}
    for index, name in columns.items():
        cell = cells[index] if index < len(cells) else None
        values[name] = (phone_text(cell) if name == "phone" else cell_text(cell)).strip()
    return values


def _custom_headers(session: Session) -> dict[str, str]:
    """Column headers naming a lead custom field (its key, or its Vietnamese or English label) → the field's key;
    the row's value is set on the lead when it fits the field (see ``capturing``)."""
    headers: dict[str, str] = {}
    for custom in custom_fields.list_fields(session, entity=LEAD):
        for header in (custom.key, custom.label_vi, custom.label_en):
            if header.strip():
                headers.setdefault(fold_name(header), custom.key)
    return headers


def import_leads(session: Session, *, data: bytes, file_name: str, sheet: str | None = None,
                 campaign: str = "") -> ImportReport:
    """Capture every row of a list as a lead, committing as it goes; the report of what each row gave."""
    table = read_table(data, file_name=file_name, sheet=sheet, header_score=_score)
    by_header = {**_custom_headers(session), **_BY_HEADER}  # the usual columns win over a field's label
    columns = {index: by_header[fold_name(header)] for index, header in enumerate(table.headers)
               if fold_name(header) in by_header}
    report = ImportReport()
    if not {"phone", "email"} & set(columns.values()):
        report.errors.append((table.header_row, "the list needs a phone or an e-mail column"))
        return report
    for number, cells in table.rows():
        if report.rows >= MAX_ROWS:
            report.errors.append((number, f"only the first {MAX_ROWS} rows are read; split the list"))
            break
        report.rows += 1
        _import_row(session, report, number, _values(columns, cells), campaign)
        if report.rows % COMMIT_EVERY == 0:
            session.commit()
    session.commit()
    return report


def _import_row(session: Session, report: ImportReport, number: int, values: dict[str, str], campaign: str) -> None:
    if not values.get("phone") and not values.get("email"):
        report.errors.append((number, "no phone and no e-mail: nothing to reach the person by"))
        return
    done = record_capture(session, source="import", phone=values.get("phone", ""), email=values.get("email", ""),
                          name=values.get("name", ""), province=values.get("province", ""),
                          product_interest=values.get("product_interest", ""),
                          campaign=values.get("campaign", "") or campaign,
                          source_detail=values.get("source_detail", ""),
                          utm={key: values.get(key, "") for key in UTM_KEYS},
                          fields={key: value for key, value in values.items() if value},
                          dedupe_key=_row_key(values))
    if done.repeated:
        report.repeated += 1
    elif done.new_lead:
        report.new_leads += 1
    else:
        report.existing_leads += 1
    flags = [flag for flag in done.quality.get("flags", []) if flag != "no_contact"]
    if flags:
        report.warnings.append((number, ", ".join(flags)))
