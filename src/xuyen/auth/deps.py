"""FastAPI dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from xuyen.auth.models import AuthSession, Role, User
from xuyen.auth.service import (
    Principal,
    csrf_matches,
    principal_for_api_key,
    principal_for_user,
    resolve_api_key,
    resolve_session,
    touch_api_key,
    touch_session,
    use_is_due,
)
from xuyen.db import reading
from xuyen.errors import PermissionDenied, Unauthorized
from xuyen.http import get_session

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def session_user(request: Request,
                 session: Session = Depends(get_session)) -> tuple[User, AuthSession] | None:
    """The signed-in user and session behind the session cookie, or None."""
    token = request.cookies.get(request.app.state.settings.session_cookie_name)
    if not token:
        return None
    found = resolve_session(session, token=token)
    if found is not None:
        touch_session(session, auth_session_id=found[1].id)
    return found


def current_principal(request: Request, session: Session = Depends(get_session)) -> Principal:
    """The caller: an API key (``Authorization: Bearer xk_…``) or a signed-in user.

    A cookie-authenticated request that changes something must carry the session's CSRF token in
    the ``X-CSRF-Token`` header; API keys are not sent by browsers on their own, so they need none.
    The caller is looked up in a read of its own (``reading``: no write lock on SQLite), so requests wait
    for each other only where their own work writes.
    """
    token = bearer_token(request)
    if token is not None:
        return _api_key_caller(session, token)
    return _signed_in_caller(request, session)


def _api_key_caller(session: Session, token: str) -> Principal:
    with reading(session):
        row = resolve_api_key(session, key=token)
        if row is None:
            raise Unauthorized("The API key is unknown or revoked. Create one with `xuyen apikey create`.",
                               code="invalid_api_key")
        principal, due = principal_for_api_key(row), use_is_due(row.last_used_at)
    if due:
        touch_api_key(session, api_key_id=principal.id)
    return principal


def _signed_in_caller(request: Request, session: Session) -> Principal:
    token = request.cookies.get(request.app.state.settings.session_cookie_name)
    with reading(session):
        found = resolve_session(session, token=token) if token else None
        if found is None:
            raise Unauthorized("Sign in, or send an API key as `Authorization: Bearer <key>`.",
                               code="not_authenticated")
        user, auth_session = found
        submitted = request.headers.get(CSRF_HEADER)
        if request.method not in SAFE_METHODS and not csrf_matches(auth_session, submitted):
            raise PermissionDenied(f"The {CSRF_HEADER} header is missing or wrong; reload the page and try "
                                   "again.", code="csrf_failed")
        principal, auth_session_id = principal_for_user(user), auth_session.id
        due = use_is_due(auth_session.last_seen_at)
    if due:
        touch_session(session, auth_session_id=auth_session_id)
    return principal


def require_role(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only ``role`` and the roles above it through (a check on the event loop: it
    touches no database)."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        return ensure_role(principal, role)

    return check


def ensure_role(principal: Principal, role: Role) -> Principal:
    """``principal`` if its role is ``role`` or above; otherwise PermissionDenied."""
    if not principal.can(role):
        raise PermissionDenied(f"This needs the {role.value} role or above; you are {principal.role.value}.",
                               code="role_required")
    return principal
