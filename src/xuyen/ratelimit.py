"""Sliding-window request limits per key (a visitor, an address), in this process's memory.

Each server process counts its own requests, so behind several processes a key may get up to that many times the
limit; the limits that use this (web chat, website lead forms) are about stopping floods, not exact quotas.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.requests import Request

from xuyen.errors import RateLimited


class RateLimiter:
    """Request counts per key over a sliding window; refuses with ``code`` and ``message`` (``{wait}``: the
    seconds to wait) past the limit."""

    MAX_KEYS = 50_000

    def __init__(self, *, code: str, message: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.code = code
        self.message = message
        self.clock = clock
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def check(self, key: str, *, limit: int, window: float = 60.0) -> None:
        """Count one request for ``key``; RateLimited (with the seconds to wait) past ``limit`` per ``window``."""
        now = self.clock()
        with self.lock:
            hits = self.hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                wait = max(math.ceil(hits[0] + window - now), 1)
                raise RateLimited(self.message.format(wait=wait), retry_after=wait, code=self.code)
            hits.append(now)
            if len(self.hits) > self.MAX_KEYS:
                self._forget(now - window)

    def _forget(self, before: float) -> None:
        for key in [key for key, hits in self.hits.items() if not hits or hits[-1] <= before]:
            del self.hits[key]


def app_limiter(request: Request, name: str, *, code: str, message: str) -> RateLimiter:
    """The application's limiter called ``name``, made on first use (one per app, so tests start afresh)."""
    limiters: dict[str, RateLimiter] | None = getattr(request.app.state, "rate_limiters", None)
    if limiters is None:
        limiters = request.app.state.rate_limiters = {}
    if name not in limiters:
        limiters[name] = RateLimiter(code=code, message=message)
    return limiters[name]
