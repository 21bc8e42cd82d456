"""Phone numbers: Vietnam's 2018 prefix change, clerk formats, fields holding several numbers, E.164."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

from xuyen.identity.identifiers import (
    POSSIBLE_NOT_VALID,
    Identifier,
    IdentifierType,
    NormalisedResult,
    Reason,
    Rejection,
    reject,
)

# Vietnam's 11-digit mobile numbers became 10-digit numbers under the Ministry of Information and
# Communications' 2018 numbering plan: only the prefix changes, the last seven digits stay. The conversion
# started on 15 September 2018 and was rolled out by each carrier in stages over the following weeks; old
# and new prefixes both rang until 14 November 2018, and calls to an old prefix got a recorded notice until
# 30 June 2019. phonenumbers only knows today's plan, so the old prefixes are rewritten before parsing.
# Checked against MobiFone's conversion plan page, lawnet.vn's prefix list and plo.vn (May 2018).
OLD_MOBILE_PREFIXES: dict[str, str] = {
    # Viettel
    "0162": "032", "0163": "033", "0164": "034", "0165": "035",
    "0166": "036", "0167": "037", "0168": "038", "0169": "039",
    # MobiFone
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    # VinaPhone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    # Vietnamobile
    "0186": "056", "0188": "058",
    # Gmobile (Gtel)
    "0199": "059",
}  # fmt: skip

# The same table without the trunk 0: "168" -> "38".
_OLD_NATIONAL = {old[1:]: new[1:] for old, new in OLD_MOBILE_PREFIXES.items()}
_OLD_SUBSCRIBER_DIGITS = 7

# Characters that separate two numbers typed into one field, and the words clerks use for "or"/"and".
_SEPARATORS = re.compile(r"[/,;|\\&\n\r]+|\b(?:hoặc|hoac|hay|or|và|va|and)\b", re.IGNORECASE)
_EXTENSION = re.compile(r"(?:\bext(?:ension)?\b|\bmáy lẻ\b|\bnhánh\b)\.?\s*:?\s*\d+", re.IGNORECASE)
_TOKEN = re.compile(r"\+|[0-9]+")

MAX_FIELD_LENGTH = 500
_MAX_TOKENS = 40
_MAX_DIGITS = 17


def remap_old_prefix(compact: str, *, region: str = "VN") -> str:
    """Rewrite a compact number (digits, optional leading ``+``) that uses a pre-2018 11-digit VN prefix."""
    split = _split_vn_head(compact, region)
    if split is None:
        return compact
    head, rest = split
    if head == "+84" and rest.startswith("0"):  # "+84 (0) 168 …"
        rest = rest[1:]
    old = rest[:3]
    if len(rest) == 3 + _OLD_SUBSCRIBER_DIGITS and old in _OLD_NATIONAL:
        return head + _OLD_NATIONAL[old] + rest[3:]
    return compact


def _split_vn_head(compact: str, region: str) -> tuple[str, str] | None:
    """Split a compact number into its VN head (``+84`` or trunk ``0``) and the rest, if it is Vietnamese."""
    if compact.startswith("+84"):
        return "+84", compact[3:]
    if region != "VN" or compact.startswith("+"):
        return None
    if compact.startswith("0084"):
        return "+84", compact[4:]
    if compact.startswith("84") and len(compact) >= 2 + 3 + _OLD_SUBSCRIBER_DIGITS:
        return "+84", compact[2:]
    if compact.startswith("0"):
        return "0", compact[1:]
    if len(compact) == 3 + _OLD_SUBSCRIBER_DIGITS:  # the trunk 0 lost, as spreadsheets do
        return "0", compact
    return None


# A Vietnamese number written whole, with its trunk 0 or +84: what clerks and checkouts send nearly always.
_PLAIN_VN = re.compile(r"(?:0|\+84)([1-9][0-9]{8,9})")
_VN_CALLING_CODE = 84


@lru_cache(maxsize=16384)
def classify(compact: str, region: str = "VN") -> tuple[str, bool] | None:
    """E.164 and validity of one compact candidate, or None when it is not a possible number."""
    if "+" in compact[1:] or sum(c.isdigit() for c in compact) > _MAX_DIGITS:
        return None
    compact = remap_old_prefix(compact, region=region)
    plain = _valid_plain_vn(compact, region)
    if plain is not None:
        return plain, True
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    valid = phonenumbers.is_valid_number(number)
    if number.italian_leading_zero and not valid:  # "+84 000 …": zeros that would shrink on every pass
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), valid


def _valid_plain_vn(compact: str, region: str) -> str | None:
    """The E.164 form of a valid Vietnamese number written whole, without parsing it (parsing is the dear part
    of ingesting a phone); None for anything else, which takes the full path."""
    match = _PLAIN_VN.fullmatch(compact)
    if match is None or (region != "VN" and compact[0] == "0"):
        return None
    national = match.group(1)
    number = phonenumbers.PhoneNumber(country_code=_VN_CALLING_CODE, national_number=int(national))
    return f"+84{national}" if phonenumbers.is_valid_number(number) else None


def split_phone_field(raw: str) -> list[str]:
    """The pieces of a field split at the separators clerks put between two numbers (``/ , ; |``, "hoặc")."""
    text = unicodedata.normalize("NFKC", raw)
    return [piece.strip() for piece in _SEPARATORS.split(text) if piece and piece.strip()]


def tokens(piece: str) -> list[str]:
    """The digit groups of a piece, a ``+`` kept on the group right after it; extensions dropped."""
    found: list[str] = []
    plus = False
    for match in _TOKEN.finditer(_EXTENSION.sub(" ", piece)):
        if match.group() == "+":
            plus = True
            continue
        found.append(("+" if plus else "") + match.group())
        plus = False
    return found


def numbers_in_piece(piece: str, *, region: str = "VN") -> list[str]:
    """The compact candidates in one piece: the whole piece, or runs of digit groups that are each valid."""
    groups = tokens(piece)
    if not groups:
        return []
    whole = "".join(groups)
    if _is_valid(whole, region) or len(groups) == 1 or len(groups) > _MAX_TOKENS:
        return [whole]
    return _valid_runs(groups, region) or [whole]


def _is_valid(compact: str, region: str) -> bool:
    found = classify(compact, region)
    return found is not None and found[1]


def _valid_runs(groups: list[str], region: str) -> list[str] | None:
    """Cut the digit groups into consecutive runs that are each a valid number ("0912 345 678 0987 654 321")."""
    runs_from: dict[int, list[str]] = {len(groups): []}
    for start in range(len(groups) - 1, -1, -1):
        for end in range(start + 1, len(groups) + 1):
            candidate = "".join(groups[start:end])
            if sum(c.isdigit() for c in candidate) > _MAX_DIGITS:
                break
            if end in runs_from and _is_valid(candidate, region):
                runs_from[start] = [candidate, *runs_from[end]]
                break
    return runs_from.get(0)


def check_phone(raw: str, *, region: str = "VN") -> NormalisedResult:
    """Normalise a phone field to E.164 identifiers, with the reason for every piece that is not a number."""
    region = _checked_region(region)
    text = raw.strip()
    if not text:
        return reject(IdentifierType.PHONE, raw, Reason.EMPTY, "the phone field is empty")
    if len(text) > MAX_FIELD_LENGTH:
        return reject(IdentifierType.PHONE, raw, Reason.TOO_LONG, f"a phone field longer than {MAX_FIELD_LENGTH}")
    result = NormalisedResult()
    for piece in split_phone_field(text):
        result.extend(_check_piece(piece, region))
    if not result.identifiers and not result.rejected:
        return reject(IdentifierType.PHONE, raw, Reason.NOT_A_PHONE, "not a phone number")
    result.identifiers = list(dict.fromkeys(result.identifiers))
    return result


def normalise_phone(raw: str, *, region: str = "VN") -> list[Identifier]:
    """The E.164 phone identifiers in a raw field (several when it holds several numbers)."""
    return check_phone(raw, region=region).identifiers


def _check_piece(piece: str, region: str) -> NormalisedResult:
    result = NormalisedResult()
    for candidate in numbers_in_piece(piece, region=region):
        found = classify(candidate, region)
        if found is None:
            result.rejected.append(Rejection(IdentifierType.PHONE, piece, Reason.NOT_A_PHONE, "not a phone number"))
            continue
        e164, valid = found
        flags = frozenset() if valid else frozenset({POSSIBLE_NOT_VALID})
        result.identifiers.append(Identifier(IdentifierType.PHONE, e164, flags=flags))
    return result


def _checked_region(region: str) -> str:
    """The region code upper-cased; an unknown region is a programming error."""
    code = region.upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}: use an ISO 3166 code such as 'VN'")
    return code
