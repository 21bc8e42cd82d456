"""Loyalty's items on the customer timeline: every posting of the customer's points and stored value."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.loyalty.models import Posting


@timeline_provider("loyalty")
def loyalty_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                  limit: int) -> list[TimelineItem]:
    """The customer's postings as timeline items, newest first."""
    query = (select(Posting).where(Posting.profile_id.in_(profile_ids))
             .order_by(Posting.created_at.desc(), Posting.id.desc()).limit(limit))
    if before is not None:
        at, posting_id = before
        query = query.where(or_(Posting.created_at < at, and_(Posting.created_at == at, Posting.id < posting_id)))
    return [TimelineItem(at=posting.created_at, kind="loyalty", seq=posting.id, channel=None,
                         title=f"{posting.kind.value} {posting.amount} {posting.account.value}",
                         data={"posting": posting.kind.value, "account": posting.account.value,
                               "amount": posting.amount, "reference": posting.reference})
            for posting in session.scalars(query)]
