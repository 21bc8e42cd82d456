"""A fake IMAP4rev1 server (RFC 3501) on a real TCP socket, run from a thread.

It speaks enough of the protocol for a mail client that logs in, opens a folder and fetches by UID:
CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN, SELECT, EXAMINE, CLOSE, SEARCH, FETCH, STORE and their UID forms.
Commands are read with literals (``{n}`` with a continuation request, ``{n+}`` without), message bodies go out
as literals, folder names are modified UTF-7, and ``*`` in a set is the largest number in use, so
``UID n:*`` also matches the highest UID when it is below n, as RFC 3501 section 6.4.8 says. A test fills a
folder with raw messages and can renumber it under a new UIDVALIDITY.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

MAX_LINE = 65536
MAX_LITERAL = 64 * 1024 * 1024
COMMANDS = frozenset({"CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "LOGIN", "SELECT", "EXAMINE", "CLOSE", "UID",
                      "SEARCH", "FETCH", "STORE"})
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_LITERAL_AT_END = re.compile(rb"\{(\d+)(\+?)\}\r?\n$")
_PARTIAL = re.compile(r"^(BODY(?:\.PEEK)?)\[([^\]]*)\](?:<(\d+)\.(\d+)>)?$", re.IGNORECASE)


class BadCommand(Exception):
    """The client sent something this server cannot parse: answered with a tagged BAD."""


class Atom(str):
    """An IMAP atom (as opposed to a quoted string or a literal)."""

    __slots__ = ()


@dataclass
class StoredMessage:
    """One message in a folder."""

    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)
    internal_date: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self) -> bytes:
        """The header section, through the blank line that ends it."""
        for separator in (b"\r\n\r\n", b"\n\n"):
            end = self.raw.find(separator)
            if end >= 0:
                return self.raw[:end + len(separator)]
        return self.raw

    def text(self) -> bytes:
        """The body after the header section."""
        return self.raw[len(self.header()):]


class Folder:
    """A mailbox folder: its UIDVALIDITY, the next UID, and the messages in UID order."""

    def __init__(self, name: str, uidvalidity: int, lock: threading.RLock) -> None:
        self.name = name
        self.uidvalidity = uidvalidity
        self.uidnext = 1
        self.messages: list[StoredMessage] = []
        self._lock = lock

    def add(self, raw: bytes, *, flags: tuple[str, ...] = ()) -> int:
        """Deliver ``raw`` into the folder; returns its UID."""
        with self._lock:
            uid = self.uidnext
            self.uidnext += 1
            self.messages.append(StoredMessage(uid=uid, raw=raw, flags=set(flags)))
            return uid

    def expunge(self, uid: int) -> None:
        """Remove the message with ``uid``."""
        with self._lock:
            self.messages = [message for message in self.messages if message.uid != uid]

    def renumber(self, uidvalidity: int) -> None:
        """Give the folder a new UIDVALIDITY and number its messages again from 1 (a rebuilt mailbox)."""
        with self._lock:
            self.uidvalidity = uidvalidity
            for uid, message in enumerate(self.messages, start=1):
                message.uid = uid
            self.uidnext = len(self.messages) + 1

    def flags_of(self, uid: int) -> set[str]:
        """The flags of the message with ``uid``."""
        with self._lock:
            return next(set(message.flags) for message in self.messages if message.uid == uid)


def decode_mailbox_name(name: str) -> str:
    """A folder name from modified UTF-7 (RFC 3501 section 5.1.3)."""
    out: list[str] = []
    index = 0
    while index < len(name):
        char = name[index]
        if char != "&":
            out.append(char)
            index += 1
            continue
        end = name.index("-", index)
        if end == index + 1:
            out.append("&")
        else:
            encoded = name[index + 1:end].replace(",", "/")
            out.append(base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-16-be"))
        index = end + 1
    return "".join(out)


def parse_tokens(data: bytes) -> list[Any]:
    """IMAP command arguments: atoms, quoted strings, literals (as str) and parenthesised lists."""
    stack: list[list[Any]] = [[]]
    pos = 0
    while pos < len(data):
        char = data[pos:pos + 1]
        if char in (b" ", b"\r", b"\n"):
            pos += 1
        elif char == b"(":
            stack.append([])
            pos += 1
        elif char == b")":
            if len(stack) == 1:
                raise BadCommand("unbalanced parenthesis")
            inner = stack.pop()
            stack[-1].append(inner)
            pos += 1
        elif char == b'"':
            pos += 1
            value = bytearray()
            while True:
                if pos >= len(data) or data[pos:pos + 1] in (b"\r", b"\n"):
                    raise BadCommand("unterminated quoted string")
                current = data[pos:pos + 1]
                if current == b"\\":
                    value += data[pos + 1:pos + 2]
                    pos += 2
                    continue
                pos += 1
                if current == b'"':
                    break
                value += current
            stack[-1].append(value.decode("utf-8", "replace"))
        elif char == b"{":
            found = re.match(rb"\{(\d+)\+?\}\r?\n", data[pos:])
            if not found:
                raise BadCommand("malformed literal")
            size = int(found.group(1))
            start = pos + found.end()
            if start + size > len(data):
                raise BadCommand("literal shorter than announced")
            stack[-1].append(data[start:start + size].decode("utf-8", "replace"))
            pos = start + size
        else:
            start = pos
            depth = 0
            while pos < len(data):
                current = data[pos:pos + 1]
                if current == b"[":
                    depth += 1
                elif current == b"]":
                    depth -= 1
                elif depth == 0 and current in (b" ", b"(", b")", b"\r", b"\n", b'"'):
                    break
                pos += 1
            stack[-1].append(Atom(data[start:pos].decode("utf-8", "replace")))
    if len(stack) != 1:
        raise BadCommand("unbalanced parenthesis")
    return stack[0]


class _Set:
    """A sequence set (``1:4,7,9:*``) as ranges, ``*`` meaning the largest number in use."""

    def __init__(self, text: str, largest: int) -> None:
        self.ranges: list[tuple[int, int]] = []
        try:
            for part in text.split(","):
                first, _, last = part.partition(":")
                low = largest if first == "*" else int(first)
                high = low if not last else largest if last == "*" else int(last)
                self.ranges.append((min(low, high), max(low, high)))
        except ValueError as exc:
            raise BadCommand(f"invalid sequence set {text!r}") from exc

    def __contains__(self, number: object) -> bool:
        return isinstance(number, int) and any(low <= number <= high for low, high in self.ranges)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, fake: FakeImapServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Session)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-command (or failed the TLS handshake) is no error of the server's."""


class _Session(socketserver.StreamRequestHandler):
    """One client connection."""

    server: _Server

    def setup(self) -> None:
        fake = self.server.fake
        self.tls = fake.tls is not None
        if fake.tls is not None:
            self.request = fake.tls.wrap_socket(self.request, server_side=True)
        super().setup()
        fake._track(self.request)
        self.state = "not authenticated"
        self.folder: Folder | None = None
        self.readonly = False
        self.reported_exists = 0

    # Wire ---------------------------------------------------------------------------------------------

    def send(self, line: str | bytes) -> None:
        data = line.encode("utf-8") if isinstance(line, str) else line
        self.connection.sendall(data + b"\r\n")

    def read_command(self) -> bytes | None:
        data = b""
        while True:
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return None
            data += line
            found = _LITERAL_AT_END.search(line)
            if not found:
                return data
            size = int(found.group(1))
            if size > MAX_LITERAL:
                raise BadCommand("literal too large")
            if not found.group(2):
                self.send("+ Ready for literal data")
            data += self.rfile.read(size)

    def capabilities(self) -> str:
        fake = self.server.fake
        words = ["IMAP4rev1", "LITERAL+"]
        if fake.starttls is not None and not self.tls:
            words.append("STARTTLS")
            if fake.login_needs_tls:
                words.append("LOGINDISABLED")
        return " ".join(words)

    def handle(self) -> None:
        fake = self.server.fake
        self.send(f"* OK [CAPABILITY {self.capabilities()}] Xuyen test IMAP4rev1 server ready")
        while True:
            tag = "*"
            try:
                data = self.read_command()
                if data is None:
                    return
                first, _, rest = data.partition(b" ")
                tag = first.decode("ascii", "replace").strip()
                name_bytes, _, arguments = rest.partition(b" ")
                name = name_bytes.decode("ascii", "replace").strip().upper()
                if not tag or not name:
                    raise BadCommand("a command needs a tag and a name")
                args = parse_tokens(arguments)
                fake._log(name, args)
                with fake.lock:
                    keep_going = self.dispatch(tag, name, args)
                if not keep_going:
                    return
            except BadCommand as exc:
                self.send(f"{tag} BAD {exc}")
            except (ConnectionError, ssl.SSLError, OSError):
                return

    def dispatch(self, tag: str, name: str, args: list[Any]) -> bool:
        if name not in COMMANDS:
            raise BadCommand(f"unknown command {name}")
        if name == "CAPABILITY":
            self.send(f"* CAPABILITY {self.capabilities()}")
            self.send(f"{tag} OK CAPABILITY completed")
        elif name == "NOOP":
            self.report_exists()
            self.send(f"{tag} OK NOOP completed")
        elif name == "LOGOUT":
            self.send("* BYE Xuyen test IMAP4rev1 server logging out")
            self.send(f"{tag} OK LOGOUT completed")
            return False
        elif name == "STARTTLS":
            self.starttls(tag)
        elif name == "LOGIN":
            self.login(tag, args)
        elif self.state == "not authenticated":
            self.send(f"{tag} NO Log in first")
        elif name in ("SELECT", "EXAMINE"):
            self.select(tag, name, args)
        elif self.folder is None:
            self.send(f"{tag} NO Select a mailbox first")
        elif name == "CLOSE":
            self.folder = None
            self.state = "authenticated"
            self.send(f"{tag} OK CLOSE completed")
        elif name == "UID" and args and str(args[0]).upper() in ("SEARCH", "FETCH", "STORE"):
            self.run(tag, str(args[0]).upper(), args[1:], by_uid=True)
        elif name == "UID":
            raise BadCommand("UID takes SEARCH, FETCH or STORE")
        else:
            self.run(tag, name, args, by_uid=False)
        return True

    # Commands -----------------------------------------------------------------------------------------

    def starttls(self, tag: str) -> None:
        fake = self.server.fake
        if fake.starttls is None or self.tls:
            self.send(f"{tag} BAD STARTTLS not available")
            return
        self.send(f"{tag} OK Begin TLS negotiation now")
        self.connection = fake.starttls.wrap_socket(self.connection, server_side=True)
        self.request = self.connection
        self.rfile = self.connection.makefile("rb")
        self.tls = True

    def login(self, tag: str, args: list[Any]) -> None:
        fake = self.server.fake
        if self.state != "not authenticated":
            self.send(f"{tag} BAD Already logged in")
            return
        if len(args) != 2 or not all(isinstance(arg, str) for arg in args):
            raise BadCommand("LOGIN takes a user name and a password")
        if fake.login_needs_tls and not self.tls:
            self.send(f"{tag} NO [PRIVACYREQUIRED] Use STARTTLS first")
            return
        if fake.unavailable:
            self.send(f"{tag} NO [UNAVAILABLE] Temporary authentication failure, try again later")
            return
        user, password = str(args[0]), str(args[1])
        if fake.users.get(user) != password:
            self.send(f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed")
            return
        self.state = "authenticated"
        self.send(f"{tag} OK [CAPABILITY {self.capabilities()}] LOGIN completed")

    def select(self, tag: str, name: str, args: list[Any]) -> None:
        fake = self.server.fake
        if len(args) != 1 or not isinstance(args[0], str):
            raise BadCommand(f"{name} takes a mailbox name")
        wanted = decode_mailbox_name(str(args[0]))
        folder = fake.find_folder(wanted)
        self.folder = None
        self.state = "authenticated"
        if folder is None:
            self.send(f"{tag} NO [NONEXISTENT] Mailbox does not exist")
            return
        self.folder = folder
        self.state = "selected"
        self.readonly = name == "EXAMINE"
        self.reported_exists = len(folder.messages)
        self.send(f"* FLAGS ({' '.join(SYSTEM_FLAGS)})")
        permanent = "()" if self.readonly else f"({' '.join(SYSTEM_FLAGS)} \\*)"
        self.send(f"* OK [PERMANENTFLAGS {permanent}] Flags permitted")
        self.send(f"* {len(folder.messages)} EXISTS")
        self.send("* 0 RECENT")
        self.send(f"* OK [UIDVALIDITY {folder.uidvalidity}] UIDs valid")
        self.send(f"* OK [UIDNEXT {folder.uidnext}] Predicted next UID")
        mode = "READ-ONLY" if self.readonly else "READ-WRITE"
        self.send(f"{tag} OK [{mode}] {name} completed")

    def report_exists(self) -> None:
        if self.folder is not None and len(self.folder.messages) != self.reported_exists:
            self.reported_exists = len(self.folder.messages)
            self.send(f"* {self.reported_exists} EXISTS")

    def matching(self, text: str, *, by_uid: bool) -> list[tuple[int, StoredMessage]]:
        assert self.folder is not None
        numbered = list(enumerate(self.folder.messages, start=1))
        if not numbered:
            return []
        largest = numbered[-1][1].uid if by_uid else len(numbered)
        wanted = _Set(text, largest)
        return [(number, message) for number, message in numbered
                if (message.uid if by_uid else number) in wanted]

    def run(self, tag: str, name: str, args: list[Any], *, by_uid: bool) -> None:
        prefix = "UID " if by_uid else ""
        if name == "SEARCH":
            found = self.search(args, by_uid=by_uid)
            self.send("* SEARCH" + "".join(f" {number}" for number in found))
        elif name == "FETCH":
            if len(args) != 2:
                raise BadCommand("FETCH takes a set and data items")
            for number, message in self.matching(str(args[0]), by_uid=by_uid):
                self.send(self.fetch_response(number, message, args[1], by_uid=by_uid))
        else:
            if self.readonly:
                self.send(f"{tag} NO [READ-ONLY] Mailbox is read-only")
                return
            self.store(args, by_uid=by_uid)
        self.send(f"{tag} OK {prefix}{name} completed")

    def search(self, args: list[Any], *, by_uid: bool) -> list[int]:
        assert self.folder is not None
        keys = list(args)
        if len(keys) >= 2 and str(keys[0]).upper() == "CHARSET":
            keys = keys[2:]
        numbered = list(enumerate(self.folder.messages, start=1))
        selected = {number for number, _ in numbered}
        index = 0
        while index < len(keys):
            key = str(keys[index]).upper()
            if key == "ALL":
                matched = {number for number, _ in numbered}
            elif key == "UID" and index + 1 < len(keys):
                index += 1
                matched = {number for number, _ in self.matching(str(keys[index]), by_uid=True)}
            elif key in ("SEEN", "UNSEEN", "DELETED", "UNDELETED", "FLAGGED", "UNFLAGGED", "ANSWERED", "UNANSWERED"):
                flag = "\\" + key.removeprefix("UN").capitalize()
                present = not key.startswith("UN")
                matched = {number for number, message in numbered if (flag in message.flags) == present}
            elif re.fullmatch(r"[\d*:,]+", key):
                matched = {number for number, _ in self.matching(key, by_uid=False)}
            else:
                raise BadCommand(f"unsupported search key {key}")
            selected &= matched
            index += 1
        return [message.uid if by_uid else number for number, message in numbered if number in selected]

    def fetch_response(self, number: int, message: StoredMessage, items: Any, *, by_uid: bool) -> bytes:
        wanted = [str(item) for item in (items if isinstance(items, list) else [items])]
        if len(wanted) == 1 and wanted[0].upper() in ("ALL", "FAST", "FULL"):
            wanted = ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
        upper = [item.upper() for item in wanted]
        if by_uid and "UID" not in upper:
            wanted.insert(0, "UID")
        parts: list[bytes] = []
        sets_seen = False
        for item in wanted:
            key = item.upper()
            if key == "UID":
                parts.append(f"UID {message.uid}".encode())
            elif key == "FLAGS":
                continue  # written last, after any \Seen this fetch sets
            elif key == "RFC822.SIZE":
                parts.append(f"RFC822.SIZE {len(message.raw)}".encode())
            elif key == "INTERNALDATE":
                parts.append(f'INTERNALDATE "{message.internal_date.strftime("%d-%b-%Y %H:%M:%S +0000")}"'.encode())
            elif key in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                data = {"RFC822": message.raw, "RFC822.HEADER": message.header(), "RFC822.TEXT": message.text()}[key]
                parts.append(key.encode() + b" {" + str(len(data)).encode() + b"}\r\n" + data)
                sets_seen = sets_seen or key != "RFC822.HEADER"
            elif found := _PARTIAL.match(item):
                verb, section, offset, length = found.groups()
                data = self.section(message, section.upper())
                name = f"BODY[{section.upper()}]"
                if offset is not None:
                    data = data[int(offset):int(offset) + int(length)]
                    name += f"<{offset}>"
                parts.append(name.encode() + b" {" + str(len(data)).encode() + b"}\r\n" + data)
                sets_seen = sets_seen or verb.upper() == "BODY"
            else:
                raise BadCommand(f"unsupported fetch item {item}")
        flags_changed = sets_seen and not self.readonly and "\\Seen" not in message.flags
        if flags_changed:
            message.flags.add("\\Seen")
        if "FLAGS" in upper or flags_changed:
            parts.append(f"FLAGS ({' '.join(sorted(message.flags))})".encode())
        return f"* {number} FETCH (".encode() + b" ".join(parts) + b")"

    @staticmethod
    def section(message: StoredMessage, section: str) -> bytes:
        if section == "":
            return message.raw
        if section == "HEADER":
            return message.header()
        if section == "TEXT":
            return message.text()
        raise BadCommand(f"unsupported body section {section}")

    def store(self, args: list[Any], *, by_uid: bool) -> None:
        if len(args) < 3:
            raise BadCommand("STORE takes a set, an action and flags")
        action = str(args[1]).upper()
        flags = {str(flag) for flag in (args[2] if isinstance(args[2], list) else args[2:])}
        silent = action.endswith(".SILENT")
        action = action.removesuffix(".SILENT")
        if action not in ("FLAGS", "+FLAGS", "-FLAGS"):
            raise BadCommand(f"unsupported store action {args[1]}")
        for number, message in self.matching(str(args[0]), by_uid=by_uid):
            if action == "FLAGS":
                message.flags = set(flags)
            elif action == "+FLAGS":
                message.flags |= flags
            else:
                message.flags -= flags
            if not silent:
                uid = f"UID {message.uid} " if by_uid else ""
                self.send(f"* {number} FETCH ({uid}FLAGS ({' '.join(sorted(message.flags))}))")


class FakeImapServer:
    """The server: users and passwords, folders, and what clients sent (passwords left out)."""

    def __init__(self, *, users: dict[str, str], tls: ssl.SSLContext | None = None,
                 starttls: ssl.SSLContext | None = None, login_needs_tls: bool = False) -> None:
        self.users = dict(users)
        self.tls = tls
        self.starttls = starttls
        self.login_needs_tls = login_needs_tls
        self.unavailable = False
        self.lock = threading.RLock()
        self.folders: dict[str, Folder] = {}
        self.commands: list[tuple[str, str]] = []
        self._sockets: list[socket.socket] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.folder("INBOX")

    def folder(self, name: str = "INBOX", *, uidvalidity: int = 3857529045) -> Folder:
        """The folder called ``name``, created empty when missing."""
        with self.lock:
            found = self.find_folder(name)
            if found is None:
                found = self.folders[name] = Folder(name, uidvalidity, self.lock)
            return found

    def find_folder(self, name: str) -> Folder | None:
        """The folder called ``name`` (INBOX in any case), or None."""
        if name.upper() == "INBOX":
            return next((folder for key, folder in self.folders.items() if key.upper() == "INBOX"), None)
        return self.folders.get(name)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def _log(self, name: str, args: list[Any]) -> None:
        shown = [*args[:1], "***"] if name == "LOGIN" else args
        with self.lock:
            self.commands.append((name, " ".join(str(arg) for arg in shown)))

    def _track(self, sock: socket.socket) -> None:
        with self.lock:
            self._sockets.append(sock)

    def start(self) -> FakeImapServer:
        """Listen on a free local port."""
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-imap", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> FakeImapServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
