"""The tables of RFM and predicted customer value: each customer's latest scores, and every nightly fit of the
model with its parameters."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, UTCDateTime


class CustomerScore(Base):
    """A customer's RFM scores and group, and what the value model predicts for them (empty when no model could
    be fitted), as of the last refresh. One row per surviving customer who has bought."""

    __tablename__ = "analytics_customer_scores"
    __table_args__ = (Index("ix_analytics_customer_scores_group", "rfm_group"),)

    profile_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    as_of: Mapped[date] = mapped_column(Date)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[int] = mapped_column(BigInteger)
    r_score: Mapped[int] = mapped_column(Integer)
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    fm_score: Mapped[int] = mapped_column(Integer)
    rfm_group: Mapped[str] = mapped_column(String(32))
    expected_purchases: Mapped[float | None] = mapped_column(Float)
    probability_alive: Mapped[float | None] = mapped_column(Float)
    predicted_value: Mapped[int | None] = mapped_column(BigInteger)
    horizon_days: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ValueModelFit(Base):
    """One fit of the value model: when, on what data, with which parameters (time in days), or why it could not
    be fitted (``status`` ``not_enough_data``)."""

    __tablename__ = "analytics_value_fits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    customers: Mapped[int] = mapped_column(Integer, default=0)
    repeaters: Mapped[int] = mapped_column(Integer, default=0)
    horizon_days: Mapped[int] = mapped_column(Integer)
    r: Mapped[float | None] = mapped_column(Float)
    alpha: Mapped[float | None] = mapped_column(Float)
    a: Mapped[float | None] = mapped_column(Float)
    b: Mapped[float | None] = mapped_column(Float)
    log_likelihood: Mapped[float | None] = mapped_column(Float)
    spend_model: Mapped[str] = mapped_column(String(32), default="")
    p: Mapped[float | None] = mapped_column(Float)
    q: Mapped[float | None] = mapped_column(Float)
    gamma: Mapped[float | None] = mapped_column(Float)
