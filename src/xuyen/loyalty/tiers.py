"""Tiers by spend: a customer's tier is the highest whose threshold their spend over the rolling window reaches.

Spend is what completed orders paid less what returns gave back, counted on the profile each order named, and
summed over every profile merged into the customer (so a merge adds two customers' spend up and its undoing splits
it again). The tier is recomputed on each completed or returned order, after merges, and nightly (spend leaves the
window). A change is an outbox event ``loyalty.tier_changed`` and a ``Loyalty Tier Changed`` track event in the
event log (through the ``Khách hàng thân thiết`` source; skipped for a profile with no identifiers). Joining the
lowest tier (a threshold of 0) on a first order is not a change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.events.service import record_on_profile
from xuyen.identity.graph import resolve_profile_id
from xuyen.identity.service import merged_profile_ids
from xuyen.loyalty.models import CustomerTier, SpendRecord, Tier
from xuyen.loyalty.programme import get_settings, list_tiers, tier_for_spend
from xuyen.outbox import emit

TIER_CHANGED_TOPIC = "loyalty.tier_changed"
TIER_CHANGED_EVENT = "Loyalty Tier Changed"
SOURCE_NAME = "Khách hàng thân thiết"


def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months earlier (the month's last day when shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))


def cluster_of(session: Session, *, profile_id: int) -> list[int]:
    """The surviving profile and every profile merged into it."""
    root = resolve_profile_id(session, profile_id=profile_id)
    return [root, *merged_profile_ids(session, profile_id=root)]


def spend_of(session: Session, *, profile_ids: list[int], since: datetime | None = None) -> int:
    """What the profiles spent (completed less returned), since ``since`` or ever."""
    query = select(func.coalesce(func.sum(SpendRecord.amount), 0)).where(SpendRecord.profile_id.in_(profile_ids))
    if since is not None:
        query = query.where(SpendRecord.at >= since)
    return int(session.scalar(query) or 0)


def window_start(session: Session, *, at: datetime) -> datetime:
    """Where the rolling window of tier spend starts, for a tier computed at ``at``."""
    return months_before(at, get_settings(session).tier_window_months)


def stored_tier(session: Session, *, profile_id: int) -> CustomerTier | None:
    """The tier last computed for the (surviving) profile."""
    return session.get(CustomerTier, profile_id)


def _locked_row(session: Session, profile_id: int) -> tuple[CustomerTier, bool]:
    """The profile's tier row, created empty when missing, locked; whether it was new."""
    existed = session.get(CustomerTier, profile_id) is not None
    if not existed:
        insert = postgresql.insert if is_postgres(session) else sqlite.insert
        now = utcnow()
        session.execute(insert(CustomerTier).values(profile_id=profile_id, tier_code=None, window_spend=0,
                                                    changed_at=now, computed_at=now)
                        .on_conflict_do_nothing(index_elements=["profile_id"]))
    query = select(CustomerTier).where(CustomerTier.profile_id == profile_id)
    if is_postgres(session):
        query = query.with_for_update()
    row = session.scalar(query.execution_options(populate_existing=True))
    assert row is not None
    return row, not existed


def recompute(session: Session, *, profile_id: int, at: datetime | None = None) -> CustomerTier:
    """Compute the customer's tier from their spend in the window and record a change (helper: no commit)."""
    now = at or utcnow()
    cluster = cluster_of(session, profile_id=profile_id)
    root = cluster[0]
    spend = spend_of(session, profile_ids=cluster, since=window_start(session, at=now))
    tiers = list_tiers(session)
    reached = tier_for_spend(tiers, spend)
    row, new = _locked_row(session, root)
    row.window_spend, row.computed_at = spend, now
    code = reached.code if reached else None
    if row.tier_code != code:
        previous_code = row.tier_code
        previous = next((tier for tier in tiers if tier.code == previous_code), None)
        joining = new and reached is not None and reached.min_spend == 0
        row.tier_code, row.changed_at = code, now
        if not joining:
            _announce(session, profile_id=root, previous=previous, previous_code=previous_code, reached=reached,
                      spend=spend, at=now)
    session.flush()
    return row


def _announce(session: Session, *, profile_id: int, previous: Tier | None, previous_code: str | None,
              reached: Tier | None, spend: int, at: datetime) -> None:
    payload = {"profile_id": profile_id, "previous_tier": previous_code,
               "previous_tier_name": previous.name if previous else None,
               "tier": reached.code if reached else None, "tier_name": reached.name if reached else None,
               "window_spend": spend, "at": at.astimezone(UTC).isoformat()}
    event = emit(session, topic=TIER_CHANGED_TOPIC, aggregate_type="profile", aggregate_id=profile_id,
                 payload=payload)
    session.flush()
    record_on_profile(session, source_name=SOURCE_NAME, event=TIER_CHANGED_EVENT,
                      message_id=f"loyalty-tier:{profile_id}:{event.id}", profile_id=profile_id, at=at,
                      properties={key: value for key, value in payload.items() if key not in {"profile_id", "at"}})




def recompute_all(session: Session, *, at: datetime | None = None, batch: int = 500) -> int:
    """Recompute every customer who ever completed an order: spend leaves the window as time passes, and tiers
    may have been added or their thresholds changed; how many changed (helper: no commit)."""
    changed, after = 0, -1
    while True:
        rows = list(session.execute(select(CustomerTier.profile_id, CustomerTier.tier_code)
                                    .where(CustomerTier.profile_id > after)
                                    .order_by(CustomerTier.profile_id).limit(batch)))
        if not rows:
            return changed
        for profile_id, code in rows:
            if resolve_profile_id(session, profile_id=profile_id) != profile_id:
                continue  # merged away: the survivor holds the tier
            if recompute(session, profile_id=profile_id, at=at).tier_code != code:
                changed += 1
        after = rows[-1][0]
