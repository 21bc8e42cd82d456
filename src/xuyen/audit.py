"""The audit log: who looked at, exported, merged or erased whose data, and when.

Part of the frame so that every domain writes to one log; rows are only ever added.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class AuditEntry(Base):
    """One audited action: ``actor`` did ``action`` to ``subject_type`` ``subject_id``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id", "at"),
        Index("ix_audit_log_at", "at"),
    )


def record(session: Session, *, actor: str, action: str, subject_type: str, subject_id: str | int,
           detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry to the audit log in the current transaction (helper: the service commits)."""
    entry = AuditEntry(at=utcnow(), actor=actor, action=action, subject_type=subject_type,
                       subject_id=str(subject_id), detail=detail or {})
    session.add(entry)
    return entry


def list_entries(session: Session, *, subject_type: str | None = None, subject_id: str | int | None = None,
                 action: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest audit entries, optionally about one subject or of one action."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if subject_type is not None:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == str(subject_id))
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(session.scalars(query))
