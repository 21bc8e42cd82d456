"""The Jinja environment, page rendering in the viewer's language and time zone, and error pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from xuyen import __version__, i18n
from xuyen.auth.models import Role
from xuyen.events.labels import channel_label
from xuyen.logs import request_id_var
from xuyen.ui import formatting
from xuyen.ui.deps import Viewer
from xuyen.ui.security import LANGUAGE_COOKIE, login_url, settings_of

log = logging.getLogger("xuyen.ui")

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation and the least role that sees it."""

    href: str
    label: str
    role: Role


NAV: tuple[NavItem, ...] = (
    NavItem("/", i18n.N_("Overview"), Role.agent),
    NavItem("/analytics", i18n.N_("Analytics"), Role.manager),
    NavItem("/inbox", i18n.N_("Inbox"), Role.agent),
    NavItem("/customers", i18n.N_("Customers"), Role.agent),
    NavItem("/orders", i18n.N_("Orders"), Role.agent),
    NavItem("/leads", i18n.N_("Leads"), Role.agent),
    NavItem("/deals", i18n.N_("Deals"), Role.agent),
    NavItem("/tasks", i18n.N_("Tasks"), Role.agent),
    NavItem("/segments", i18n.N_("Segments"), Role.agent),
    NavItem("/journeys", i18n.N_("Journeys"), Role.agent),
    NavItem("/templates", i18n.N_("Message templates"), Role.agent),
    NavItem("/catalogue", i18n.N_("Products"), Role.agent),
    NavItem("/stock", i18n.N_("Stock"), Role.agent),
    NavItem("/pricing", i18n.N_("Prices"), Role.manager),
    NavItem("/loyalty/settings", i18n.N_("Loyalty"), Role.manager),
    NavItem("/settings/fields", i18n.N_("Custom fields"), Role.manager),
    NavItem("/settings/messaging-policy", i18n.N_("Messaging policy"), Role.manager),
    NavItem("/stores", i18n.N_("Stores"), Role.agent),
    NavItem("/sources", i18n.N_("Sources"), Role.agent),
    NavItem("/customers/imports", i18n.N_("Customer imports"), Role.manager),
    NavItem("/duplicates", i18n.N_("Duplicates"), Role.agent),
    NavItem("/channels", i18n.N_("Channels"), Role.manager),
    NavItem("/marketplaces", i18n.N_("Marketplaces"), Role.manager),
    NavItem("/staff", i18n.N_("Staff"), Role.manager),
    NavItem("/jobs", i18n.N_("Jobs"), Role.owner),
)


HeaderCount = Callable[[Request, Viewer], int]


@dataclass(frozen=True)
class HeaderLink:
    """A link in the page header with a count beside it (unread reminders, …), registered by a domain's UI."""

    href: str
    label: str
    count: HeaderCount


_header_links: dict[str, HeaderLink] = {}


def header_link(href: str, *, label: str) -> Callable[[HeaderCount], HeaderCount]:
    """Register ``count(request, viewer)`` as the count of a header link to ``href`` (``label`` marked with
    ``N_``); the link shows on every signed-in page."""
    def register(count: HeaderCount) -> HeaderCount:
        _header_links[href] = HeaderLink(href=href, label=label, count=count)
        return count
    return register


def _header_links_for(request: Request, viewer: Viewer) -> list[dict[str, Any]]:
    shown = []
    for link in _header_links.values():
        try:
            count = link.count(request, viewer)
        except Exception:  # a broken counter must not break every page
            log.exception("the header count of %s could not be read", link.href)
            continue
        shown.append({"href": link.href, "label": link.label, "count": count})
    return shown


@cache
def environment() -> Environment:
    """The template environment with the i18n extension and the formatting filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(local_time=formatting.local_time, money=formatting.money, number=formatting.number)
    env.globals.update(channel_label=channel_label, role_label=formatting.role_label,
                       job_status_label=formatting.job_status_label,
                       quarantine_reason_label=formatting.quarantine_reason_label, Role=Role, version=__version__)
    return env


def nav_for(viewer: Viewer, path: str) -> list[dict[str, Any]]:
    """The navigation entries ``viewer`` may follow, with the one for ``path`` marked current (the longest
    that ``path`` is or lies under, so /customers/imports is not also /customers)."""
    items = [item for item in NAV if viewer.can(item.role)]
    matches = [item.href for item in items
               if path == item.href or (item.href != "/" and path.startswith(item.href + "/"))]
    current = max(matches, key=len, default=None)
    return [{"href": item.href, "label": item.label, "current": item.href == current} for item in items]


def request_locale(request: Request, viewer: Viewer | None) -> str:
    """The page language: the user's choice, else the language cookie, else the browser's, else the default."""
    if viewer is not None and i18n.supported(viewer.principal.locale):
        return viewer.principal.locale
    cookie = i18n.supported(request.cookies.get(LANGUAGE_COOKIE))
    if cookie:
        return cookie
    if i18n.prefers_english(request.headers.get("accept-language", "")):
        return "en"
    return settings_of(request).default_locale


def _viewer(request: Request) -> Viewer | None:
    viewer = getattr(request.state, "viewer", None)
    return viewer if isinstance(viewer, Viewer) else None


def _context(request: Request, viewer: Viewer | None, locale: str) -> dict[str, Any]:
    return {
        "request": request,
        "path": request.url.path,
        "locale": locale,
        "user": viewer.principal if viewer else None,
        "csrf_token": viewer.csrf_token if viewer else "",
        "nav": nav_for(viewer, request.url.path) if viewer else [],
        "header_links": _header_links_for(request, viewer) if viewer else [],
        # a signed-in browser on a page that did not look up its user (a 404) has no token for the switch
        "language_switch": viewer is not None or settings_of(request).session_cookie_name not in request.cookies,
    }


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           status_code: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """Render ``template`` in the viewer's language and time zone as an HTML answer."""
    viewer = _viewer(request)
    locale = request_locale(request, viewer)
    timezone = viewer.principal.timezone if viewer else settings_of(request).default_timezone
    with i18n.activated(locale, timezone):
        html = environment().get_template(template).render(_context(request, viewer, locale) | dict(context or {}))
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


def error_page(request: Request, status: int, code: str, detail: str) -> Response | None:
    """A friendly HTML error page; a page asked for without signing in goes to the sign-in page instead."""
    if status == 401:
        return RedirectResponse(login_url(request), status_code=303)
    try:
        return render(request, "error.html", {"status": status, "code": code, "detail": detail,
                                              "request_id": request_id_var.get() or ""}, status_code=status)
    except Exception:  # a broken error page must not hide the original error: fall back to problem+json
        log.exception("the error page could not be rendered")
        return None
