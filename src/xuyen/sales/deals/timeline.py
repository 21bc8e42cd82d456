"""The customer's deals on their timeline: one item per stage change (opened, moved, won, lost) and one per change
of a deal's custom fields, of the deals the viewer may see by the sales scope rule, as the deals list shows them.

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
from xuyen.fields.timeline import change_items
from xuyen.sales.custom_fields import DEAL
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


@scoped_timeline_provider("deal_field")
def deal_field_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                     limit: int, viewer: Principal | None) -> list[TimelineItem]:
    """The custom field changes of the customer's deals ``viewer`` may see, as timeline items, newest first."""
    deals = select(Deal.id).where(Deal.profile_id.in_(list(profile_ids)))
    if viewer is not None:
        scope = scope_of(session, principal=viewer)
        deals = deals.where(visible(scope, owner=Deal.owner_id, store=Deal.store_id, team=Deal.team_id))
    items = change_items(session, entity=DEAL, entity_ids=deals, before=before, limit=limit, kind="deal_field")
    wanted = sorted({int(item.data["entity_id"]) for item in items})
    titles = {deal_id: title for deal_id, title in session.execute(select(Deal.id, Deal.title)
                                                                   .where(Deal.id.in_(wanted)))}
    return [TimelineItem(at=item.at, kind=item.kind, seq=item.seq, channel=None,
                         title=f"{titles.get(item.data['entity_id'], '')} · {item.title}", source=item.source,
                         data={**item.data, "deal_id": item.data["entity_id"], "fields_title": item.title,
                               "deal_title": titles.get(item.data["entity_id"], "")})
            for item in items]
