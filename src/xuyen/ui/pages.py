"""The server-rendered pages: sign-in and sign-out, the language switch, the read-only pages, and (from their
own modules) the customers, customer-import and duplicate-review pages."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from xuyen import i18n
from xuyen.auth import service as auth_service
from xuyen.auth.deps import session_user
from xuyen.auth.models import AuthSession, Role, User
from xuyen.errors import PermissionDenied, RateLimited, Unauthorized, ValidationFailed
from xuyen.http import get_session
from xuyen.routing import Router
from xuyen.ui import catalogue as catalogue_pages
from xuyen.ui import csat as csat_pages
from xuyen.ui import custom_fields as custom_field_pages
from xuyen.ui import customer_imports as customer_import_pages
from xuyen.ui import customers as customer_pages
from xuyen.ui import deals as deal_pages
from xuyen.ui import deals_settings as deal_settings_pages
from xuyen.ui import duplicates as duplicate_pages
from xuyen.ui import inbox as inbox_pages
from xuyen.ui import inbox_routing as inbox_routing_pages
from xuyen.ui import inbox_routing_settings as routing_settings_pages
from xuyen.ui import loyalty as loyalty_pages
from xuyen.ui import marketplaces as marketplace_pages
from xuyen.ui import message_templates as message_template_pages
from xuyen.ui import pricing as pricing_pages
from xuyen.ui import sales_dashboard, views
from xuyen.ui import sla as sla_pages
from xuyen.ui import stock as stock_pages
from xuyen.ui import stock_locations as stock_location_pages
from xuyen.ui import tasks as task_pages
from xuyen.ui.deps import LoginRequired, Viewer, check_csrf, page_role, page_user
from xuyen.ui.rendering import error_page, render
from xuyen.ui.security import (
    LANGUAGE_COOKIE,
    LANGUAGE_MAX_AGE,
    LOGIN_CSRF_COOKIE,
    clear_session_cookie,
    login_token_matches,
    login_url,
    new_login_token,
    safe_next,
    set_cookie,
    set_login_token,
    set_session_cookie,
    settings_of,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_ID = 2**31 - 1

router = Router(include_in_schema=False, default_response_class=HTMLResponse)

DbSession = Annotated[Session, Depends(get_session)]
SignedIn = Annotated[tuple[User, AuthSession] | None, Depends(session_user)]
FormText = Annotated[str, Form()]
NextField = Annotated[str, Form(alias="next")]
NextQuery = Annotated[str, Query(alias="next")]
PageViewer = Annotated[Viewer, Depends(page_user)]


def setup(app: FastAPI) -> None:
    """Load the translations, serve the static files and answer browsers' errors with pages."""
    i18n.catalogues()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.html_error_renderer = error_page
    app.add_exception_handler(LoginRequired, _to_login)


async def _to_login(request: Request, exc: Exception) -> Response:
    return RedirectResponse(login_url(request), status_code=303)


def _see_other(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


# Signing in and out ---------------------------------------------------------------------------------


def _login_form(request: Request, *, next_path: str, email: str = "", error: str = "", minutes: int = 0,
                status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    token = new_login_token()
    response = render(request, "login.html", {"login_token": token, "next": next_path, "email": email,
                                              "error": error, "minutes": minutes, "language_switch": True},
                      status_code=status_code, headers=headers)
    set_login_token(response, request, token)
    return response


@router.get("/login")
def login_page(request: Request, signed_in: SignedIn, next_path: NextQuery = "/") -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    if signed_in is not None:
        return _see_other(safe_next(next_path))
    return _login_form(request, next_path=safe_next(next_path))


@router.post("/login")
def login(request: Request, session: DbSession, email: FormText = "", password: FormText = "",
          csrf_token: FormText = "", next_path: NextField = "/") -> Response:
    """Check the sign-in form and open a session."""
    if not login_token_matches(request, csrf_token):
        raise PermissionDenied("The sign-in form expired or was not sent from this site; reload it.",
                               code="login_csrf_failed")
    target = safe_next(next_path)
    try:
        _user, token = auth_service.sign_in(session, email=email, password=password,
                                            ip=request.client.host if request.client else "",
                                            user_agent=request.headers.get("user-agent", ""))
    except RateLimited as exc:
        return _login_form(request, next_path=target, email=email, error="rate_limited",
                           minutes=max(math.ceil(exc.retry_after / 60), 1), status_code=429,
                           headers={"Retry-After": str(exc.retry_after)})
    except Unauthorized:
        return _login_form(request, next_path=target, email=email, error="invalid_credentials",
                           status_code=401)
    response = _see_other(target)
    set_session_cookie(response, request, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, viewer: PageViewer, csrf_token: FormText = "") -> Response:
    """End the browser session and go back to the sign-in form."""
    check_csrf(viewer.auth_session, csrf_token)
    auth_service.sign_out(session, token=request.cookies.get(settings_of(request).session_cookie_name, ""))
    response = _see_other("/login")
    clear_session_cookie(response, request)
    return response


@router.post("/language")
def switch_language(request: Request, session: DbSession, signed_in: SignedIn, locale: FormText = "",
                    csrf_token: FormText = "", next_path: NextField = "/") -> Response:
    """Show the UI in another language: saved for a signed-in user, in a cookie for everyone."""
    if signed_in is not None:
        check_csrf(signed_in[1], csrf_token)
        auth_service.set_locale(session, user_id=signed_in[0].id, locale=locale)
    elif i18n.supported(locale) is None:
        raise ValidationFailed(f"Unknown language {locale!r}.", code="invalid_locale")
    response = _see_other(safe_next(next_path))
    set_cookie(response, request, LANGUAGE_COOKIE, locale, max_age=LANGUAGE_MAX_AGE)
    return response


# Pages ------------------------------------------------------------------------------------------------


@router.get("/")
def overview_page(request: Request, session: DbSession, viewer: PageViewer) -> Response:
    """The last 30 days' sales in brief (managers and above), counts of stores, sources, staff and jobs, and a card
    per store."""
    overview = views.overview(session, store_id=viewer.principal.store_id)
    sales = sales_dashboard.headline(session) if viewer.can(Role.manager) else None
    return render(request, "overview.html", {"overview": overview, "sales": sales})


@router.get("/stores")
def stores_page(request: Request, session: DbSession, viewer: PageViewer) -> Response:
    """Every store with its staff count."""
    return render(request, "stores.html", {"rows": views.store_rows(session)})


@router.get("/sources")
def sources_page(request: Request, session: DbSession, viewer: PageViewer) -> Response:
    """Every source (channel instance); only write key prefixes are shown."""
    return render(request, "sources.html", {"rows": views.source_rows(session)})


@router.get("/sources/{source_id}")
def source_page(request: Request, session: DbSession, source_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
                viewer: Annotated[Viewer, Depends(page_role(Role.manager))]) -> Response:
    """One source: its counts, latest quarantined calls and latest events (managers and above)."""
    return render(request, "source.html", {"page": views.source_page(session, source_id=source_id)})


@router.get("/staff")
def staff_page(request: Request, session: DbSession,
               viewer: Annotated[Viewer, Depends(page_role(Role.manager))]) -> Response:
    """The staff the viewer may see (managers and above; a store's manager sees that store's staff)."""
    rows = views.staff_rows(session, store_id=viewer.principal.store_id)
    return render(request, "staff.html", {"rows": rows})


@router.get("/jobs")
def jobs_page(request: Request, session: DbSession,
              viewer: Annotated[Viewer, Depends(page_role(Role.owner))]) -> Response:
    """Background jobs by status and the latest ones (owners only)."""
    return render(request, "jobs.html", {"jobs": views.jobs_page(session)})


# The customers' pages live in modules of their own; they join this router.
router.include_router(customer_pages.router)
router.include_router(custom_field_pages.router)
router.include_router(customer_import_pages.router)
router.include_router(duplicate_pages.router)
router.include_router(catalogue_pages.router)
router.include_router(sla_pages.router)  # before the inbox's pages: /inbox/sla is no conversation id
router.include_router(routing_settings_pages.router)  # before /inbox/{conversation_id}/labels
router.include_router(inbox_routing_pages.router)  # before the inbox's /inbox/{conversation_id}
router.include_router(inbox_pages.router)
router.include_router(csat_pages.router)
router.include_router(pricing_pages.router)
router.include_router(stock_location_pages.router)
router.include_router(stock_pages.router)
router.include_router(loyalty_pages.router)
router.include_router(marketplace_pages.router)
router.include_router(message_template_pages.router)
router.include_router(task_pages.router)
router.include_router(deal_settings_pages.router)  # before /deals/{deal_id}
router.include_router(deal_pages.router)
