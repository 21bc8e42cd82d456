"""What the widget sends, read strictly: site origins, anonymous ids, and a visitor's message.

A message is a JSON object::

    {"visitor": "<token>", "anonymousId": "…", "text": "…", "clientMessageId": "…",
     "page": {"url": "https://shop.vn/ao-dai", "title": "Áo dài lụa"},
     "userId": "…", "userHash": "…", "email": "…", "emailHash": "…"}      (the last four optional)
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from xuyen.channels.base import ChannelError, PayloadInvalid

MAX_TEXT = 4000
MAX_ID = 200
MAX_URL = 2000
MAX_TITLE = 300
_CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


# Origins --------------------------------------------------------------------------------------------------


def normalise_origin(raw: str) -> str | None:
    """``scheme://host[:port]`` in lower case without a default port, or None when ``raw`` is no web origin."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or parts.query \
            or parts.fragment or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    shown_port = f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{shown_port}"


def parse_allowed_origins(raw: str) -> tuple[str, ...]:
    """The comma-separated site origins a channel takes (``https://shop.vn``, ``https://*.shop.vn``); a
    ChannelError naming the first entry that is no origin."""
    found: list[str] = []
    for entry in (piece.strip() for piece in raw.split(",")):
        if not entry:
            continue
        wildcard = "://*." in entry
        origin = normalise_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if origin is None:
            raise ChannelError(f"{entry!r} is not a site origin; list origins like https://shop.vn or "
                               "https://*.shop.vn, separated by commas (no paths, no '*' alone).")
        found.append(origin.replace("://", "://*.", 1) if wildcard else origin)
    if not found:
        raise ChannelError("A web chat channel needs allowed_origins: the address of each site that embeds the "
                           "widget, like https://shop.vn, separated by commas.")
    return tuple(dict.fromkeys(found))


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a request's ``Origin`` header names one of the allowed origins (``*.`` matches subdomains)."""
    if not origin:
        return False
    clean = normalise_origin(origin)
    if clean is None:
        return False
    for entry in allowed:
        if entry == clean:
            return True
        if "://*." in entry:
            scheme, _, rest = entry.partition("://*.")
            if clean.startswith(scheme + "://") and clean.endswith("." + rest):
                return True
    return False


# Values ---------------------------------------------------------------------------------------------------


def clean_id(value: object, *, field: str) -> str:
    """An identifier the widget sends (anonymous id, user id): a non-empty string of at most 200 printable
    characters, without spaces around it."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PayloadInvalid(f"{field} must be a string.")
    text = str(value).strip()
    if not text:
        raise PayloadInvalid(f"{field} is empty.")
    if len(text) > MAX_ID:
        raise PayloadInvalid(f"{field} is longer than {MAX_ID} characters.")
    if any(unicodedata.category(char)[0] in "CZ" and char != " " for char in text):
        raise PayloadInvalid(f"{field} contains control characters or line breaks.")
    return text


def clean_email(value: object) -> str:
    """One e-mail address, lower-cased; PayloadInvalid when it is not one."""
    text = clean_id(value, field="email").lower()
    local, at, domain = text.rpartition("@")
    if not at or not local or "." not in domain or any(char in text for char in " ,;<>"):
        raise PayloadInvalid("email is not one e-mail address.")
    return text


def _optional(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return None if value in (None, "") else clean_id(value, field=name)


# A visitor's message --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WidgetPost:
    """A visitor's message as the widget sent it (read, not yet trusted: ``verify`` checks the token)."""

    token: str
    anonymous_id: str
    text: str
    client_message_id: str
    page_url: str | None = None
    page_title: str | None = None
    user_id: str | None = None
    user_hash: str | None = None
    email: str | None = None
    email_hash: str | None = None


def _page(data: dict[str, Any]) -> tuple[str | None, str | None]:
    page = data.get("page")
    if page is None:
        return None, None
    if not isinstance(page, dict):
        raise PayloadInvalid("page must be an object with url and title.")
    url, title = page.get("url"), page.get("title")
    if url is not None and not (isinstance(url, str) and len(url) <= MAX_URL
                                and urlsplit(url).scheme in _DEFAULT_PORTS):
        url = None  # a page we cannot name is left out, the message still counts
    if title is not None:
        title = " ".join(title.split())[:MAX_TITLE] if isinstance(title, str) else None
    return url, title or None


def read_text(value: object) -> str:
    """The message's text: a non-empty string of at most 4,000 characters after trimming."""
    if not isinstance(value, str):
        raise PayloadInvalid("text must be a string.")
    text = value.strip()
    if not text:
        raise PayloadInvalid("text is empty; write something to send.")
    if len(text) > MAX_TEXT:
        raise PayloadInvalid(f"text is longer than {MAX_TEXT:,} characters; send it in parts.")
    return text


def read_post(body: bytes) -> WidgetPost:
    """The widget's message in ``body``; PayloadInvalid saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PayloadInvalid("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise PayloadInvalid("The body must be a JSON object.")
    token = data.get("visitor")
    if not isinstance(token, str) or not token:
        raise PayloadInvalid("visitor (the token the session endpoint gave) is missing.")
    client_id = data.get("clientMessageId")
    if not isinstance(client_id, str) or not _CLIENT_MESSAGE_ID.fullmatch(client_id):
        raise PayloadInvalid("clientMessageId must be 1 to 64 letters, digits, '-' or '_' (a UUID is good).")
    url, title = _page(data)
    email = data.get("email")
    return WidgetPost(token=token, anonymous_id=clean_id(data.get("anonymousId"), field="anonymousId"),
                      text=read_text(data.get("text")), client_message_id=client_id, page_url=url, page_title=title,
                      user_id=_optional(data, "userId"), user_hash=_optional(data, "userHash"),
                      email=None if email in (None, "") else clean_email(email),
                      email_hash=_optional(data, "emailHash"))
