"""The messaging policy's sections of the person export: the messages recorded as sent to the person (channel,
purpose, campaign, when, when they replied), how they engage on each channel, and their suppression entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.customers.exports import export_section
from xuyen.journeys.policy.models import ChannelEngagement, PolicySend, Suppression


@export_section("messaging_sends")
def messaging_sends(session: Session, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every message the policy counted as sent to the person, oldest first."""
    rows = session.scalars(select(PolicySend).where(PolicySend.profile_id.in_(profile_ids))
                           .order_by(PolicySend.sent_at, PolicySend.id))
    return [{"channel": row.channel, "purpose": row.purpose, "campaign_key": row.campaign_key,
             "sent_at": row.sent_at.isoformat(), "replied_at": row.replied_at.isoformat() if row.replied_at else None}
            for row in rows]


@export_section("messaging_engagement")
def messaging_engagement(session: Session, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Per channel, how many messages the person received, opened, clicked and replied to."""
    rows = session.scalars(select(ChannelEngagement).where(ChannelEngagement.profile_id.in_(profile_ids))
                           .order_by(ChannelEngagement.channel, ChannelEngagement.profile_id))
    return [{"channel": row.channel, "received": row.received, "opened": row.opened, "clicked": row.clicked,
             "replied": row.replied} for row in rows]


@export_section("messaging_suppressions")
def messaging_suppressions(session: Session, profile_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The person's entries on the suppression list (by their profile)."""
    rows = session.scalars(select(Suppression).where(Suppression.kind == "profile",
                                                     Suppression.value.in_([str(p) for p in profile_ids]))
                           .order_by(Suppression.id))
    return [{"reason": row.reason, "source": row.source, "created_at": row.created_at.isoformat()} for row in rows]
