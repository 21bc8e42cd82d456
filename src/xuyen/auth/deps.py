"""FastAPI dependencies: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable

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
    touch_session,
)
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


def current_principal(
    request: Request,
    session: Session = Depends(get_session),
    signed_in: tuple[User, AuthSession] | None = Depends(session_user),
) -> Principal:
    """The caller: an API key (``Authorization: Bearer xk_…``) or a signed-in user.

    A cookie-authenticated request that changes something must carry the session's CSRF token in
    the ``X-CSRF-Token`` header; API keys are not sent by browsers on their own, so they need none.
    """
    token = bearer_token(request)
    if token is not None:
        row = resolve_api_key(session, key=token)
        if row is None:
            raise Unauthorized("The API key is unknown or revoked. Create one with `xuyen apikey create`.",
                               code="invalid_api_key")
        return principal_for_api_key(row)
    if signed_in is None:
        raise Unauthorized("Sign in, or send an API key as `Authorization: Bearer <key>`.",
                           code="not_authenticated")
    user, auth_session = signed_in
    submitted = request.headers.get(CSRF_HEADER)
    if request.method not in SAFE_METHODS and not csrf_matches(auth_session, submitted):
        raise PermissionDenied(f"The {CSRF_HEADER} header is missing or wrong; reload the page and try "
                               "again.", code="csrf_failed")
    return principal_for_user(user)


def require_role(role: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only ``role`` and the roles above it through."""

    def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.can(role):
            raise PermissionDenied(f"This needs the {role.value} role or above; you are "
                                   f"{principal.role.value}.", code="role_required")
        return principal

    return check
