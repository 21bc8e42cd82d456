"""Store services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.stores.models import Store


def get(session: Session, *, store_id: int) -> Store:
    """The store with ``store_id``."""
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"There is no store {store_id}.", code="store_not_found")
    return store


def get_by_code(session: Session, *, code: str) -> Store:
    """The store with ``code`` (any case)."""
    store = session.scalar(select(Store).where(Store.code == code.strip().upper()))
    if store is None:
        known = ", ".join(session.scalars(select(Store.code).order_by(Store.code))) or "none yet"
        raise NotFound(f"There is no store with code {code!r} (known: {known}).", code="store_not_found")
    return store


def list_all(session: Session, *, active_only: bool = False) -> list[Store]:
    """Every store, by name."""
    query = select(Store).order_by(Store.name)
    if active_only:
        query = query.where(Store.is_active.is_(True))
    return list(session.scalars(query))


def add(session: Session, *, code: str, name: str, province: str, address: str = "", phone: str = "",
        latitude: float | None = None, longitude: float | None = None,
        timezone: str = "Asia/Ho_Chi_Minh") -> Store:
    """Add a store to the session's transaction (helper: the caller commits)."""
    code = code.strip().upper()
    if not code or not name.strip():
        raise ValidationFailed("A store needs a code and a name.", code="invalid_store")
    if session.scalar(select(Store.id).where(Store.code == code)) is not None:
        raise Conflict(f"A store with code {code} already exists.", code="store_exists")
    store = Store(code=code, name=name.strip(), province=province.strip(), address=address, phone=phone,
                  latitude=latitude, longitude=longitude, timezone=timezone, is_active=True, created_at=utcnow())
    session.add(store)
    session.flush()
    return store


def create(session: Session, *, code: str, name: str, province: str, address: str = "", phone: str = "",
           latitude: float | None = None, longitude: float | None = None,
           timezone: str = "Asia/Ho_Chi_Minh") -> Store:
    """Create a store."""
    store = add(session, code=code, name=name, province=province, address=address, phone=phone,
                latitude=latitude, longitude=longitude, timezone=timezone)
    session.commit()
    return store
