"""Messaging policy tables: the settings (one row), the suppression list, the ledger of sends (caps and one message
per campaign) and the engagement counters per customer and channel (channel choice)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class PolicySettings(Base):
    """The policy's settings, one row (``id`` 1); absent until a manager first changes them (defaults apply).

    ``allowed_from``/``allowed_until`` are minutes after local midnight between which capped messages may go out
    (``allowed_until`` may be smaller than ``allowed_from``: a window across midnight); ``channel_caps`` maps a
    channel to ``{"limit", "hours"}``; ``quiet_exempt`` and ``capped_purposes`` list purposes.
    """

    __tablename__ = "messaging_policy_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    allowed_from: Mapped[int] = mapped_column(Integer)
    allowed_until: Mapped[int] = mapped_column(Integer)
    total_limit: Mapped[int] = mapped_column(Integer)
    total_hours: Mapped[int] = mapped_column(Integer)
    channel_caps: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    channel_order: Mapped[list[str]] = mapped_column(JSONType, default=list)
    capped_purposes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    quiet_exempt: Mapped[list[str]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class Suppression(Base):
    """A profile, phone (E.164) or e-mail (lower-case) nothing is sent to, with why and where it came from
    (``manual``, ``bounce``, ``unsubscribe``, ``complaint``)."""

    __tablename__ = "messaging_suppressions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(32), default="manual")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("kind", "value"),)


class PolicySend(Base):
    """One message sent under the policy: to whom, on which channel, for what purpose, in which campaign.

    Counted by the frequency caps over rolling windows (``counted``: the purpose was capped when it was sent);
    ``campaign_key`` is unique per customer, so a customer in several segments of a campaign gets it once.
    """

    __tablename__ = "messaging_sends"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    campaign_key: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the customer first replied on the channel after this message (each message counts one reply at most).
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("profile_id", "campaign_key"),
                      Index("ix_messaging_sends_profile_sent", "profile_id", "sent_at"))


class ChannelEngagement(Base):
    """How a customer answers messages on one channel: how many they were sent, and how many they opened,
    clicked or replied to. ``engaged / received`` ranks channels when the customer has no preference."""

    __tablename__ = "messaging_engagement"

    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    clicked: Mapped[int] = mapped_column(Integer, default=0)
    replied: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
