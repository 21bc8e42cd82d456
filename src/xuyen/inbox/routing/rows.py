"""Small database helpers the routing modules share: an insert that leaves an existing row alone, and who may
be named (active staff)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.auth.service import get_user, list_users
from xuyen.db import Base, is_postgres
from xuyen.errors import NotFound, ValidationFailed


def insert_new(session: Session, model: type[Base], *, keys: list[str], values: dict[str, Any]) -> bool:
    """Insert a row unless one with the same ``keys`` exists (then nothing happens, whoever wrote it first,
    even in a concurrent transaction); whether it was inserted (helper: no commit)."""
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    statement = (insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
                 .returning(getattr(model, keys[0])))
    return session.execute(statement).first() is not None


def active_user(session: Session, *, user_id: int) -> User:
    """The active staff user ``user_id``; 422 when there is none or they can no longer sign in."""
    try:
        user = get_user(session, user_id=user_id)
    except NotFound as exc:
        raise ValidationFailed(f"There is no user {user_id}; the Staff page lists them.",
                               code="user_not_found") from exc
    if not user.is_active:
        raise ValidationFailed(f"{user.name} can no longer sign in; choose someone else.", code="user_inactive")
    return user


def active_users(session: Session) -> list[User]:
    """Every staff user who can sign in, by name."""
    return [user for user in list_users(session) if user.is_active]
