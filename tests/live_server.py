"""A real uvicorn server for tests: the application served from a background thread on a free local port.

Used by the browser tests (tests/e2e) and the SDK tests (tests/events/test_sdks.py).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine

from xuyen.app import create_app
from xuyen.config import Settings

STARTUP_SECONDS = 20.0
# How long a test's own call to the live server may take. The server shares its process (and its interpreter lock)
# with the test and often with a worker thread, on machines shared with other work: a call that asserts behaviour
# must not fail because the machine was busy for a few seconds (httpx's default is 5 s).
REQUEST_SECONDS = 30.0


def call(method: str, url: str, **options: Any) -> httpx.Response:
    """One request of a test to a server under test (ours or a fake provider's), waiting up to REQUEST_SECONDS."""
    return httpx.request(method, url, timeout=REQUEST_SECONDS, **options)


class LiveServer:
    """The application served by uvicorn from a background thread."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=self.port,
                                log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name=f"uvicorn-{self.port}", daemon=True)

    def start(self) -> None:
        """Start serving and wait until /healthz answers."""
        self.thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError("the server thread stopped while starting; see the log above")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer /healthz within {STARTUP_SECONDS:.0f} s")

    def stop(self) -> None:
        """Ask uvicorn to finish and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()
