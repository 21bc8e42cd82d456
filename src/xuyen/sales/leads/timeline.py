"""Leads on the customer timeline: every capture of the customer's lead, with its source and campaign, and every
change of the lead's custom fields, when the viewer may see the lead by the sales scope rule (as the leads list
shows them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from xuyen.auth.service import Principal
from xuyen.customers.timeline import TimelineItem, scoped_timeline_provider
from xuyen.fields.timeline import change_items
from xuyen.sales.custom_fields import LEAD
from xuyen.sales.leads.models import Lead, LeadCapture
from xuyen.sales.scope import scope_of, visible


def _seen_by(session: Session, viewer: Principal | None) -> list[ColumnElement[bool]]:
    """The clause keeping the leads ``viewer`` may see (none: every lead, for the system's own reads)."""
    if viewer is None:
        return []
    return [visible(scope_of(session, principal=viewer), owner=Lead.owner_id, store=Lead.store_id,
                    team=Lead.team_id)]


@scoped_timeline_provider("lead")
def lead_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
               limit: int, viewer: Principal | None) -> list[TimelineItem]:
    """The captures of the customer's lead ``viewer`` may see, as timeline items, newest first."""
    query = (select(LeadCapture, Lead.status).join(Lead, Lead.id == LeadCapture.lead_id)
             .where(Lead.profile_id.in_(profile_ids), *_seen_by(session, viewer))
             .order_by(LeadCapture.captured_at.desc(), LeadCapture.id.desc()).limit(limit))
    if before is not None:
        at, capture_id = before
        query = query.where(or_(LeadCapture.captured_at < at,
                                and_(LeadCapture.captured_at == at, LeadCapture.id < capture_id)))
    return [TimelineItem(at=capture.captured_at, kind="lead", seq=capture.id, channel=capture.source.value,
                         title=" · ".join(part for part in ("Lead captured", capture.source.value, capture.campaign)
                                          if part),
                         data={"lead_id": capture.lead_id, "source": capture.source.value,
                               "source_detail": capture.source_detail, "campaign": capture.campaign,
                               "utm_source": capture.utm_source, "lead_status": status.value})
            for capture, status in session.execute(query)]


@scoped_timeline_provider("lead_field")
def lead_field_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                     limit: int, viewer: Principal | None) -> list[TimelineItem]:
    """The custom field changes of the customer's lead ``viewer`` may see, as timeline items, newest first."""
    leads = select(Lead.id).where(Lead.profile_id.in_(list(profile_ids)), *_seen_by(session, viewer))
    items = change_items(session, entity=LEAD, entity_ids=leads, before=before, limit=limit, kind="lead_field")
    return [TimelineItem(at=item.at, kind=item.kind, seq=item.seq, channel=None, title=f"Lead · {item.title}",
                         source=item.source,
                         data={**item.data, "lead_id": item.data["entity_id"], "fields_title": item.title})
            for item in items]
