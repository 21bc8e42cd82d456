"""Customer tables: the materialised customer row per profile (for lists, search and matching)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.db import Base, BigId, JSONType, UTCDateTime


class CustomerProfile(Base):
    """One customer as shown and searched: a profile's effective traits and contact points, kept up to date
    from the event log for every profile that has not been merged into another.

    ``name_folded`` is the display name without diacritics, lower-case (for search and matching);
    ``phones``, ``emails`` and ``user_ids`` are normalised values from the identity graph.
    """

    __tablename__ = "customer_profiles"

    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    name_folded: Mapped[str] = mapped_column(String(300), default="")
    family_name: Mapped[str] = mapped_column(String(200), default="")
    given_name: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(32), default="")
    phones: Mapped[list[str]] = mapped_column(JSONType, default=list)
    emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    user_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    address: Mapped[str] = mapped_column(Text, default="")
    province_code: Mapped[str] = mapped_column(String(16), default="")
    ward_code: Mapped[str] = mapped_column(String(16), default="")
    # The address read into today's units: status, current and old codes, candidates, the mapping's version.
    address_parsed: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    traits: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    computed: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    first_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_customer_profiles_name_folded", "name_folded"),
        Index("ix_customer_profiles_last_seen", "last_seen_at"),
    )


class CustomerConsent(Base):
    """A customer's current consent for one channel and purpose, as the latest ``Consent Updated`` call said.

    ``status`` is ``granted`` or ``withdrawn``; ``blocked_erased`` when a grant arrived by import for a person
    who had asked to be erased (they must give it again themselves). ``proof`` holds what shows the consent
    was given: the wording or form, the source, the message id, IP address and user agent where known.
    """

    __tablename__ = "customer_consents"

    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(BigId)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proof: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ErasedIdentity(Base):
    """The salted hash of an identifier whose owner was erased: all that is kept of them, so that a later
    import does not bring them back with marketing consent."""

    __tablename__ = "erased_identities"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erasure_id: Mapped[int] = mapped_column(ForeignKey("customer_erasures.id", ondelete="CASCADE"), index=True)


class CustomerErasure(Base):
    """A person erased on request: when, by whom, why, and how much was removed (never what)."""

    __tablename__ = "customer_erasures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    profile_id: Mapped[int] = mapped_column(BigId, ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime)
