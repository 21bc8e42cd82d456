"""Lead scoring tables: the rules a manager edits, and the one row of scoring settings (the decay)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, UTCDateTime


class RuleKind(enum.StrEnum):
    """Behaviour rules score what the person does; fit rules score who they are."""

    behaviour = "behaviour"
    fit = "fit"


class CapPeriod(enum.StrEnum):
    """The window a behaviour rule's cap counts in (calendar day, ISO week, month in the shop's time zone)."""

    day = "day"
    week = "week"
    month = "month"
    ever = "ever"


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda members: [m.value for m in members])


class ScoringRule(Base):
    """One scoring rule.

    A behaviour rule gives ``points`` for every event named ``event`` in the lead's event log (``Page Viewed``
    stands for page calls), when ``property_key`` is empty or the event's property equals ``property_value``
    (case and diacritics ignored); at most ``cap_points`` per ``cap_period``. A fit rule gives ``points`` once when
    the lead's ``attribute`` meets ``op`` ``value`` (see ``xuyen.sales.scoring.rules``).
    """

    __tablename__ = "sales_scoring_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[RuleKind] = mapped_column(_enum(RuleKind))
    name: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(200), default="")
    property_key: Mapped[str] = mapped_column(String(100), default="")
    property_value: Mapped[str] = mapped_column(String(200), default="")
    cap_points: Mapped[int | None] = mapped_column(Integer)
    cap_period: Mapped[CapPeriod | None] = mapped_column(_enum(CapPeriod))
    attribute: Mapped[str] = mapped_column(String(120), default="")
    op: Mapped[str] = mapped_column(String(16), default="")
    value: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoringSettings(Base):
    """The scoring settings (one row, id 1): behaviour points halve every ``half_life_days``."""

    __tablename__ = "sales_scoring_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    half_life_days: Mapped[int] = mapped_column(Integer, default=30)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
