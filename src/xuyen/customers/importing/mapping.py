"""Column mapping: which customer field each column fills, guessed from Vietnamese and English headers or given
as ``COLUMN=FIELD``.

A field is one of the named ``FIELDS``, ``trait:NAME`` (a custom trait), ``consent:CHANNEL[:PURPOSE]`` (a
consent column) or ``-`` (ignore the column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xuyen.errors import ValidationFailed
from xuyen.identity.normalise import fold_name

IGNORE = "-"
TRAIT_PREFIX = "trait:"
CONSENT_PREFIX = "consent:"
CONSENT_CHANNELS = ("any", "email", "sms", "zalo", "messenger", "whatsapp", "phone")
CONSENT_PURPOSES = ("marketing", "transactional", "care")
IDENTIFIER_FIELDS = frozenset({"external_id", "phone", "email", "loyalty_card"})
_TRAIT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Field:
    """A customer field a column can fill, what it becomes, and the headers that name it."""

    name: str
    description: str
    headers: tuple[str, ...]


FIELDS: tuple[Field, ...] = (
    Field("external_id", "the customer's code in your system; becomes the user id",
          ("Mã KH", "Mã khách hàng", "Mã khách", "ID khách hàng", "Customer ID", "Customer code", "Customer no",
           "External ID", "User ID", "Client ID", "Mã thành viên", "Member ID")),
    Field("name", "full name (traits.name)",
          ("Họ tên", "Họ và tên", "Tên KH", "Tên khách hàng", "Tên khách", "Khách hàng", "Khách", "Name", "Full name",
           "Customer name", "Họ tên khách hàng", "Tên")),
    Field("first_name", "given name (traits.firstName)", ("First name", "Given name", "Tên gọi")),
    Field("last_name", "family name (traits.lastName)", ("Họ", "Last name", "Surname", "Family name", "Họ KH")),
    Field("phone", "phone number(s); old 11-digit numbers and two numbers in one cell are understood",
          ("Số điện thoại", "SĐT", "SDT", "Điện thoại", "ĐT", "Số ĐT", "Di động", "Điện thoại di động", "Số di động",
           "Phone", "Phone number", "Mobile", "Mobile phone", "Tel", "Telephone", "Cell", "Số ĐT liên hệ",
           "Điện thoại liên hệ", "Zalo/SĐT")),
    Field("email", "e-mail address(es)", ("Email", "E-mail", "Thư điện tử", "Mail", "Địa chỉ email",
                                          "Email address")),
    Field("birthday", "date of birth, dd/mm/yyyy or an Excel date (traits.birthday)",
          ("Ngày sinh", "Sinh nhật", "Ngày tháng năm sinh", "Birthday", "Date of birth", "DOB", "Birth date")),
    Field("gender", "Nam/Nữ/Khác or male/female/other (traits.gender)", ("Giới tính", "Gender", "Sex", "Phái")),
    Field("address", "street address as written (traits.address.street)",
          ("Địa chỉ", "Đ/c", "Địa chỉ liên hệ", "Địa chỉ nhà", "Địa chỉ giao hàng", "Address", "Street",
           "Street address")),
    Field("city", "province or city (traits.address.city)",
          ("Tỉnh/Thành phố", "Tỉnh/TP", "Tỉnh thành", "Tỉnh", "Thành phố", "City", "Province")),
    Field("loyalty_card", "loyalty card number (an identifier)",
          ("Số thẻ", "Mã thẻ", "Thẻ thành viên", "Số thẻ thành viên", "Loyalty card", "Card number",
           "Member card")),
)

FIELD_NAMES = tuple(field.name for field in FIELDS)

# Consent columns: headers naming a channel's marketing consent.
CONSENT_HEADERS: dict[str, tuple[str, ...]] = {
    "any": ("Đồng ý nhận tin", "Nhận tin", "Đồng ý nhận quảng cáo", "Nhận khuyến mãi", "Đồng ý nhận thông tin",
            "Marketing consent", "Accepts marketing", "Opt-in", "Opt in"),
    "email": ("Nhận email", "Đồng ý nhận email", "Email consent", "Email opt-in", "Accepts email"),
    "sms": ("Nhận SMS", "Đồng ý nhận SMS", "Nhận tin nhắn", "SMS consent", "SMS opt-in", "Accepts SMS"),
    "zalo": ("Nhận Zalo", "Nhận tin Zalo", "Đồng ý nhận Zalo", "Zalo consent"),
    "messenger": ("Nhận Messenger", "Nhận tin Messenger", "Messenger consent"),
    "whatsapp": ("Nhận WhatsApp", "WhatsApp consent"),
    "phone": ("Nhận cuộc gọi", "Đồng ý gọi điện", "Phone consent", "Call consent"),
}

# Headers of columns that are never customer data (row counters).
IGNORED_HEADERS = ("STT", "TT", "No", "No.", "#", "Số thứ tự")


def _key(header: str) -> str:
    return fold_name(header)


_BY_HEADER: dict[str, str] = {}
for _field in FIELDS:
    for _header in (_field.name, *_field.headers):
        _BY_HEADER.setdefault(_key(_header), _field.name)
for _channel, _headers in CONSENT_HEADERS.items():
    for _header in _headers:
        _BY_HEADER.setdefault(_key(_header), f"{CONSENT_PREFIX}{_channel}:marketing")
for _header in IGNORED_HEADERS:
    _BY_HEADER.setdefault(_key(_header) or _header, IGNORE)


def guess_field(header: str) -> str | None:
    """The field a header names (with or without diacritics, any case), or None when it is not known."""
    return _BY_HEADER.get(_key(header)) or _BY_HEADER.get(header.strip())


def header_score(cells: list[str]) -> int:
    """How many cells of a row are headers we know: the header row is the row with the most."""
    return sum(1 for cell in cells if cell and guess_field(cell) not in (None, IGNORE))


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Each header's guessed field (``-`` when unknown); "Họ" + "Tên" become last and first name."""
    mapping = {header: guess_field(header) or IGNORE for header in headers}
    folded = {_key(header): header for header in headers}
    if "ho" in folded and "ten" in folded:
        mapping[folded["ten"]] = "first_name"
    taken: set[str] = set()
    for header, field_name in mapping.items():  # one column per named field: the first one wins
        if field_name in FIELD_NAMES or field_name.startswith(CONSENT_PREFIX):
            if field_name in taken:
                mapping[header] = IGNORE
            taken.add(field_name)
    return mapping


def check_field(value: str) -> str:
    """The canonical form of a FIELD; refuses an unknown one with the list of valid fields."""
    text = value.strip()
    lowered = text.lower()
    if lowered in (IGNORE, "ignore", "skip", ""):
        return IGNORE
    if lowered in FIELD_NAMES:
        return lowered
    if lowered.startswith(TRAIT_PREFIX):
        name = text[len(TRAIT_PREFIX):].strip()
        if _TRAIT_NAME.fullmatch(name):
            return TRAIT_PREFIX + name
        raise ValidationFailed(f"“{text}” is not a valid custom trait: after trait: write a name of letters, "
                               "digits and _ starting with a letter, e.g. trait:favourite_store.",
                               code="unknown_field", details={"fields": valid_fields()})
    if lowered.startswith(CONSENT_PREFIX):
        return _check_consent(lowered)
    raise ValidationFailed(f"“{text}” is not a field. Use one of: {', '.join(valid_fields())}.",
                           code="unknown_field", details={"fields": valid_fields()})


def _check_consent(lowered: str) -> str:
    parts = lowered[len(CONSENT_PREFIX):].split(":")
    channel = parts[0]
    purpose = parts[1] if len(parts) > 1 else "marketing"
    if len(parts) > 2 or channel not in CONSENT_CHANNELS or purpose not in CONSENT_PURPOSES:
        raise ValidationFailed(
            f"“{lowered}” is not a consent field: write consent:CHANNEL or consent:CHANNEL:PURPOSE with a channel "
            f"of {', '.join(CONSENT_CHANNELS)} and a purpose of {', '.join(CONSENT_PURPOSES)}.",
            code="unknown_field", details={"fields": valid_fields()})
    return f"{CONSENT_PREFIX}{channel}:{purpose}"


def valid_fields() -> list[str]:
    """Every FIELD a column can be mapped to, as written in ``--map``."""
    return [*FIELD_NAMES, "trait:NAME", "consent:CHANNEL[:PURPOSE]", IGNORE]


def parse_map_option(option: str) -> tuple[str, str]:
    """``COLUMN=FIELD`` split at the last ``=`` (a header may itself contain one)."""
    column, sep, field_name = option.rpartition("=")
    if not sep or not column.strip():
        raise ValidationFailed(f"“{option}” is not COLUMN=FIELD, e.g. --map \"Số ĐT=phone\".", code="bad_mapping")
    return column.strip(), field_name.strip()


def resolve_mapping(headers: list[str], explicit: dict[str, str] | None) -> dict[str, str]:
    """The guessed mapping with the explicit choices applied; refuses unknown columns and fields."""
    mapping = guess_mapping(headers)
    by_key = {_key(header) or header: header for header in headers}
    for column, field_name in (explicit or {}).items():
        header = column if column in mapping else by_key.get(_key(column) or column.strip())
        if header is None:
            listed = ", ".join(f"“{name}”" for name in headers)
            raise ValidationFailed(f"The file has no column “{column}”; its columns are {listed}.",
                                   code="unknown_column", details={"columns": headers})
        chosen = check_field(field_name)
        if chosen in FIELD_NAMES or chosen.startswith(CONSENT_PREFIX):
            for other, current in mapping.items():
                if current == chosen and other != header and other not in (explicit or {}):
                    mapping[other] = IGNORE  # the explicit choice takes the field from a guessed column
        mapping[header] = chosen
    _refuse_repeated_fields(mapping)
    return mapping


def _refuse_repeated_fields(mapping: dict[str, str]) -> None:
    used: dict[str, str] = {}
    for header, field_name in mapping.items():
        if field_name in FIELD_NAMES or field_name.startswith((CONSENT_PREFIX, TRAIT_PREFIX)):
            if field_name in used:
                raise ValidationFailed(f"Both “{used[field_name]}” and “{header}” are mapped to {field_name}; "
                                       "map one of them to another field or to - (ignore).",
                                       code="field_mapped_twice")
            used[field_name] = header


def require_identifier(mapping: dict[str, str]) -> None:
    """Refuse a mapping without a column that identifies a customer (phone, e-mail, code or card)."""
    if not any(field_name in IDENTIFIER_FIELDS for field_name in mapping.values()):
        columns = ", ".join(f"“{header}”" for header in mapping)
        raise ValidationFailed(
            f"No column holds a phone number, an e-mail address or a customer code, so no row could become a "
            f"customer. The columns found are {columns}. Map one of them, e.g. --map \"Số ĐT=phone\" (or choose "
            "the field in the column's list on the import page).", code="no_identifier_column",
            details={"columns": list(mapping)})
