"""Event services: sources and their write keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.errors import NotFound, ValidationFailed
from xuyen.events.models import ChannelType, Source

WRITE_KEY_PREFIX = "wk"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_source(session: Session, *, name: str, channel: ChannelType, store_id: int | None = None) -> tuple[Source, str]:
    """Add a source; returns it and its write key, which is stored only as a hash (helper: caller commits)."""
    if not name.strip():
        raise ValidationFailed("A source needs a name, e.g. 'Website' or 'Shopee shop'.", code="invalid_source")
    prefix = secrets.token_hex(4)
    key = f"{WRITE_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"
    source = Source(name=name.strip(), channel=channel, store_id=store_id, write_key_prefix=prefix,
                    write_key_hash=_digest(key), is_active=True, created_at=utcnow())
    session.add(source)
    session.flush()
    return source, key


def create_source(session: Session, *, name: str, channel: ChannelType,
                  store_id: int | None = None) -> tuple[Source, str]:
    """Create a source; the write key is returned once and never again."""
    source, key = add_source(session, name=name, channel=channel, store_id=store_id)
    session.commit()
    return source, key


def resolve_write_key(session: Session, *, key: str) -> Source | None:
    """The active source whose write key is ``key``, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != WRITE_KEY_PREFIX:
        return None
    source = session.scalar(select(Source).where(Source.write_key_prefix == parts[1]))
    if source is None or not source.is_active or not hmac.compare_digest(source.write_key_hash, _digest(key)):
        return None
    return source


def list_sources(session: Session) -> list[Source]:
    """Every source, by channel then name."""
    return list(session.scalars(select(Source).order_by(Source.channel, Source.name)))


def get_source(session: Session, *, source_id: int) -> Source:
    """The source with ``source_id``."""
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"There is no source {source_id}.", code="source_not_found")
    return source
