"""Where a customer can be reached, for other domains deciding where to write: each contact point that has not
opted out, on a channel that is not disabled, with when its free-text reply window closes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.channels.registry import adapters
from xuyen.identity.graph import resolve_profile_id
from xuyen.inbox.models import Channel, ChannelStatus, ContactPoint


@dataclass(frozen=True)
class Reach:
    """One way to write to the customer: the channel's kind and id, their address there, when they last wrote,
    and (for channels with a reply window) until when free text may be sent; ``window`` False: no window."""

    channel_kind: str
    channel_id: int
    address_type: str
    address: str
    last_inbound_at: datetime | None
    window: bool
    window_open_until: datetime | None


def reachable_points(session: Session, *, profile_id: int) -> list[Reach]:
    """Every channel the customer (or the profile merged into) can be written to on, newest contact first."""
    root = resolve_profile_id(session, profile_id=profile_id)
    return reachable_points_of(session, roots=[root])[root]


def reachable_points_of(session: Session, *, roots: Collection[int]) -> dict[int, list[Reach]]:
    """``reachable_points`` of many surviving profiles at once (ids that are not survivors find nothing)."""
    rows = session.execute(select(ContactPoint, Channel).join(Channel, Channel.id == ContactPoint.channel_id)
                           .where(ContactPoint.profile_id.in_(sorted(roots)), ContactPoint.opted_out_at.is_(None),
                                  Channel.status != ChannelStatus.disabled)
                           .order_by(ContactPoint.last_inbound_at.desc().nulls_last(), ContactPoint.id)).all()
    known = adapters()
    found: dict[int, list[Reach]] = {root: [] for root in roots}
    for point, channel in rows:
        adapter = known.get(channel.kind)
        window = adapter.capabilities.reply_window if adapter is not None else None
        until = point.last_inbound_at + window if window is not None and point.last_inbound_at else None
        found[point.profile_id].append(Reach(channel_kind=channel.kind, channel_id=channel.id,
                                             address_type=point.type, address=point.value,
                                             last_inbound_at=point.last_inbound_at, window=window is not None,
                                             window_open_until=until))
    return found
