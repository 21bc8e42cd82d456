"""A tiny authoritative DNS server on 127.0.0.1 (UDP), built with dnspython's own message and wire code, so the
MX check is tested over the real protocol without the internet."""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class FakeDns:
    """Answers MX questions: ``mx`` maps a domain to its mail hosts; a domain in ``empty`` exists with no MX;
    every other name does not exist (NXDOMAIN)."""

    def __init__(self, *, mx: Mapping[str, list[str]], empty: set[str] | None = None) -> None:
        self.mx = {name.lower().rstrip("."): hosts for name, hosts in mx.items()}
        self.empty = {name.lower().rstrip(".") for name in (empty or set())}
        self.questions: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        """host:port of the server."""
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> FakeDns:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self._socket.sendto(self._answer(dns.message.from_wire(wire)).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        self.questions.append(name)
        if name in self.mx and question.rdtype == dns.rdatatype.MX:
            records = [f"{10 * (i + 1)} {host}." if host else "0 ." for i, host in enumerate(self.mx[name])]
            response.answer.append(dns.rrset.from_text(question.name, 300, dns.rdataclass.IN,
                                                       dns.rdatatype.MX, *records))
        elif name not in self.mx and name not in self.empty:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response
