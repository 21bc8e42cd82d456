"""The router every domain declares its endpoints and pages on: FastAPI's, passed by at once by a request that
none of its routes can match.

FastAPI (0.137 onwards) tries a request against each route of each included router in turn, at several
microseconds a route. With the app's 600 routes, a route near the end (a webhook, the tracking API, a page) or a
404 paid 3–4 ms of matching before any work began. A route matches only paths that begin with its path up to its
first parameter, so a router none of whose routes begins the request's path cannot match it and is skipped whole.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


class Router(APIRouter):
    """An ``APIRouter`` that knows where its routes begin once the app has included it (``serve_under``)."""

    _included: tuple[tuple[str, APIRouter], ...] = ()  # the routers included in this one, with their prefixes
    _prefix_served: str | None = None
    _starts: tuple[str, ...] | None = None
    _starts_of: int = -1  # the ``route_count`` ``_starts`` was worked out at

    def include_router(self, router: APIRouter, *args: Any, prefix: str = "", **kwargs: Any) -> None:
        """FastAPI's ``include_router``, noting the router and its prefix so that its paths are known here."""
        super().include_router(router, *args, prefix=prefix, **kwargs)
        self._included = (*self._included, (prefix, router))

    def serve_under(self, prefix: str) -> None:
        """Note the prefix the app includes this router under: from then on, a request whose path begins with
        none of its routes' fixed beginnings passes it by without trying each route."""
        self._prefix_served = prefix
        self._starts_of = -1
        for child_prefix, child in self._included:
            if isinstance(child, Router):
                child.serve_under(prefix + child_prefix)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        starts = self._route_starts()
        if starts is not None and not route_path(scope).startswith(starts):
            return Match.NONE, {}
        return super().matches(scope)

    def fixed_beginnings(self, prefix: str) -> tuple[str, ...] | None:
        """How the paths of this router's routes begin before their first parameter, under ``prefix``; None when
        that is not known (it holds an entry with no path that is not a ``Router`` it included)."""
        paths = [getattr(route, "path", None) for route in self.routes]
        if sum(not isinstance(path, str) for path in paths) > len(self._included):
            return None
        beginnings = [prefix + path.split("{", 1)[0] for path in paths if isinstance(path, str)]
        for child_prefix, child in self._included:
            found = child.fixed_beginnings(prefix + child_prefix) if isinstance(child, Router) else None
            if found is None:
                return None
            beginnings.extend(found)
        return tuple(beginnings)

    def _route_starts(self) -> tuple[str, ...] | None:
        """The fixed beginnings under the served prefix, worked out again when routes were added; None: every
        route is tried (the app has not said where it serves this router, or its paths are not all known)."""
        if self._prefix_served is None:
            return None
        size = self.route_count()
        if self._starts_of != size:
            self._starts, self._starts_of = self.fixed_beginnings(self._prefix_served), size
        return self._starts

    def route_count(self) -> int:
        """How many entries this router and the ``Router``s included in it hold (it grows when a route is added)."""
        return len(self.routes) + sum(child.route_count() for _, child in self._included if isinstance(child, Router))


def route_path(scope: Scope) -> str:
    """The request's path as routes see it: without the app's ``root_path`` (as Starlette's routing strips it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root):] if path[len(root)] == "/" else path
