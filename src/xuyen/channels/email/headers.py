"""Reading header fields of inbound mail without ever failing: parsed when possible, raw text otherwise."""

from __future__ import annotations

import re
from contextlib import suppress
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses

from xuyen.channels.email.text import clean

_SURROGATES = re.compile(r"[\udc80-\udcff]")


def fix_8bit(text: str) -> str:
    """Text that carried raw 8-bit bytes (held as surrogates by the parser) decoded as UTF-8."""
    if not _SURROGATES.search(text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def raw_header(message: Message, name: str) -> str | None:
    """The first ``name`` field exactly as it came, unfolded, or None."""
    wanted = name.lower()
    for key, value in message.raw_items():
        if key.lower() == wanted:
            return re.sub(r"\r?\n[ \t]", " ", str(value)).strip()
    return None


def raw_headers(message: Message, name: str) -> list[str]:
    """Every ``name`` field as it came, unfolded."""
    wanted = name.lower()
    return [re.sub(r"\r?\n[ \t]", " ", str(value)).strip() for key, value in message.raw_items()
            if key.lower() == wanted]


def text(message: Message, name: str) -> str | None:
    """The decoded value of the first ``name`` field (encoded words resolved), or None when absent."""
    with suppress(Exception):  # a malformed field falls back to its raw text below
        value = message.get(name)
        if value is not None:
            return clean(fix_8bit(str(value))).strip()
    raw = raw_header(message, name)
    if raw is None:
        return None
    try:
        return clean(fix_8bit(str(make_header(decode_header(raw))))).strip()
    except Exception:  # undecodable encoded words: keep the raw text
        return clean(fix_8bit(raw)).strip()


def addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of every mailbox in the ``name`` fields; groups are opened."""
    found: list[tuple[str, str]] = []
    try:
        for field in message.get_all(name) or []:
            for item in getattr(field, "addresses", ()):
                spec = fix_8bit(item.addr_spec)
                if item.username and item.domain:
                    found.append((clean(fix_8bit(item.display_name or "")).strip(), spec.lower()))
    except Exception:  # fall back to the lenient parser
        found = []
    if found:
        return found
    for display, spec in getaddresses(raw_headers(message, name)):
        spec = fix_8bit(spec).strip()
        local, at, domain = spec.rpartition("@")
        if at and local and domain and " " not in spec:
            with suppress(Exception):  # undecodable: keep the name as written
                display = str(make_header(decode_header(display)))
            found.append((clean(fix_8bit(display)).strip(), spec.lower()))
    return found
