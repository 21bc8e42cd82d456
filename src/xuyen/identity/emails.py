"""E-mail addresses: trimmed, unwrapped, lower-cased, and checked only for what is obviously wrong."""

from __future__ import annotations

import re
import unicodedata

from xuyen.identity.identifiers import Identifier, IdentifierType, NormalisedResult, Reason, Rejection, reject

MAX_ADDRESS_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

_SEPARATORS = re.compile(r"[;,]")
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>\s*$")  # "An Nguyễn <an@shop.vn>" or "<an@shop.vn>"


def clean_email(raw: str) -> str:
    """The address inside a raw value: trimmed, ``mailto:``, display name and ``<>`` removed, lower-cased."""
    text = unicodedata.normalize("NFC", raw).strip()
    angle = _ANGLE_ADDRESS.search(text)
    if angle:
        text = angle.group(1).strip()
    text = _MAILTO.sub("", text).strip().strip("<>").strip()
    return text.lower()


def email_problem(address: str) -> str | None:
    """What is obviously wrong with a cleaned address, or None when it looks like an address."""
    if not address:
        return "the e-mail field is empty"
    if any(c.isspace() for c in address):
        return "an e-mail address has no spaces"
    if address.count("@") != 1:
        return "an e-mail address has exactly one @"
    local, domain = address.split("@")
    if not local:
        return "an e-mail address needs a name before the @"
    if "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return "the part after the @ must be a domain such as gmail.com"
    if len(address) > MAX_ADDRESS_LENGTH or len(local) > MAX_LOCAL_PART_LENGTH:
        return "an e-mail address that long is not deliverable"
    return None


def check_email(raw: str) -> NormalisedResult:
    """Normalise an e-mail field (several addresses when separated by ``;`` or ``,``), with reasons."""
    pieces = [piece for piece in _SEPARATORS.split(raw) if piece.strip()]
    if not pieces:
        return reject(IdentifierType.EMAIL, raw, Reason.EMPTY, "the e-mail field is empty")
    result = NormalisedResult()
    for piece in pieces:
        address = clean_email(piece)
        problem = email_problem(address)
        if problem:
            result.rejected.append(
                Rejection(IdentifierType.EMAIL, piece.strip(), Reason.NOT_AN_EMAIL, f"not an e-mail address: {problem}")
            )
        else:
            result.identifiers.append(Identifier(IdentifierType.EMAIL, address))
    result.identifiers = list(dict.fromkeys(result.identifiers))
    return result


def normalise_email(raw: str) -> Identifier | None:
    """The e-mail identifier of a single-address field, or None when it is not an address."""
    result = check_email(raw)
    return result.identifiers[0] if len(result.identifiers) == 1 and not result.rejected else None
