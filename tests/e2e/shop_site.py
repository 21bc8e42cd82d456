"""A shop's own website for the browser tests: one page on another local port (another origin than Xuyên's),
served under a strict Content-Security-Policy that lets it load scripts from and talk to the Xuyên server only, as a
shop embedding our lead form or chat widget would. Both are on the loopback address, as browsers require of a
plain-http page calling a local server. The ``shop`` fixture of ``conftest.py`` serves one per test."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ShopSite:
    """The shop's site: serves whatever page ``show`` was last given, at every path."""

    def __init__(self) -> None:
        self.html = b""
        self.csp = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Security-Policy", site.csp)
                self.send_header("Content-Length", str(len(site.html)))
                self.end_headers()
                self.wfile.write(site.html)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        """Start answering in a background thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop answering and free the port."""
        self.server.shutdown()
        self.server.server_close()

    def show(self, live_server: str, body: str, *, lang: str = "vi", inline_styles: bool = False) -> None:
        """Serve a product page in ``lang`` with ``body`` after its heading, allowed to load scripts from and
        connect to ``live_server`` only (and, with ``inline_styles``, to carry inline styles)."""
        styles = "; style-src 'unsafe-inline'" if inline_styles else ""
        self.csp = (f"default-src 'none'; script-src {live_server}; connect-src {live_server}; img-src 'none'"
                    f"{styles}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        self.html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
                     '<title>Áo dài lụa – Lụa Mây</title></head><body><h1>Áo dài lụa tơ tằm</h1><p>950.000 ₫</p>'
                     f'{body}</body></html>').encode()
