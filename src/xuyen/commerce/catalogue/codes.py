"""The catalogue's codes: product codes and SKUs, barcodes (GTIN check digits), option values, category slugs.

Every function here is pure: it normalises or refuses a value, and says in its error what a valid one looks like.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from xuyen.errors import ValidationFailed
from xuyen.identity.names import fold_name

MAX_CODE = 64
MAX_BARCODE = 64
MAX_OPTIONS = 5
MAX_OPTION_NAME = 50
MAX_OPTION_VALUE = 100
GTIN_LENGTHS = (8, 12, 13, 14)

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._/\-]*$")
_BARCODE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]*$")
_SPACES = re.compile(r"\s+")


def _cleaned(raw: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()


def normalise_code(raw: str, *, what: str = "SKU", error_code: str = "invalid_sku") -> str:
    """A SKU or product code as stored: upper-case ASCII letters, digits and ``. _ / -``, at most 64 long."""
    code = _cleaned(raw).upper()
    if not code:
        raise ValidationFailed(f"The {what} is empty: give every variant a SKU such as AT-001-DEN-M.",
                               code=error_code)
    if len(code) > MAX_CODE:
        raise ValidationFailed(f"The {what} {code[:20]}… is {len(code)} characters long; keep it to {MAX_CODE}.",
                               code=error_code)
    if not _CODE.match(code):
        raise ValidationFailed(
            f"The {what} {code!r} may only hold letters without diacritics, digits and . _ / - (no spaces); "
            f"for example AT-001-DEN-M.", code=error_code)
    return code


def normalise_sku(raw: str) -> str:
    """A SKU as stored (upper-case); raises ValidationFailed ``invalid_sku`` when it cannot be one."""
    return normalise_code(raw)


def normalise_product_code(raw: str) -> str:
    """A product code as stored (upper-case); raises ValidationFailed ``invalid_product_code``."""
    return normalise_code(raw, what="product code", error_code="invalid_product_code")


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit of the digits before it (EAN-8, UPC-A, EAN-13 and GTIN-14 share the rule)."""
    total = sum(int(digit) * (3 if index % 2 == 0 else 1) for index, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(digits: str) -> bool:
    """Whether ``digits`` is an EAN-8, UPC-A, EAN-13 or GTIN-14 with the right check digit."""
    return (digits.isascii() and digits.isdigit() and len(digits) in GTIN_LENGTHS
            and gtin_check_digit(digits[:-1]) == int(digits[-1]))


def normalise_barcode(raw: str | None) -> str | None:
    """A barcode as stored, or None for none.

    A numeric barcode must be a GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) with a correct check digit; a UPC-A is kept
    in its EAN-13 form (a leading 0), as scanners read it either way. Other barcodes (an internal Code 128 label)
    hold letters and digits and keep their upper-case form.
    """
    if raw is None:
        return None
    code = _cleaned(raw).upper().replace(" ", "")
    if not code:
        return None
    if len(code) > MAX_BARCODE:
        raise ValidationFailed(f"The barcode {code[:20]}… is {len(code)} characters long; keep it to {MAX_BARCODE}.",
                               code="invalid_barcode")
    if code.isdigit():
        if len(code) not in GTIN_LENGTHS:
            raise ValidationFailed(
                f"The barcode {code} has {len(code)} digits: a numeric barcode must be an EAN-13 (13 digits), "
                "UPC-A (12), EAN-8 (8) or GTIN-14 (14). Check for a missing digit.", code="invalid_barcode")
        if not is_valid_gtin(code):
            expected = gtin_check_digit(code[:-1])
            raise ValidationFailed(
                f"The barcode {code} fails its check digit (the last digit should be {expected}); it was probably "
                "mistyped: scan it again or copy it from the label.", code="invalid_barcode")
        return "0" + code if len(code) == 12 else code
    if not _BARCODE.match(code):
        raise ValidationFailed(f"The barcode {code!r} may only hold letters without diacritics, digits, . and -.",
                               code="invalid_barcode")
    return code


def scan_forms(raw: str) -> list[str]:
    """The stored forms a scanned code may take: the SKU form, and the barcode form when it is one."""
    code = _cleaned(raw).upper()
    forms = [code] if code else []
    digits = code.replace(" ", "")
    if digits.isdigit():
        if len(digits) == 12:
            forms.append("0" + digits)
        elif len(digits) == 13 and digits.startswith("0"):
            forms.append(digits)
    return list(dict.fromkeys(forms))


def clean_options(raw: Mapping[str, Any] | None) -> dict[str, str]:
    """A variant's options (``{"Màu": "Đen", "Cỡ": "M"}``): trimmed names and values, order kept, none empty."""
    options: dict[str, str] = {}
    for name, value in (raw or {}).items():
        key = _cleaned(str(name))
        text = _cleaned("" if value is None else str(value))
        if not key or not text:
            raise ValidationFailed(f"The option {key or '(no name)'!r} needs both a name and a value, such as "
                                   "Màu: Đen.", code="invalid_options")
        if len(key) > MAX_OPTION_NAME or len(text) > MAX_OPTION_VALUE:
            raise ValidationFailed(f"The option {key[:20]!r} is too long: names up to {MAX_OPTION_NAME} characters, "
                                   f"values up to {MAX_OPTION_VALUE}.", code="invalid_options")
        if fold_name(key) in {fold_name(existing) for existing in options}:
            raise ValidationFailed(f"The option {key!r} is given twice.", code="invalid_options")
        options[key] = text
    if len(options) > MAX_OPTIONS:
        raise ValidationFailed(f"A variant has at most {MAX_OPTIONS} options (such as Màu, Cỡ); this one has "
                               f"{len(options)}.", code="invalid_options")
    return options


def ordered_options(options: Mapping[str, Any], order: Sequence[str] = ()) -> dict[str, Any]:
    """The options in the product's order of option names (names it does not list come last)."""
    rank = {fold_name(name): index for index, name in enumerate(order)}
    names = sorted(options, key=lambda name: rank.get(fold_name(name), len(rank)))
    return {name: options[name] for name in names}


def variant_label(options: Mapping[str, Any], order: Sequence[str] = ()) -> str:
    """The option values as people read them, in the product's order: ``Đen / M`` (empty without options)."""
    return " / ".join(str(value) for value in ordered_options(options, order).values())


def options_key(options: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The options for comparing two variants (names and values folded, order ignored)."""
    return tuple(sorted((fold_name(str(name)), fold_name(str(value))) for name, value in options.items()))


def slugify(name: str) -> str:
    """A category's slug: its folded name with dashes (``Áo sơ mi`` → ``ao-so-mi``)."""
    return fold_name(name).replace(" ", "-")[:100]
