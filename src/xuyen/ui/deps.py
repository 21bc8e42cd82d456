"""Who is looking at a page, and may they: page dependencies on top of the auth session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, Request

from xuyen.auth.deps import session_user
from xuyen.auth.models import AuthSession, Role, User
from xuyen.auth.service import Principal, csrf_matches, principal_for_user
from xuyen.errors import PermissionDenied, Unauthorized


class LoginRequired(Unauthorized):
    """A page was asked for without a signed-in user; the answer is a redirect to the sign-in page."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in user looking at a page (as plain values, usable after the database session closed)."""

    principal: Principal
    csrf_token: str
    auth_session: AuthSession

    @classmethod
    def of(cls, user: User, auth_session: AuthSession) -> Viewer:
        """The viewer behind a signed-in user and their browser session."""
        return cls(principal=principal_for_user(user), csrf_token=auth_session.csrf_token,
                   auth_session=auth_session)

    def can(self, role: Role) -> bool:
        """Whether the viewer's role is ``role`` or above."""
        return self.principal.can(role)


def page_user(request: Request, signed_in: tuple[User, AuthSession] | None = Depends(session_user)) -> Viewer:
    """The signed-in user; anyone else is sent to the sign-in page."""
    if signed_in is None:
        raise LoginRequired("Sign in to see this page.", code="login_required")
    viewer = Viewer.of(*signed_in)
    request.state.viewer = viewer
    return viewer


def page_role(role: Role) -> Callable[..., Viewer]:
    """A dependency that lets only signed-in users with ``role`` or above see the page."""

    def check(viewer: Viewer = Depends(page_user)) -> Viewer:
        if not viewer.can(role):
            raise PermissionDenied(
                f"This page needs the {role.value} role or above; you are {viewer.principal.role.value}.",
                code="role_required",
            )
        return viewer

    return check


def check_csrf(auth_session: AuthSession, submitted: str | None) -> None:
    """Refuse a form that does not carry this session's CSRF token."""
    if not csrf_matches(auth_session, submitted):
        raise PermissionDenied("The form's security token is missing or wrong; reload the page and try again.",
                               code="csrf_failed")
