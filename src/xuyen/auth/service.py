"""Auth services: staff users, sign-in with rate limiting, browser sessions, API keys."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from xuyen.auth.models import ApiKey, AuthSession, LoginAttempt, Role, User
from xuyen.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.db import is_postgres
from xuyen.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from xuyen.stores import service as stores_service

LOCALES = ("vi", "en")
API_KEY_PREFIX = "xk"
USE_NOTED_EVERY = timedelta(minutes=1)  # how often a key's or session's last use is written down
IP_FAILURE_FACTOR = 4  # one address may fail this many times more than one account before it is slowed down
MAX_PASSWORD_LENGTH = 256  # Argon2 hashes any length; a cap keeps a huge password from costing us much
# Structure only (one @, no spaces, a dotted domain): intranet domains such as .local stay allowed.
_EMAIL_CHAR = r"[^\s@\x00-\x1f\x7f]"
_LABEL = r"[^\s@.\x00-\x1f\x7f]+"
_EMAIL_SHAPE = re.compile(rf"^{_EMAIL_CHAR}{{1,64}}@(?=.{{1,255}}$){_LABEL}(\.{_LABEL})+$")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user or an API key, with the role and store scope that apply."""

    kind: str  # "user" or "api_key"
    id: int
    name: str
    role: Role
    store_id: int | None
    locale: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"

    def can(self, role: Role) -> bool:
        """Whether this principal's role is ``role`` or above."""
        return self.role.at_least(role)

    def sees_store(self, store_id: int | None) -> bool:
        """Whether this principal may see data of ``store_id`` (unscoped principals see every store)."""
        return self.store_id is None or self.store_id == store_id

    @property
    def user_id(self) -> int | None:
        """The id of the signed-in user, or None for an API key."""
        return self.id if self.kind == "user" else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """An e-mail address trimmed and lower-cased, as it is stored."""
    return email.strip().lower()


def is_email_address(email: str) -> bool:
    """Whether ``email`` (normalised) is shaped like an e-mail address."""
    return len(email) <= 320 and _EMAIL_SHAPE.match(email) is not None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
                               code="password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.",
                               code="password_too_long")


def _check_store_fits_role(session: Session, *, role: Role, store_id: int | None) -> None:
    """Owners see every store and so belong to none; any other store must exist."""
    if store_id is None:
        return
    if role == Role.owner:
        raise ValidationFailed("Owners see every store, so they cannot be bound to one; leave the store "
                               "empty or choose the manager or agent role.", code="owner_has_no_store")
    try:
        stores_service.get(session, store_id=store_id)
    except NotFound as exc:
        raise ValidationFailed(f"There is no store {store_id}; check the store id.",
                               code="store_not_found") from exc


def principal_for_user(user: User) -> Principal:
    """The principal of a signed-in user."""
    return Principal(kind="user", id=user.id, name=user.name, role=user.role, store_id=user.store_id,
                     locale=user.locale, timezone=user.timezone)


# Users ---------------------------------------------------------------------------------------------


def get_user(session: Session, *, user_id: int) -> User:
    """The user with ``user_id``."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"There is no user {user_id}.", code="user_not_found")
    return user


def get_user_by_email(session: Session, *, email: str) -> User | None:
    """The user with ``email`` (any case), if there is one."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def list_users(session: Session, *, store_id: int | None = None) -> list[User]:
    """Staff users, optionally only those of one store, by name."""
    query = select(User).order_by(User.name)
    if store_id is not None:
        query = query.where(User.store_id == store_id)
    return list(session.scalars(query))


def add_user(session: Session, *, email: str, name: str, password: str, role: Role,
             store_id: int | None = None, locale: str = "vi", timezone: str | None = None) -> User:
    """Add a user to the session's transaction after validating it (helper: the caller commits)."""
    email = normalise_email(email)
    if not is_email_address(email):
        raise ValidationFailed(f"{email!r} is not an e-mail address.", code="invalid_email")
    _check_password(password)
    if locale not in LOCALES:
        raise ValidationFailed(f"Unknown language {locale!r}; use one of {', '.join(LOCALES)}.",
                               code="invalid_locale")
    if not name.strip():
        raise ValidationFailed("The name must not be empty.", code="invalid_name")
    if get_user_by_email(session, email=email) is not None:
        raise Conflict(f"A user with the e-mail {email} already exists.", code="user_exists")
    _check_store_fits_role(session, role=role, store_id=store_id)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=role,
                store_id=store_id, locale=locale, timezone=timezone or get_settings().default_timezone,
                is_active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def create_user(session: Session, *, email: str, name: str, password: str, role: Role,
                store_id: int | None = None, locale: str = "vi", timezone: str | None = None) -> User:
    """Create a staff user."""
    user = add_user(session, email=email, name=name, password=password, role=role, store_id=store_id,
                    locale=locale, timezone=timezone)
    session.commit()
    return user


def set_locale(session: Session, *, user_id: int, locale: str) -> User:
    """Change the language a user sees the UI in."""
    if locale not in LOCALES:
        raise ValidationFailed(f"Unknown language {locale!r}; use one of {', '.join(LOCALES)}.",
                               code="invalid_locale")
    user = get_user(session, user_id=user_id)
    user.locale = locale
    session.commit()
    return user


def set_my_locale(session: Session, *, principal: Principal, locale: str) -> User:
    """Change the calling user's language (API keys have none)."""
    if principal.user_id is None:
        raise PermissionDenied("An API key has no language of its own; sign in as a user to change it.",
                               code="user_only")
    return set_locale(session, user_id=principal.user_id, locale=locale)


@dataclass(frozen=True)
class WhoAmI:
    """The caller as the API describes it: a user (with e-mail) or an API key."""

    kind: str
    id: int
    name: str
    email: str | None
    role: Role
    store_id: int | None
    locale: str
    timezone: str


def whoami(session: Session, *, principal: Principal) -> WhoAmI:
    """Who the caller is; for a user, with the e-mail address from the database."""
    user_id = principal.user_id
    email = get_user(session, user_id=user_id).email if user_id is not None else None
    return WhoAmI(kind=principal.kind, id=principal.id, name=principal.name, email=email, role=principal.role,
                  store_id=principal.store_id, locale=principal.locale, timezone=principal.timezone)


# Managing users within one's scope ----------------------------------------------------------------


class _Unset(enum.Enum):
    UNSET = "UNSET"


UNSET = _Unset.UNSET


@dataclass(frozen=True)
class UserChanges:
    """The fields of a user to change; None (UNSET for ``store_id``) leaves a field as it is."""

    name: str | None = None
    role: Role | None = None
    store_id: int | Literal[_Unset.UNSET] | None = UNSET
    is_active: bool | None = None
    locale: str | None = None


def _check_may_manage(principal: Principal, role: Role) -> None:
    """Owners manage every role; managers manage agents only; agents manage nobody."""
    if principal.can(Role.owner) or (principal.can(Role.manager) and role == Role.agent):
        return
    raise PermissionDenied(f"As {principal.role.value} you cannot manage {role.value} users; managers add "
                           "and change agents only, owners everyone. Ask an owner.", code="role_not_allowed")


def _check_store_in_scope(principal: Principal, store_id: int | None) -> None:
    if not principal.sees_store(store_id):
        raise PermissionDenied("You may only manage users of your own store "
                               f"(store {principal.store_id}).", code="store_not_allowed")


def list_users_seen_by(session: Session, *, principal: Principal) -> list[User]:
    """The users ``principal`` may see: everyone for unscoped callers, else their store's users."""
    return list_users(session, store_id=principal.store_id)


def get_user_seen_by(session: Session, *, principal: Principal, user_id: int) -> User:
    """The user ``user_id`` if ``principal`` may see it; out of scope looks the same as missing."""
    user = session.get(User, user_id)
    if user is None or not principal.sees_store(user.store_id):
        raise NotFound(f"There is no user {user_id} that you can see.", code="user_not_found")
    return user


def create_user_as(session: Session, *, principal: Principal, email: str, name: str, password: str,
                   role: Role, store_id: int | None = None, locale: str | None = None) -> User:
    """Create a user on behalf of ``principal``; a scoped manager's agents land in the manager's store."""
    _check_may_manage(principal, role)
    if store_id is None and not principal.can(Role.owner):
        store_id = principal.store_id
    _check_store_in_scope(principal, store_id)
    user = add_user(session, email=email, name=name, password=password, role=role, store_id=store_id,
                    locale=locale or get_settings().default_locale)
    session.commit()
    return user


def _active_owner_ids(session: Session) -> list[int]:
    query = select(User.id).where(User.role == Role.owner, User.is_active.is_(True))
    if is_postgres(session):
        query = query.with_for_update()  # two owners demoting each other at once must not both succeed
    return list(session.scalars(query))


def _check_not_last_owner(session: Session, *, user: User, role: Role, is_active: bool) -> None:
    still_owner = role == Role.owner and is_active
    if user.role != Role.owner or not user.is_active or still_owner:
        return
    if not [owner_id for owner_id in _active_owner_ids(session) if owner_id != user.id]:
        raise Conflict(f"{user.email} is the last active owner; make another user owner first, "
                       "then change this one.", code="last_owner")


def _end_sessions_of(session: Session, *, user_id: int) -> None:
    session.execute(delete(AuthSession).where(AuthSession.user_id == user_id))


def update_user(session: Session, *, principal: Principal, user_id: int, changes: UserChanges) -> User:
    """Change a user within ``principal``'s scope; the last active owner always stays an active owner."""
    user = get_user_seen_by(session, principal=principal, user_id=user_id)
    _check_may_manage(principal, user.role)
    role = changes.role or user.role
    _check_may_manage(principal, role)
    store_id = user.store_id if changes.store_id is UNSET else changes.store_id
    if store_id != user.store_id:
        _check_store_in_scope(principal, store_id)
    if role != user.role or store_id != user.store_id:
        _check_store_fits_role(session, role=role, store_id=store_id)
    is_active = user.is_active if changes.is_active is None else changes.is_active
    _check_not_last_owner(session, user=user, role=role, is_active=is_active)
    _apply_changes(session, user=user, changes=changes, role=role, store_id=store_id, is_active=is_active)
    session.commit()
    return user


def _apply_changes(session: Session, *, user: User, changes: UserChanges, role: Role, store_id: int | None,
                   is_active: bool) -> None:
    if changes.name is not None:
        if not changes.name.strip():
            raise ValidationFailed("The name must not be empty.", code="invalid_name")
        user.name = changes.name.strip()
    if changes.locale is not None:
        if changes.locale not in LOCALES:
            raise ValidationFailed(f"Unknown language {changes.locale!r}; use one of {', '.join(LOCALES)}.",
                                   code="invalid_locale")
        user.locale = changes.locale
    if user.is_active and not is_active:
        _end_sessions_of(session, user_id=user.id)
    user.role, user.store_id, user.is_active = role, store_id, is_active


def reset_password(session: Session, *, email: str, password: str) -> User:
    """Give a user a new password, end their browser sessions and lift their sign-in lock."""
    user = get_user_by_email(session, email=email)
    if user is None:
        raise NotFound(f"There is no user with the e-mail {normalise_email(email)}; `xuyen user list` shows "
                       "them.", code="user_not_found")
    _check_password(password)
    user.password_hash = hash_password(password)
    _end_sessions_of(session, user_id=user.id)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email,
                                               LoginAttempt.succeeded.is_(False)))
    session.commit()
    return user


# Sign-in -------------------------------------------------------------------------------------------


def _recent_failures(session: Session, *, column: InstrumentedAttribute[str], value: str,
                     since: datetime) -> tuple[int, datetime | None]:
    count, oldest = session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since
        )
    ).one()
    return int(count), oldest


def _check_rate_limit(session: Session, *, email: str, ip: str) -> None:
    settings = get_settings()
    window = timedelta(seconds=settings.login_window_seconds)
    now = utcnow()
    since = now - window
    for column, value, limit in (
        (LoginAttempt.email, email, settings.login_max_failures),
        (LoginAttempt.ip, ip, settings.login_max_failures * IP_FAILURE_FACTOR),
    ):
        count, oldest = _recent_failures(session, column=column, value=value, since=since)
        if count >= limit:
            retry_after = max(int(((oldest or now) + window - now).total_seconds()) + 1, 1)
            raise RateLimited(
                f"Too many failed sign-in attempts. Wait {max(retry_after // 60, 1)} minute(s) and try "
                "again, or ask an owner to reset your password.",
                retry_after=retry_after,
                code="login_rate_limited",
            )


def _record_attempt(session: Session, *, email: str, ip: str, succeeded: bool) -> None:
    session.add(LoginAttempt(email=email, ip=ip, succeeded=succeeded, attempted_at=utcnow()))


@dataclass(frozen=True)
class SignedIn:
    """A new browser session: the user, the cookie token, and the CSRF token unsafe requests must carry."""

    user: User
    token: str
    csrf_token: str
    expires_at: datetime


def sign_in(session: Session, *, email: str, password: str, ip: str,
            user_agent: str = "") -> tuple[User, str]:
    """Check the credentials and open a browser session; returns the user and the session token.

    Failed attempts are counted per e-mail and per address; past the limit every attempt is refused
    with ``RateLimited`` until the window has passed, whether or not the password is right.
    """
    signed_in = start_session(session, email=email, password=password, ip=ip, user_agent=user_agent)
    return signed_in.user, signed_in.token


def start_session(session: Session, *, email: str, password: str, ip: str, user_agent: str = "") -> SignedIn:
    """``sign_in`` for API clients: the same checks, and the session's CSRF token and expiry too."""
    email = normalise_email(email)[:320]
    ip = ip[:64]
    _check_rate_limit(session, email=email, ip=ip)
    user = get_user_by_email(session, email=email)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        _record_attempt(session, email=email, ip=ip, succeeded=False)
        session.commit()
        raise Unauthorized("The e-mail or password is wrong.", code="invalid_credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _record_attempt(session, email=email, ip=ip, succeeded=True)
    user.last_login_at = utcnow()
    token, row = _open_session(session, user=user, ip=ip, user_agent=user_agent)
    session.commit()
    return SignedIn(user=user, token=token, csrf_token=row.csrf_token, expires_at=row.expires_at)


def _open_session(session: Session, *, user: User, ip: str, user_agent: str) -> tuple[str, AuthSession]:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = AuthSession(
        token_hash=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32), created_at=now,
        expires_at=now + timedelta(seconds=get_settings().session_max_age_seconds), last_seen_at=now,
        ip=ip, user_agent=user_agent[:500],
    )
    session.add(row)
    return token, row


def resolve_session(session: Session, *, token: str) -> tuple[User, AuthSession] | None:
    """The active user and session behind a session cookie, or None when it is unknown or expired."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(AuthSession).where(AuthSession.token_hash == _digest(token)))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


def use_is_due(last_used_at: datetime | None) -> bool:
    """Whether a use after ``last_used_at`` is worth writing down (once a minute at most)."""
    return last_used_at is None or utcnow() - last_used_at > USE_NOTED_EVERY


def touch_session(session: Session, *, auth_session_id: int) -> None:
    """Note that a session was used just now (at most once a minute, to keep writes rare)."""
    row = session.get(AuthSession, auth_session_id)
    if row is not None and use_is_due(row.last_seen_at):
        row.last_seen_at = utcnow()
        session.commit()


def csrf_matches(auth_session: AuthSession, submitted: str | None) -> bool:
    """Whether the CSRF token sent with a form or header is this session's."""
    return bool(submitted) and hmac.compare_digest(auth_session.csrf_token, submitted or "")


def sign_out(session: Session, *, token: str) -> None:
    """End the browser session behind ``token`` (nothing happens if it is unknown)."""
    session.execute(delete(AuthSession).where(AuthSession.token_hash == _digest(token)))
    session.commit()


def prune_sign_in_records(session: Session) -> None:
    """Forget expired sessions and old sign-in attempts (helper: the caller commits)."""
    now = utcnow()
    session.execute(delete(AuthSession).where(AuthSession.expires_at <= now))
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - timedelta(days=30)))


# API keys ------------------------------------------------------------------------------------------


def create_api_key(session: Session, *, name: str, role: Role, store_id: int | None = None,
                   created_by_id: int | None = None) -> tuple[ApiKey, str]:
    """Create an API key; returns the row and the key itself, which is never stored and shown only now."""
    if not name.strip():
        raise ValidationFailed("Give the API key a name that says who uses it.", code="invalid_name")
    _check_store_fits_role(session, role=role, store_id=store_id)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    row = ApiKey(name=name.strip(), prefix=prefix, key_hash=_digest(key), role=role, store_id=store_id,
                 created_by_id=created_by_id, created_at=utcnow())
    session.add(row)
    session.commit()
    return row, key


def resolve_api_key(session: Session, *, key: str) -> ApiKey | None:
    """The live API key matching ``key``, or None (a read only: ``touch_api_key`` records the use)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(key) > 200:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, _digest(key)):
        return None
    return row


def touch_api_key(session: Session, *, api_key_id: int) -> None:
    """Note that an API key was used just now (at most once a minute, to keep writes rare)."""
    row = session.get(ApiKey, api_key_id)
    if row is not None and use_is_due(row.last_used_at):
        row.last_used_at = utcnow()
        session.commit()


def principal_for_api_key(row: ApiKey) -> Principal:
    """The principal of an API key."""
    return Principal(kind="api_key", id=row.id, name=row.name, role=row.role, store_id=row.store_id)


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every API key, newest first (only prefixes, never the keys)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def revoke_api_key(session: Session, *, api_key_id: int) -> ApiKey:
    """Revoke an API key at once; clients using it get 401 from now on."""
    row = session.get(ApiKey, api_key_id)
    if row is None:
        raise NotFound(f"There is no API key {api_key_id}.", code="api_key_not_found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.commit()
    return row
