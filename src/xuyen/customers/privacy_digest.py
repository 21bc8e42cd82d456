"""The salted hashes that are all Xuyên keeps of an erased person's identifiers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.config import get_settings
from xuyen.customers.models import ErasedIdentity


def _salt() -> bytes:
    settings = get_settings()
    salt = settings.privacy_salt.get_secret_value()
    if salt:
        return salt.encode()
    return hashlib.sha256(b"xuyen-privacy-salt:" + settings.secret_key.get_secret_value().encode()).digest()


def identifier_digest(kind: str, scope: str, value: str) -> str:
    """The salted hash of one normalised identifier."""
    message = f"{kind}\x1f{scope}\x1f{value}".encode()
    return hmac.new(_salt(), message, hashlib.sha256).hexdigest()


def erased_digests(session: Session, *, digests: Iterable[str]) -> set[str]:
    """Which of these identifier digests belonged to a person who was erased."""
    wanted = sorted(set(digests))
    if not wanted:
        return set()
    return set(session.scalars(select(ErasedIdentity.digest).where(ErasedIdentity.digest.in_(wanted))))


def erased_among(session: Session, *, identifiers: Iterable[tuple[str, str, str]]) -> bool:
    """Whether any of the (type, scope, value) identifiers belonged to a person who was erased."""
    digests = [identifier_digest(*identifier) for identifier in identifiers]
    if not digests:
        return False
    return session.scalar(select(ErasedIdentity.digest).where(ErasedIdentity.digest.in_(digests)).limit(1)) is not None
