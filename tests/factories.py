"""Plain factory functions for test data shared by every domain's tests.

Each takes the session, fills in unique defaults, goes through the real services (so passwords are
Argon2-hashed and validation runs) and commits. Override any field by keyword.
"""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from xuyen.auth import service as auth_service
from xuyen.auth.models import Role, User
from xuyen.stores import service as stores_service
from xuyen.stores.models import Store

PASSWORD = "mật khẩu đủ dài 2026"  # the known password of every user made here

_sequence = itertools.count(1)


def make_store(session: Session, *, code: str | None = None, name: str | None = None,
               province: str = "Hồ Chí Minh", timezone: str = "Asia/Ho_Chi_Minh") -> Store:
    """A committed store with a unique code (``S001``, ``S002``…) unless one is given."""
    number = next(_sequence)
    return stores_service.create(session, code=code or f"S{number:03d}", name=name or f"Cửa hàng {number}",
                                 province=province, timezone=timezone)


def make_user(session: Session, *, role: Role = Role.agent, store: Store | None = None,
              email: str | None = None, name: str | None = None, password: str = PASSWORD,
              locale: str = "vi", is_active: bool = True) -> User:
    """A committed user whose password is ``PASSWORD`` unless one is given."""
    number = next(_sequence)
    user = auth_service.create_user(
        session, email=email or f"{role.value}{number}@shop.vn", name=name or f"Nhân viên {number}",
        password=password, role=role, store_id=store.id if store else None, locale=locale,
    )
    if not is_active:
        user.is_active = False
        session.commit()
    return user
