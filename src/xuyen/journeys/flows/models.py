"""Journey tables: the journeys with their editable draft, the published versions (never changed once published),
the enrolments of customers (each pinned to the version it entered), the log of the steps they took, and the
messages the send steps queued (measured per node)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


def _enum(kind: type[enum.Enum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, validate_strings=True)


class JourneyStatus(enum.StrEnum):
    draft = "draft"  # never published
    live = "live"  # takes new entrants; its enrolments move on
    paused = "paused"  # no new entrants; enrolments wait where they are
    archived = "archived"  # finished: no entrants, enrolments ended


class EnrolmentStatus(enum.StrEnum):
    active = "active"
    completed = "completed"  # reached an exit or a step with no next
    goal = "goal"  # reached the journey's goal
    exited = "exited"  # left early: the filter no longer held, the journey was archived, the customer was erased
    holdout = "holdout"  # held out: receives nothing, measured against the others


class Journey(Base):
    """A flow customers enter by a trigger. ``draft`` is the definition being edited; ``live_version`` the number
    of the version new entrants follow (None before the first publication)."""

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[JourneyStatus] = mapped_column(_enum(JourneyStatus), default=JourneyStatus.draft)
    draft: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    live_version: Mapped[int | None] = mapped_column(Integer)
    trigger_kind: Mapped[str] = mapped_column(String(32), default="")  # of the live version, for quick lookups
    trigger_key: Mapped[str] = mapped_column(String(200), default="")  # its event name or segment id
    secret: Mapped[str] = mapped_column(String(64))  # signs the webhook calls of its steps
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_journeys_trigger", "status", "trigger_kind", "trigger_key"),)


class JourneyVersion(Base):
    """One published definition of a journey."""

    __tablename__ = "journey_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    published_by: Mapped[str] = mapped_column(String(200), default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("journey_id", "number"),)


class Enrolment(Base):
    """One customer's passage through a journey version.

    ``node`` is the step the customer is at and ``visit`` counts the moves made: the job that runs a step carries
    the visit it was queued for and does nothing when the enrolment moved on meanwhile, so a job run twice, or
    overtaken by the goal, acts once. ``entry_key`` makes the entry policy hold under races (one per journey and
    customer, or one per entry when re-entry is allowed). ``waiting_for`` names the event a wait step waits for,
    ``wake_at`` when a delay, a deferred send or a wait's timeout is due.
    """

    __tablename__ = "journey_enrolments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("journey_versions.id", ondelete="CASCADE"))
    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[EnrolmentStatus] = mapped_column(_enum(EnrolmentStatus), default=EnrolmentStatus.active)
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    node: Mapped[str | None] = mapped_column(String(32))
    visit: Mapped[int] = mapped_column(Integer, default=0)
    waiting_for: Mapped[str | None] = mapped_column(String(200))
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # the trigger event, the coupon code
    exit_reason: Mapped[str] = mapped_column(String(64), default="")
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revenue: Mapped[int] = mapped_column(BigId, default=0)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_journey_enrolments_profile", "profile_id", "status"),
                      Index("ix_journey_enrolments_journey", "journey_id", "status", "node"),
                      Index("ix_journey_enrolments_waiting", "waiting_for", "status"))


class JourneyStep(Base):
    """One move of an enrolment: the step it ran and what came of it (``outcome``: ``done``, ``sent``,
    ``skipped``, ``deferred``, ``yes``/``no``, ``timeout``, a split's branch label …). One row per visit."""

    __tablename__ = "journey_steps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enrolment_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey_enrolments.id", ondelete="CASCADE"))
    journey_id: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(32))
    visit: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("enrolment_id", "visit"),
                      Index("ix_journey_steps_node", "journey_id", "node", "outcome"))


class JourneySend(Base):
    """A message a send step queued (through the inbox, so it sits in the customer's conversation), with what
    became of it: delivery, opens, clicks, replies, and a conversion within the journey's window. ``routes``
    keeps the channels left to fall back on when this one fails."""

    __tablename__ = "journey_sends"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enrolment_id: Mapped[int] = mapped_column(BigId, ForeignKey("journey_enrolments.id", ondelete="CASCADE"))
    journey_id: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(32))
    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    template_id: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(BigId, index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued, sent, delivered, read, failed
    error: Mapped[str] = mapped_column(Text, default="")
    routes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revenue: Mapped[int] = mapped_column(BigId, default=0)

    __table_args__ = (Index("ix_journey_sends_node", "journey_id", "node"),
                      Index("ix_journey_sends_profile", "profile_id", "sent_at"))
