"""CSAT tables: the survey settings (one row) and one response row per survey a resolved conversation gave rise
to, sent or not, answered or not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, UTCDateTime

DEFAULT_SURVEY_TEXT = "Cảm ơn anh/chị đã liên hệ với shop! Anh/chị chấm điểm cuộc trò chuyện giúp shop nhé: {link}"
DEFAULT_EXPIRY_DAYS = 7
DEFAULT_REPLY_HOURS = 24


class SurveySettings(Base):
    """How the survey goes out: its text (with ``{link}``), how long its link works, how long a digit reply on a
    chat channel counts as the rating, and whether surveys go out at all. One row (id 1)."""

    __tablename__ = "csat_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    survey_text: Mapped[str] = mapped_column(Text, default=DEFAULT_SURVEY_TEXT)
    expiry_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_EXPIRY_DAYS)
    reply_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_REPLY_HOURS)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Response(Base):
    """One survey of a resolved conversation: where it went (or why it did not), and the customer's rating.

    ``event_id`` is the status change that resolved the conversation: one survey per resolution, however often
    the event is delivered.
    """

    __tablename__ = "csat_responses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("inbox_conversations.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_channels.id", ondelete="SET NULL"))
    channel_kind: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_messages.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    not_sent_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_via: Mapped[str | None] = mapped_column(String(16))  # page | reply
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_1_to_5"),
        Index("ix_csat_responses_conversation", "conversation_id", "created_at"),
        Index("ix_csat_responses_resolved_at", "resolved_at"),
    )

    @property
    def status(self) -> str:
        """not_sent, sent (waiting for an answer), answered."""
        if self.answered_at is not None:
            return "answered"
        return "sent" if self.sent_at is not None else "not_sent"
