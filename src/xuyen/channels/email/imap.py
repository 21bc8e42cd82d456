"""Fetching new mail over IMAP4rev1 (RFC 3501): UIDs above the cursor, in batches, without marking them read.

The cursor is ``<UIDVALIDITY>:<last UID fetched>``. When the folder's UIDVALIDITY changes, its UIDs mean other
messages now, so fetching starts again from the first; the inbox drops what it already has by Message-ID.
Failures are raised as ``SendFailed`` so the inbox treats them as it treats a refused send: ``retryable`` for
an unreachable or busy server, ``credentials_revoked`` when the login is refused.
"""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from xuyen.channels.base import PolledItem, PollResult, SendFailed

BATCH_SIZE = 100
POLL_BYTES = 64 * 1024 * 1024
_UID = re.compile(rb"\bUID (\d+)", re.IGNORECASE)
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)", re.IGNORECASE)
_START = re.compile(rb"^\d+ \(")
_CURSOR = re.compile(r"^(\d+):(\d+)$")
_TEMPORARY_CODES = ("[UNAVAILABLE]", "[INUSE]", "[LIMIT]", "[SERVERBUG]")


@dataclass(frozen=True)
class ImapServer:
    """Where and how to read the shop's mailbox."""

    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str = "INBOX"
    mark_seen: bool = False
    import_existing: bool = True
    max_message_bytes: int = 40 * 1024 * 1024
    timeout: float = 30.0


def encode_mailbox_name(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 section 5.1.3), as servers name folders."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            data = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def quote(value: str) -> str:
    """An IMAP quoted string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_cursor(cursor: str | None) -> tuple[int | None, int]:
    """(UIDVALIDITY, last UID) from a cursor; (None, 0) to start from the beginning."""
    found = _CURSOR.match(cursor.strip()) if cursor else None
    if not found:
        return None, 0
    return int(found.group(1)), int(found.group(2))


def write_cursor(uidvalidity: int, last_uid: int) -> str:
    """The cursor for the next poll."""
    return f"{uidvalidity}:{last_uid}"


def uid_set(uids: list[int]) -> str:
    """A compact IMAP sequence set (``1:4,7,9:10``) of sorted UIDs."""
    ranges: list[str] = []
    start = previous = uids[0]
    for uid in [*uids[1:], -1]:
        if uid == previous + 1:
            previous = uid
            continue
        ranges.append(str(start) if start == previous else f"{start}:{previous}")
        start = previous = uid
    return ",".join(ranges)


def _unreachable(exc: BaseException, server: ImapServer) -> SendFailed:
    return SendFailed(f"The mailbox at {server.host}:{server.port} cannot be read ({type(exc).__name__}: {exc}); "
                      "it is tried again at the next poll. If this lasts, check the IMAP host, port and security.",
                      code="imap_unreachable", retryable=True)


def _login_failure(exc: imaplib.IMAP4.error) -> SendFailed:
    reply = str(exc)
    if any(code in reply.upper() for code in _TEMPORARY_CODES):
        return SendFailed(f"The mail server cannot log in just now ({reply}); it is tried again at the next poll.",
                          code="imap_unavailable", retryable=True)
    return SendFailed(f"The mail server refused the user name or password ({reply}). Enter the current password "
                      "(an app password for Gmail) in the channel's settings, and make sure IMAP is turned on for "
                      "the mailbox.", code="auth_failed", credentials_revoked=True)


@contextmanager
def session(server: ImapServer) -> Iterator[imaplib.IMAP4]:
    """A logged-in IMAP connection, logged out afterwards; SendFailed when it cannot be had."""
    connection: imaplib.IMAP4 | None = None
    try:
        context = ssl.create_default_context()
        if server.security == "ssl":
            connection = imaplib.IMAP4_SSL(server.host, server.port, ssl_context=context, timeout=server.timeout)
        else:
            connection = imaplib.IMAP4(server.host, server.port, timeout=server.timeout)
            if server.security == "starttls":
                connection.starttls(ssl_context=context)
        if "LOGINDISABLED" in connection.capabilities:
            raise SendFailed("The mail server does not take a password on this connection; choose the ssl or "
                             "starttls security mode.", code="imap_login_disabled")
        try:
            connection.login(quote(server.username), server.password)
        except UnicodeEncodeError as exc:
            raise SendFailed("IMAP LOGIN takes only ASCII user names and passwords; use an app password made of "
                             "ASCII characters.", code="auth_failed", credentials_revoked=True) from exc
        except imaplib.IMAP4.abort as exc:
            raise _unreachable(exc, server) from exc
        except imaplib.IMAP4.error as exc:
            raise _login_failure(exc) from exc
    except SendFailed:
        _close(connection)
        raise
    except ssl.SSLCertVerificationError as exc:
        _close(connection)
        raise SendFailed(f"The mail server's TLS certificate is not trusted ({exc.verify_message}). Check the IMAP "
                         "host name; a server with a private certificate authority needs SSL_CERT_FILE set.",
                         code="tls_untrusted") from exc
    except (imaplib.IMAP4.error, ssl.SSLError, OSError) as exc:
        _close(connection)
        raise _unreachable(exc, server) from exc
    try:
        yield connection
    except (imaplib.IMAP4.error, ssl.SSLError, OSError) as exc:
        raise _unreachable(exc, server) from exc
    finally:
        _close(connection, logout=True)


def _close(connection: imaplib.IMAP4 | None, *, logout: bool = False) -> None:
    if connection is None:
        return
    with suppress(Exception):  # the connection is going away either way
        if logout:
            connection.logout()
        else:
            connection.shutdown()


def _number(connection: imaplib.IMAP4, code: str) -> int | None:
    _name, values = connection.response(code)
    for value in values or ():
        if isinstance(value, bytes) and value.strip().isdigit():
            return int(value.strip())
    return None


def _responses(data: list[object]) -> list[tuple[bytes, bytes | None]]:
    """FETCH answers as (the text around the literal, the literal) per message, whatever order the items have."""
    heads: list[bytes] = []
    literals: list[bytes | None] = []
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[0], bytes):
            head, literal = part
            if _START.match(head) or not heads:
                heads.append(head)
                literals.append(literal if isinstance(literal, bytes) else None)
            else:
                heads[-1] += b" " + head
        elif isinstance(part, bytes):
            if _START.match(part) or not heads:
                heads.append(part)
                literals.append(None)
            else:
                heads[-1] += part
    return list(zip(heads, literals, strict=True))


def _fetch(connection: imaplib.IMAP4, uids: list[int], items: str) -> list[tuple[int, bytes, bytes | None]]:
    """(UID, response text, literal) for each message a UID FETCH answered about."""
    if not uids:
        return []
    status, data = connection.uid("FETCH", uid_set(uids), items)
    if status != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH answered {status}: {data!r}")
    wanted = set(uids)
    out: list[tuple[int, bytes, bytes | None]] = []
    for head, literal in _responses(list(data)):
        found = _UID.search(head)
        if found and int(found.group(1)) in wanted:
            out.append((int(found.group(1)), head, literal))
    return out


def _truncated(size: int, header: bytes) -> bytes:
    return b"X-Xuyen-Truncated: " + str(size).encode("ascii") + b"\r\n" + header


def poll_mailbox(server: ImapServer, cursor: str | None, *, id_of: Callable[[bytes], str],
                 batch_size: int = BATCH_SIZE, poll_bytes: int = POLL_BYTES) -> PollResult:
    """The messages that arrived since ``cursor``, oldest first, and the cursor after them."""
    known_validity, last_uid = read_cursor(cursor)
    with session(server) as connection:
        status, data = connection.select(quote(encode_mailbox_name(server.folder)), readonly=not server.mark_seen)
        if status != "OK":
            raise SendFailed(f"The folder {server.folder!r} cannot be opened ({data!r}). Check the IMAP folder "
                             "setting (INBOX unless the mail is filed elsewhere).", code="imap_folder_missing")
        validity = _number(connection, "UIDVALIDITY") or 0
        uid_next = _number(connection, "UIDNEXT")
        if known_validity is not None and known_validity != validity:
            last_uid = 0
        if cursor is None and not server.import_existing:
            if uid_next is None:
                status, data = connection.uid("SEARCH", "ALL")
                every = b" ".join(item for item in data if isinstance(item, bytes)).split()
                uid_next = max((int(word) for word in every if word.isdigit()), default=0) + 1
            return PollResult(items=[], cursor=write_cursor(validity, max(uid_next - 1, 0)))
        # "n:*" also matches the highest UID when it is below n, so keep only the new ones.
        status, data = connection.uid("SEARCH", "UID", f"{last_uid + 1}:*")
        if status != "OK":
            raise imaplib.IMAP4.error(f"UID SEARCH answered {status}: {data!r}")
        words = b" ".join(item for item in data if isinstance(item, bytes)).split()
        uids = sorted({int(word) for word in words if word.isdigit() and int(word) > last_uid})[:batch_size]
        sizes = {uid: int(found.group(1)) for uid, head, _ in _fetch(connection, uids, "(UID RFC822.SIZE)")
                 if (found := _SIZE.search(head))}
        chosen: list[int] = []
        total = 0
        for uid in uids:
            cost = min(sizes.get(uid, 0), server.max_message_bytes)
            if chosen and total + cost > poll_bytes:
                break
            chosen.append(uid)
            total += cost
        whole = [uid for uid in chosen if sizes.get(uid, 0) <= server.max_message_bytes]
        large = [uid for uid in chosen if uid not in whole]
        bodies: dict[int, bytes] = {}
        for uid, _head, literal in _fetch(connection, whole, "(UID BODY.PEEK[])"):
            if literal is not None:
                bodies[uid] = literal
        for uid, _head, literal in _fetch(connection, large, "(UID BODY.PEEK[HEADER])"):
            if literal is not None:
                bodies[uid] = _truncated(sizes[uid], literal)
        if server.mark_seen and bodies:
            connection.uid("STORE", uid_set(sorted(bodies)), "+FLAGS.SILENT", r"(\Seen)")
        items = [PolledItem(provider_id=id_of(bodies[uid]), body=bodies[uid]) for uid in sorted(bodies)]
        return PollResult(items=items, cursor=write_cursor(validity, max(chosen, default=last_uid)))
