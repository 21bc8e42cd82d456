"""Phone numbers as gateways write them: E.164 for the identity graph, ``84…`` or ``0…`` for the gateway's API."""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers

PhoneFormat = Literal["e164", "84", "0"]
PHONE_FORMATS: tuple[PhoneFormat, ...] = ("e164", "84", "0")

# Vietnam's 2018 change from 11-digit to 10-digit mobile numbers: only the prefix changed, the last seven digits
# stayed. The identity domain keeps the full table (xuyen/identity/phones.py) but a channel may not import another
# domain, so this is a copy of its prefix map; keep the two in step.
OLD_MOBILE_PREFIXES: dict[str, str] = {
    "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",  # Viettel
    "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",  # MobiFone
    "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",  # VinaPhone
    "186": "56", "188": "58",  # Vietnamobile
    "199": "59",  # Gmobile
}  # fmt: skip
_SUBSCRIBER_DIGITS = 7
_NOISE = re.compile(r"[\s.\-()/]")
_COMPACT = re.compile(r"\+?[0-9]{3,17}")


class PhoneInvalid(ValueError):
    """The text is not a phone number that can receive SMS."""


def to_e164(raw: str, *, region: str = "VN") -> str:
    """The E.164 form of a number written any common way (``0912 345 678``, ``84912345678``, ``+84 …``,
    ``00 84 …``, the old 11-digit ``0168…``); ``PhoneInvalid`` when it is not a valid number."""
    compact = _NOISE.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _COMPACT.fullmatch(compact):
        raise PhoneInvalid(f"{raw!r} is not a phone number.")
    if region == "VN" and not compact.startswith("+") and compact.startswith("84") and len(compact) in (11, 12):
        compact = "+" + compact  # 84912345678: the country code without its plus, as VN gateways write it
    compact = _remap_old_prefix(compact, region)
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneInvalid(f"{raw!r} is not a phone number.") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneInvalid(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _remap_old_prefix(compact: str, region: str) -> str:
    """Rewrite a pre-2018 11-digit Vietnamese mobile prefix to today's (``0168 xxx xxxx`` → ``038 xxx xxxx``)."""
    if compact.startswith("+84"):
        head, rest = "+84", compact[3:]
    elif region == "VN" and compact.startswith("0"):
        head, rest = "0", compact[1:]
    else:
        return compact
    old = rest[:3]
    if len(rest) == 3 + _SUBSCRIBER_DIGITS and old in OLD_MOBILE_PREFIXES:
        return head + OLD_MOBILE_PREFIXES[old] + rest[3:]
    return compact


def for_gateway(e164: str, phone_format: PhoneFormat) -> str:
    """The number as the gateway wants it: ``+84912345678``, ``84912345678`` or ``0912345678``."""
    if phone_format == "e164":
        return e164
    if phone_format == "84":
        return e164.lstrip("+")
    number = phonenumbers.parse(e164)
    if number.country_code != 84:
        raise PhoneInvalid(f"{e164} is not a Vietnamese number, and the gateway takes national numbers (0…) only.")
    return "0" + str(number.national_number)
