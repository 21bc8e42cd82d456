"""The customer's deals on their timeline: one item per stage change (opened, moved, won, lost), of the deals the
viewer may see by the sales scope rule, as the deals list shows them.

The deals' Segment-style events in the event log ("Deal Won"…) are left out of the timeline's event items: these
items show the same changes, and only to those who may see the deal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from xuyen.auth.service import Principal
from xuyen.customers.timeline import TimelineItem, scoped_timeline_provider
from xuyen.events.profiles import shown_elsewhere_on_timeline
from xuyen.sales.deals.announce import SOURCE_NAME
from xuyen.sales.deals.models import Deal, Stage, StageChange
from xuyen.sales.scope import scope_of, visible

MAX_CHANGE_ID = 2**31 - 1

shown_elsewhere_on_timeline(SOURCE_NAME)


@scoped_timeline_provider("deal")
def deal_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
               limit: int, viewer: Principal | None) -> list[TimelineItem]:
    """The stage changes of the customer's deals ``viewer`` may see, as timeline items, newest first."""
    target = aliased(Stage)
    query = (select(StageChange, Deal, target).join(Deal, Deal.id == StageChange.deal_id)
             .join(target, target.id == StageChange.to_stage_id)
             .where(Deal.profile_id.in_(list(profile_ids)))
             .order_by(StageChange.at.desc(), StageChange.id.desc()).limit(limit))
    if viewer is not None:
        scope = scope_of(session, principal=viewer)
        query = query.where(visible(scope, owner=Deal.owner_id, store=Deal.store_id, team=Deal.team_id))
    if before is not None:
        at, change_id = before[0], min(before[1], MAX_CHANGE_ID)
        query = query.where(or_(StageChange.at < at, and_(StageChange.at == at, StageChange.id < change_id)))
    return [TimelineItem(at=change.at, kind="deal", seq=change.id, channel=None,
                         title=f"{deal.title} · {stage.name}",
                         data={"deal_id": deal.id, "stage": stage.name, "status": stage.kind.value,
                               "value": deal.value, "currency": "VND", "opened": change.from_stage_id is None})
            for change, deal, stage in session.execute(query)]
