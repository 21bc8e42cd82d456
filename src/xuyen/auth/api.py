"""The auth API: browser sessions, the caller, staff users and API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Response
from sqlalchemy.orm import Session

from xuyen.auth import service
from xuyen.auth.deps import current_principal, require_role
from xuyen.auth.models import Role
from xuyen.auth.schemas import (
    MAX_ID,
    ApiKeyCreatedOut,
    ApiKeyCreateIn,
    ApiKeyOut,
    LocaleIn,
    MeOut,
    SessionOut,
    SignInIn,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
)
from xuyen.auth.service import Principal
from xuyen.config import Settings
from xuyen.http import get_session
from xuyen.routing import Router

router = Router(tags=["auth"])

Db = Annotated[Session, Depends(get_session)]
Caller = Annotated[Principal, Depends(current_principal)]
Manager = Annotated[Principal, Depends(require_role(Role.manager))]
Owner = Annotated[Principal, Depends(require_role(Role.owner))]
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="The user's id.")]
ApiKeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The API key's id.")]

NO_STORE = "no-store"  # answers that carry a secret must not be cached anywhere


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = _settings(request)
    response.set_cookie(settings.session_cookie_name, token, max_age=settings.session_max_age_seconds,
                        httponly=True, samesite="lax", secure=settings.is_production, path="/")


@router.post("/auth/session", summary="Sign in and open a browser session",
             responses={401: {"description": "Wrong e-mail or password"},
                        429: {"description": "Too many failed attempts; see Retry-After"}})
def open_session(body: SignInIn, request: Request, response: Response, session: Db) -> SessionOut:
    """Check the credentials, set the session cookie and return the user with the session's CSRF token."""
    user_agent = request.headers.get("user-agent", "")
    signed_in = service.start_session(session, email=body.email, password=body.password,
                                      ip=_client_ip(request), user_agent=user_agent)
    _set_session_cookie(request, response, signed_in.token)
    response.headers["Cache-Control"] = NO_STORE
    return SessionOut(user=UserOut.model_validate(signed_in.user), csrf_token=signed_in.csrf_token,
                      expires_at=signed_in.expires_at)


@router.delete("/auth/session", status_code=204, summary="Sign out")
def close_session(request: Request, session: Db, _caller: Caller) -> Response:
    """End the browser session behind the cookie and clear the cookie."""
    settings = _settings(request)
    service.sign_out(session, token=request.cookies.get(settings.session_cookie_name, ""))
    response = Response(status_code=204)
    response.delete_cookie(settings.session_cookie_name, path="/", httponly=True, samesite="lax",
                           secure=settings.is_production)
    return response


@router.get("/me", summary="Who is calling")
def read_me(session: Db, caller: Caller) -> MeOut:
    """The signed-in user, or the API key, behind this request."""
    return MeOut.model_validate(service.whoami(session, principal=caller))


@router.put("/me/locale", summary="Change my language")
def update_my_locale(body: LocaleIn, session: Db, caller: Caller) -> UserOut:
    """Change the language the signed-in user sees the UI in."""
    return UserOut.model_validate(service.set_my_locale(session, principal=caller, locale=body.locale))


@router.get("/users", summary="List staff users")
def list_users(session: Db, caller: Manager) -> list[UserOut]:
    """Staff users by name; a manager bound to a store sees only that store's users."""
    return [UserOut.model_validate(user) for user in service.list_users_seen_by(session, principal=caller)]


@router.post("/users", status_code=201, summary="Add a staff user")
def create_user(body: UserCreateIn, session: Db, caller: Manager) -> UserOut:
    """Add a user: owners add any role, managers add agents to their own store."""
    user = service.create_user_as(session, principal=caller, email=body.email, name=body.name,
                                  password=body.password, role=body.role, store_id=body.store_id,
                                  locale=body.locale)
    return UserOut.model_validate(user)


@router.get("/users/{user_id}", summary="Read a staff user")
def read_user(user_id: UserId, session: Db, caller: Manager) -> UserOut:
    """One user; users outside the caller's store answer 404."""
    return UserOut.model_validate(service.get_user_seen_by(session, principal=caller, user_id=user_id))


@router.patch("/users/{user_id}", summary="Change a staff user")
def update_user(user_id: UserId, body: UserUpdateIn, session: Db, caller: Manager) -> UserOut:
    """Change name, role, store, language or whether the user may sign in."""
    user = service.update_user(session, principal=caller, user_id=user_id, changes=body.to_changes())
    return UserOut.model_validate(user)


@router.post("/api-keys", status_code=201, summary="Create an API key")
def create_api_key(body: ApiKeyCreateIn, response: Response, session: Db, caller: Owner) -> ApiKeyCreatedOut:
    """Create a key for a machine client; the key is in this answer only, store it now."""
    row, key = service.create_api_key(session, name=body.name, role=body.role, store_id=body.store_id,
                                      created_by_id=caller.user_id)
    response.headers["Cache-Control"] = NO_STORE
    return ApiKeyCreatedOut.of(row, key)


@router.get("/api-keys", summary="List API keys")
def list_api_keys(session: Db, _caller: Owner) -> list[ApiKeyOut]:
    """Every API key, newest first, without the keys themselves."""
    return [ApiKeyOut.model_validate(row) for row in service.list_api_keys(session)]


@router.delete("/api-keys/{api_key_id}", summary="Revoke an API key")
def revoke_api_key(api_key_id: ApiKeyId, session: Db, _caller: Owner) -> ApiKeyOut:
    """Revoke a key at once; requests with it answer 401 from now on."""
    return ApiKeyOut.model_validate(service.revoke_api_key(session, api_key_id=api_key_id))
