"""The customer's deals on their timeline: one item per stage change (opened, moved, won, lost)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.sales.deals.models import Deal, Stage, StageChange

MAX_CHANGE_ID = 2**31 - 1


@timeline_provider("deal")
def deal_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
               limit: int) -> list[TimelineItem]:
    """The customer's deals' stage changes as timeline items, newest first."""
    target = aliased(Stage)
    query = (select(StageChange, Deal, target).join(Deal, Deal.id == StageChange.deal_id)
             .join(target, target.id == StageChange.to_stage_id)
             .where(Deal.profile_id.in_(list(profile_ids)))
             .order_by(StageChange.at.desc(), StageChange.id.desc()).limit(limit))
    if before is not None:
        at, change_id = before[0], min(before[1], MAX_CHANGE_ID)
        query = query.where(or_(StageChange.at < at, and_(StageChange.at == at, StageChange.id < change_id)))
    return [TimelineItem(at=change.at, kind="deal", seq=change.id, channel=None,
                         title=f"{deal.title} · {stage.name}",
                         data={"deal_id": deal.id, "stage": stage.name, "status": stage.kind.value,
                               "value": deal.value, "currency": "VND", "opened": change.from_stage_id is None})
            for change, deal, stage in session.execute(query)]
