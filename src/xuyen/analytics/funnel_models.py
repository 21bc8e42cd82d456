"""The funnel's own table: the editable rule of each stage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, JSONType, UTCDateTime


class FunnelStageRule(Base):
    """The editable rule of one stage of the customer-journey funnel: the events that put a customer in it.
    With no row for a stage, the built-in default of ``xuyen.analytics.funnel_rules`` applies."""

    __tablename__ = "analytics_funnel_stages"

    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    matchers: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
