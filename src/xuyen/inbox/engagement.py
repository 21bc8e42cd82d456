"""E-mail open and click tracking: an outreach e-mail's web links go through tracked links and its HTML carries a
1×1 pixel, both naming the message with a signed token.

A token is the message id (and, for a link, the link's place in the message), then an HMAC-SHA256 of them under a
key derived (HKDF) from the instance's secret key: nobody can make a token for another message or another link,
and a link only ever leads to an address that was in that message (no open redirect). The first open and the first
click of a message are announced as ``inbox.message.engaged``; later ones are only counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import update
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.errors import BadRequest
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox.models import Channel, Conversation, Message, MessageTracking
from xuyen.outbox import emit

ENGAGED = "inbox.message.engaged"
OPEN_PATH, CLICK_PATH = "/t/o/", "/t/c/"
MAX_TOKEN = 64
MAX_LINKS = 200
MAX_URL = 2048
_PURPOSE = b"xuyen e-mail tracking v1"
_SIGNATURE = r"([A-Za-z0-9_-]{22})"
_OPEN_TOKEN = re.compile(r"^([1-9][0-9]{0,17})\." + _SIGNATURE + "$")
_CLICK_TOKEN = re.compile(r"^([1-9][0-9]{0,17})\.(0|[1-9][0-9]{0,2})\." + _SIGNATURE + "$")
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
_TAG_NAME = re.compile(r"<[a-zA-Z][^\s/>]*")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


# Signed tokens --------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(secret.encode())


def _keys() -> list[bytes]:
    settings = get_settings()
    return [_key(secret) for secret in (settings.secret_key.get_secret_value(), *settings.previous_secret_key_list)
            if secret]


def _signature(key: bytes, message_id: int, link: int | None) -> str:
    subject = f"open:{message_id}" if link is None else f"click:{message_id}:{link}"
    digest = hmac.new(key, subject.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def _genuine(message_id: int, link: int | None, signature: str) -> bool:
    return any(hmac.compare_digest(_signature(key, message_id, link), signature) for key in _keys())


def open_token(message_id: int) -> str:
    """The signed token of a message's open pixel."""
    return f"{message_id}.{_signature(_keys()[0], message_id, None)}"


def click_token(message_id: int, link: int) -> str:
    """The signed token of the ``link``-th tracked link of a message."""
    return f"{message_id}.{link}.{_signature(_keys()[0], message_id, link)}"


def read_open_token(token: str) -> int | None:
    """The message a pixel's token names, when the token is genuine."""
    found = _OPEN_TOKEN.match(token) if len(token) <= MAX_TOKEN else None
    if found is None or not _genuine(int(found.group(1)), None, found.group(2)):
        return None
    return int(found.group(1))


def read_click_token(token: str) -> tuple[int, int] | None:
    """The message and link place a tracked link's token names, when the token is genuine."""
    found = _CLICK_TOKEN.match(token) if len(token) <= MAX_TOKEN else None
    if found is None or not _genuine(int(found.group(1)), int(found.group(2)), found.group(3)):
        return None
    return int(found.group(1)), int(found.group(2))


def _base_url() -> str:
    settings = get_settings()
    return settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"


# Rewriting the HTML ---------------------------------------------------------------------------------------


class _LinkFinder(HTMLParser):
    """Finds the start tags of links (``a``, ``area``) with a web address, where they are in the source."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[tuple[int, int], str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "area"):
            return
        href = next((value for name, value in attrs if name == "href"), None)
        raw = self.get_starttag_text()
        if href is not None and raw is not None and _trackable(href.strip()):
            self.found.append((self.getpos(), raw, href.strip()))


def _trackable(url: str) -> bool:
    if len(url) > MAX_URL or any(char.isspace() or ord(char) < 32 for char in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _href_span(raw: str) -> tuple[int, int] | None:
    """Where the (first) href attribute, name to value, is in a raw start tag."""
    name = _TAG_NAME.match(raw)
    position = name.end() if name is not None else len(raw)
    while position < len(raw):
        while position < len(raw) and (raw[position].isspace() or raw[position] == "/"):
            position += 1
        found = _ATTRIBUTE.match(raw, position)
        if found is None or found.end() == position:
            return None
        if found.group(1).lower() == "href":
            return found.start(), found.end()
        position = found.end()
    return None


def tracked_html(html: str, *, message_id: int) -> tuple[str, list[str]]:
    """``html`` with each web link (up to ``MAX_LINKS``) going through a tracked link and an open pixel added at
    the end of its body; and the original addresses in order (a tracked link names its place here)."""
    finder = _LinkFinder()
    finder.feed(html)
    finder.close()
    line_starts = [0]
    for text_line in html.split("\n")[:-1]:
        line_starts.append(line_starts[-1] + len(text_line) + 1)
    base = _base_url()
    pieces: list[str] = []
    links: list[str] = []
    done = 0
    for (line, column), raw, url in finder.found:
        start = line_starts[line - 1] + column
        span = _href_span(raw)
        if len(links) >= MAX_LINKS or start < done or html[start:start + len(raw)] != raw or span is None:
            continue
        tracked = f'href="{escape(base + CLICK_PATH + click_token(message_id, len(links)), quote=True)}"'
        pieces += [html[done:start], raw[:span[0]], tracked, raw[span[1]:]]
        links.append(url)
        done = start + len(raw)
    pieces.append(html[done:])
    rewritten = "".join(pieces)
    pixel = (f'<img src="{escape(base + OPEN_PATH + open_token(message_id), quote=True)}.gif" width="1" height="1" '
             'alt="" style="display:block;width:1px;height:1px;border:0" />')
    ends = list(_BODY_END.finditer(rewritten))
    if ends:
        at = ends[-1].start()
        return rewritten[:at] + pixel + rewritten[at:], links
    return rewritten + pixel, links


def track_message(session: Session, *, message: Message, html: str) -> str:
    """Start tracking a message (flushed, so it has its id): its links are kept, and the HTML to send returned
    (helper: no commit)."""
    rewritten, links = tracked_html(html, message_id=message.id)
    session.add(MessageTracking(message_id=message.id, links=links, opens=0, clicks=0, created_at=utcnow()))
    return rewritten


# Opens and clicks ----------------------------------------------------------------------------------------


def _count(session: Session, *, message_id: int, kind: str) -> bool:
    """Count one open or click; whether it is the message's first (decided by the database, once)."""
    first_at = MessageTracking.first_opened_at if kind == "opened" else MessageTracking.first_clicked_at
    counter = MessageTracking.opens if kind == "opened" else MessageTracking.clicks
    now = utcnow()
    first = session.execute(update(MessageTracking).where(MessageTracking.message_id == message_id,
                                                          first_at.is_(None)).values({first_at: now}))
    session.execute(update(MessageTracking).where(MessageTracking.message_id == message_id)
                    .values({counter: counter + 1}))
    return bool(first.rowcount)  # type: ignore[attr-defined]


def _announce(session: Session, *, message_id: int, kind: str, url: str | None) -> None:
    message = session.get(Message, message_id)
    if message is None:
        return
    conversation = session.get(Conversation, message.conversation_id)
    channel = session.get(Channel, message.channel_id) if message.channel_id else None
    profile_id = resolve_profile_id(session, profile_id=conversation.profile_id) if conversation else None
    emit(session, topic=ENGAGED, aggregate_type="message", aggregate_id=message.id,
         payload={"message_id": message.id, "conversation_id": message.conversation_id, "profile_id": profile_id,
                  "channel_kind": channel.kind if channel else None, "kind": kind, "url": url,
                  "meta": dict(message.meta), "at": utcnow().isoformat()})


def record_open(session: Session, *, token: str) -> bool:
    """Count an open of the message a pixel's token names, and commit; False when the token is not genuine or
    the message is not tracked."""
    message_id = read_open_token(token)
    if message_id is None or session.get(MessageTracking, message_id) is None:
        return False
    if _count(session, message_id=message_id, kind="opened"):
        _announce(session, message_id=message_id, kind="opened", url=None)
    session.commit()
    return True


def record_click(session: Session, *, token: str) -> str:
    """Count a click of a tracked link, and commit; the address the link stands for. BadRequest
    ``invalid_tracked_link`` when the token is not genuine or names no link of a tracked message."""
    found = read_click_token(token)
    row = session.get(MessageTracking, found[0]) if found is not None else None
    if found is None or row is None or not 0 <= found[1] < len(row.links):
        raise BadRequest("This link is not valid.", code="invalid_tracked_link")
    url = str(row.links[found[1]])
    if _count(session, message_id=row.message_id, kind="clicked"):
        _announce(session, message_id=row.message_id, kind="clicked", url=url)
    session.commit()
    return url
