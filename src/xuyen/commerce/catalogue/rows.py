"""Reading a catalogue file's rows: which column is which, each row's cells checked, and the checks across rows
(a SKU or barcode given twice, one product's rows disagreeing). Nothing here touches the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from xuyen.commerce.catalogue.codes import (
    clean_options,
    normalise_barcode,
    normalise_product_code,
    normalise_sku,
    options_key,
    variant_label,
)
from xuyen.commerce.catalogue.columns import COLUMNS, REQUIRED, field_of, parse_status, parse_tax_class
from xuyen.errors import ValidationFailed, XuyenError
from xuyen.identity.names import fold_name

PRODUCT_FIELDS = ("product_name", "category", "brand", "tax_class", "status", "description")
LISTING_FIELDS = ("shopee_shop", "shopee_item", "shopee_model", "lazada_seller", "lazada_item", "lazada_sku")
MAX_CELL = 20_000
T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    """What is wrong with a row (``row`` as the spreadsheet numbers it) and in which column."""

    row: int
    column: str
    code: str
    message: str


class RowFailed(Exception):
    """A row cannot be imported; ``at`` says where and why."""

    def __init__(self, at: RowError) -> None:
        super().__init__(at.message)
        self.at = at


@dataclass
class Row:
    """One row, read and checked: its product's cells and its variant's."""

    number: int
    product_code: str
    sku: str
    values: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    barcode: str | None = None
    weight_grams: int | None = None
    product_images: list[str] = field(default_factory=list)
    variant_images: list[str] = field(default_factory=list)


@dataclass
class ReadRows:
    """The rows that read well, the errors of the others, and the columns we do not read."""

    rows: list[Row]
    errors: list[RowError]
    ignored_columns: list[str]

    def products(self) -> list[list[Row]]:
        """The rows grouped by product, in the order products first appear."""
        groups: dict[str, list[Row]] = {}
        for row in self.rows:
            groups.setdefault(row.product_code, []).append(row)
        return list(groups.values())


@dataclass(frozen=True)
class ColumnMap:
    """Where each field's and each option's column is."""

    fields: dict[str, int]
    options: dict[str, int]
    ignored: list[str]


def map_columns(headers: Sequence[str]) -> ColumnMap:
    """Which column is which field; refuses a file without the SKU and product code columns, or with one twice."""
    fields: dict[str, int] = {}
    options: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        if not header.strip():
            continue
        name = field_of(header)
        if name is None:
            ignored.append(header)
        elif name.startswith("option:"):
            option = name.removeprefix("option:")
            if fold_name(option) in {fold_name(known) for known in options}:
                raise ValidationFailed(f"The option column {header!r} appears twice.", code="duplicate_column")
            options[option] = index
        elif name in fields:
            raise ValidationFailed(f"Two columns are {header!r} (or mean the same); keep one.",
                                   code="duplicate_column")
        else:
            fields[name] = index
    missing = [column for column in COLUMNS if column.field in REQUIRED and column.field not in fields]
    if missing:
        names = ", ".join(f"{column.vi} ({column.en})" for column in missing)
        raise ValidationFailed(f"The file has no {names} column; every row needs the product code and the SKU.",
                               code="missing_columns", details={"missing": [c.field for c in missing]})
    return ColumnMap(fields=fields, options=options, ignored=ignored)


def _urls(cell: str) -> list[str]:
    return [part for part in cell.replace("|", " ").replace("\n", " ").split() if part]


def _checked(number: int, column: str, check: Callable[[], T]) -> T:
    try:
        return check()
    except XuyenError as exc:
        raise RowFailed(RowError(row=number, column=column, code=exc.code, message=exc.message)) from exc


def _fail(number: int, column: str, code: str, message: str) -> RowFailed:
    return RowFailed(RowError(row=number, column=column, code=code, message=message))


def read_row(number: int, cells: dict[str, str], options: dict[str, str]) -> Row:
    """One row's cells, checked: codes normalised, options, weight, status and tax class understood."""
    for column, cell in cells.items():
        if len(cell) > MAX_CELL:
            raise _fail(number, column, "cell_too_long", f"The cell is {len(cell):,} characters long; the most is "
                                                         f"{MAX_CELL:,}.")
    code = _checked(number, "product_code", lambda: normalise_product_code(cells.get("product_code", "")))
    sku = _checked(number, "sku", lambda: normalise_sku(cells.get("sku", "")))
    row = Row(number=number, product_code=code, sku=sku,
              values={key: cells[key] for key in (*PRODUCT_FIELDS, *LISTING_FIELDS) if cells.get(key)})
    row.options = _checked(number, "options", lambda: clean_options({k: v for k, v in options.items() if v}))
    row.barcode = _checked(number, "barcode", lambda: normalise_barcode(cells.get("barcode") or None))
    weight = cells.get("weight_grams", "").replace(".", "").replace(",", "").strip()
    if weight:
        if not weight.isdigit() or int(weight) > 1_000_000:
            raise _fail(number, "weight_grams", "invalid_weight",
                        f"The weight {cells['weight_grams']!r} must be a whole number of grams, such as 250.")
        row.weight_grams = int(weight)
    if "status" in row.values and parse_status(row.values["status"]) is None:
        raise _fail(number, "status", "invalid_status",
                    f"The status {row.values['status']!r} is not one we know: write đang bán, nháp or ngừng bán "
                    "(active, draft, archived).")
    if "tax_class" in row.values and parse_tax_class(row.values["tax_class"]) is None:
        raise _fail(number, "tax_class", "invalid_tax_class",
                    f"The tax class {row.values['tax_class']!r} is not one we know: write chuẩn, chuẩn không giảm, "
                    "giảm or miễn thuế (standard, standard_not_reduced, reduced, exempt).")
    row.product_images = _urls(cells.get("product_images", ""))
    row.variant_images = _urls(cells.get("variant_images", ""))
    return row


def read_rows(headers: Sequence[str], table: Sequence[tuple[int, list[str]]]) -> ReadRows:
    """Every row read and checked on its own and against the others."""
    columns = map_columns(headers)
    rows: list[Row] = []
    errors: list[RowError] = []
    for number, cells in table:
        by_field = {name: cells[index].strip() for name, index in columns.fields.items() if index < len(cells)}
        options = {name: cells[index].strip() for name, index in columns.options.items() if index < len(cells)}
        try:
            rows.append(read_row(number, by_field, options))
        except RowFailed as failed:
            errors.append(failed.at)
    kept, across = check_across(rows)
    return ReadRows(rows=kept, errors=errors + across, ignored_columns=columns.ignored)


def check_across(rows: list[Row]) -> tuple[list[Row], list[RowError]]:
    """The rows that agree with the others, and the errors of those that do not."""
    errors: list[RowError] = []
    first_sku: dict[str, int] = {}
    first_barcode: dict[str, tuple[int, str]] = {}
    product_values: dict[tuple[str, str], tuple[int, str]] = {}
    option_names: dict[str, tuple[int, list[str]]] = {}
    combos: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    kept: list[Row] = []
    for row in rows:
        try:
            if row.sku in first_sku:
                raise _fail(row.number, "sku", "sku_repeated",
                            f"The SKU {row.sku} is also on row {first_sku[row.sku]}.")
            if row.barcode and row.barcode in first_barcode and first_barcode[row.barcode][1] != row.sku:
                raise _fail(row.number, "barcode", "barcode_repeated",
                            f"The barcode {row.barcode} is also on row {first_barcode[row.barcode][0]}.")
            for key in PRODUCT_FIELDS:
                value = " ".join(row.values.get(key, "").split())
                seen = product_values.get((row.product_code, key))
                if value and seen and fold_name(seen[1]) != fold_name(value) and seen[1] != value:
                    raise _fail(row.number, key, "rows_disagree",
                                f"Row {seen[0]} gives {row.product_code} the {key.replace('_', ' ')} {seen[1]!r}, "
                                f"this row {value!r}; one product has one.")
            names = sorted(fold_name(name) for name in row.options)
            expected = option_names.get(row.product_code)
            if expected is not None and expected[1] != names:
                raise _fail(row.number, "options", "invalid_options",
                            f"The variants of {row.product_code} name the same options; row {expected[0]} names "
                            f"{', '.join(expected[1]) or 'none'}, this row {', '.join(names) or 'none'}.")
            combo = (row.product_code, options_key(row.options))
            if combo in combos:
                raise _fail(row.number, "options", "duplicate_options",
                            f"Row {combos[combo]} is the same variant of {row.product_code} "
                            f"({variant_label(row.options) or 'no options'}).")
        except RowFailed as failed:
            errors.append(failed.at)
            continue
        first_sku[row.sku] = row.number
        if row.barcode:
            first_barcode.setdefault(row.barcode, (row.number, row.sku))
        for key in PRODUCT_FIELDS:
            if row.values.get(key):
                product_values.setdefault((row.product_code, key), (row.number, " ".join(row.values[key].split())))
        option_names.setdefault(row.product_code, (row.number, names))
        combos[combo] = row.number
        kept.append(row)
    return kept, errors
