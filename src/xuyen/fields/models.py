"""Custom field tables: the definitions, their options, the values (typed columns) and the change log.

Values are stored one row per (field, entity record) in typed columns, so that comparisons and sorting use the
database's own types on SQLite and PostgreSQL alike: ``value_text`` (and ``value_folded``, lower-case without
diacritics, for "contains"), ``value_number`` (Numeric), ``value_date`` (Date). A choice is one row whose
``option_key`` names the option; a multi-choice is one row per chosen option. That makes "any of" an indexed
``option_key IN (...)`` on both databases, with no JSON functions that differ between them.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xuyen.db import Base, BigId, JSONType, UTCDateTime

ENTITIES = ("customer", "lead", "deal")
KINDS = ("text", "number", "date", "choice", "multi_choice")
CHOICE_KINDS = ("choice", "multi_choice")
NUMBER_PRECISION, NUMBER_SCALE = 18, 4


class CustomField(Base):
    """One field the business added to an entity: its key (immutable), labels, kind, and place in forms."""

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    label_vi: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    options: Mapped[list[CustomFieldOption]] = relationship(
        back_populates="field", order_by="CustomFieldOption.position", cascade="all, delete-orphan",
        lazy="selectin")

    __table_args__ = (
        UniqueConstraint("entity", "key", name="uq_custom_fields_entity_key"),
        Index("ix_custom_fields_entity_position", "entity", "position"),
    )

    def label(self, locale: str) -> str:
        """The label in ``locale`` (vi or en), falling back to the Vietnamese one."""
        return (self.label_en if locale == "en" else "") or self.label_vi

    @property
    def archived(self) -> bool:
        """Whether the field is archived (hidden from forms; its values are kept)."""
        return self.archived_at is not None


class CustomFieldOption(Base):
    """One option of a choice or multi-choice field; a retired option is kept so stored values keep meaning."""

    __tablename__ = "custom_field_options"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    label_vi: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    field: Mapped[CustomField] = relationship(back_populates="options")

    __table_args__ = (UniqueConstraint("field_id", "key", name="uq_custom_field_options_field_key"),)

    def label(self, locale: str) -> str:
        """The label in ``locale`` (vi or en), falling back to the Vietnamese one."""
        return (self.label_en if locale == "en" else "") or self.label_vi


class CustomFieldValue(Base):
    """A value of one field for one record (a customer profile, a lead, a deal), in the column of its kind.

    ``option_key`` is empty for text, number and date values; a multi-choice value is one row per option.
    """

    __tablename__ = "custom_field_values"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    field_id: Mapped[int] = mapped_column(ForeignKey("custom_fields.id", ondelete="CASCADE"))
    option_key: Mapped[str] = mapped_column(String(64), default="")
    value_text: Mapped[str | None] = mapped_column(Text)
    value_folded: Mapped[str | None] = mapped_column(Text)
    value_number: Mapped[Decimal | None] = mapped_column(Numeric(NUMBER_PRECISION, NUMBER_SCALE))
    value_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("field_id", "entity_id", "option_key", name="uq_custom_field_values_one"),
        Index("ix_custom_field_values_entity", "entity", "entity_id"),
        Index("ix_custom_field_values_number", "field_id", "value_number"),
        Index("ix_custom_field_values_date", "field_id", "value_date"),
        Index("ix_custom_field_values_option", "field_id", "option_key"),
    )


class CustomFieldChange(Base):
    """A set of values changed together on one record: who, when, and each field's value before and after."""

    __tablename__ = "custom_field_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_custom_field_changes_entity", "entity", "entity_id", "at"),)
