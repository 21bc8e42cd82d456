"""Cookies, redirect targets and the sign-in form's double-submit token."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode, urlsplit

from fastapi import Request, Response

from xuyen.config import Settings

LOGIN_CSRF_COOKIE = "xuyen_login_csrf"
LOGIN_CSRF_MAX_AGE = 30 * 60
LANGUAGE_COOKIE = "xuyen_lang"
LANGUAGE_MAX_AGE = 365 * 24 * 3600


def settings_of(request: Request) -> Settings:
    """The settings of the application serving ``request``."""
    settings: Settings = request.app.state.settings
    return settings


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site (``/…``, never ``//…``, ``/\\…`` or a scheme), else ``default``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(char) < 32 or char == "\\" for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_url(request: Request) -> str:
    """The sign-in page, asked to come back to the page of ``request`` afterwards."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    if request.method != "GET" or target.startswith("/login"):
        target = "/"
    return "/login?" + urlencode({"next": safe_next(target)})


def new_login_token() -> str:
    """A fresh random token for the sign-in form."""
    return secrets.token_urlsafe(32)


def login_token_matches(request: Request, submitted: str) -> bool:
    """Whether the sign-in form's token equals the one in its cookie (double submit)."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and bool(submitted) and hmac.compare_digest(cookie, submitted)


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int,
               path: str = "/") -> None:
    """Set an HttpOnly, SameSite=Lax cookie, Secure in production."""
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                        secure=settings_of(request).is_production)


def set_login_token(response: Response, request: Request, token: str) -> None:
    """Give the browser the sign-in form's token as a short-lived cookie."""
    set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=LOGIN_CSRF_MAX_AGE, path="/login")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Give the browser its session cookie."""
    settings = settings_of(request)
    set_cookie(response, request, settings.session_cookie_name, token, max_age=settings.session_max_age_seconds)


def clear_session_cookie(response: Response, request: Request) -> None:
    """Make the browser forget its session cookie."""
    settings = settings_of(request)
    response.delete_cookie(settings.session_cookie_name, path="/", httponly=True, samesite="lax",
                           secure=settings.is_production)
