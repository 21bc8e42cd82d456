"""Message template tables: the template as it is now, and every version it had.

``variants`` holds one entry per channel the template can be sent on (see ``variants.py`` for the shape):
``email`` (subject, html, text), ``sms`` (text, strip_accents), ``zns`` (Zalo's approved template id and
each of its parameters' expression and length limit), ``messenger`` and ``zalo_oa`` (text). Each save adds a
row to ``message_template_versions``, so an edit never changes what an earlier send was rendered from, and
``version`` lets an edit refuse to overwrite a change it did not see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.db import Base, JSONType, UTCDateTime

PURPOSES = ("marketing", "transactional", "care")


class MessageTemplate(Base):
    """A message a journey or a campaign sends, written once per channel."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    variants: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("name_folded", name="uq_message_templates_name_folded"),)

    @property
    def channels(self) -> list[str]:
        """The channels this template has a variant for."""
        return list(self.variants)


class MessageTemplateVersion(Base):
    """One saved state of a template: what it was from ``created_at`` until the next version."""

    __tablename__ = "message_template_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("message_templates.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(16))
    variants: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        UniqueConstraint("template_id", "version", name="uq_message_template_versions_version"),
        Index("ix_message_template_versions_template", "template_id"),
    )
