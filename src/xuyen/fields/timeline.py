"""Custom field changes on the customer timeline: one item per save, listing each field's before and after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.fields.models import CustomField, CustomFieldChange


@timeline_provider("field")
def field_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                limit: int) -> list[TimelineItem]:
    """The customer's custom field changes as timeline items, newest first."""
    query = (select(CustomFieldChange).where(CustomFieldChange.entity == "customer",
                                             CustomFieldChange.entity_id.in_(list(profile_ids)))
             .order_by(CustomFieldChange.at.desc(), CustomFieldChange.id.desc()).limit(limit))
    if before is not None:
        at, change_id = before
        query = query.where(or_(CustomFieldChange.at < at,
                                and_(CustomFieldChange.at == at, CustomFieldChange.id < change_id)))
    changes = list(session.scalars(query))
    keys = sorted({key for change in changes for key in change.changes})
    fields = session.scalars(select(CustomField).where(CustomField.entity == "customer",
                                                       CustomField.key.in_(keys))).all() if keys else []
    labels = {field.key: field.label_vi for field in fields}
    order = {field.key: field.position for field in fields}
    return [TimelineItem(at=change.at, kind="field", seq=change.id, channel=None,
                         title=", ".join(labels.get(key, key) for key in sorted(
                             change.changes, key=lambda key: (order.get(key, len(order)), key))),
                         source=change.actor,
                         data={"changes": change.changes, "actor": change.actor})
            for change in changes]
