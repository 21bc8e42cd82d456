"""Custom field changes on the customer timeline: one item per save, listing each field's before and after.

The customer's own fields come from here; the leads and deals parts add the changes of the customer's leads and
deals through ``change_items`` with their own ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.fields.models import CustomField, CustomFieldChange


def change_items(session: Session, *, entity: str, entity_ids: Any, before: tuple[datetime, int] | None,
                 limit: int, kind: str = "field", extra: dict[str, Any] | None = None) -> list[TimelineItem]:
    """The custom field changes of the records ``entity_ids`` (ids, or a SELECT of ids) as timeline items of
    ``kind``, newest first; ``extra`` goes into every item's data."""
    ids = list(entity_ids) if isinstance(entity_ids, (list, tuple)) else entity_ids
    query = (select(CustomFieldChange).where(CustomFieldChange.entity == entity,
                                             CustomFieldChange.entity_id.in_(ids))
             .order_by(CustomFieldChange.at.desc(), CustomFieldChange.id.desc()).limit(limit))
    if before is not None:
        at, change_id = before
        query = query.where(or_(CustomFieldChange.at < at,
                                and_(CustomFieldChange.at == at, CustomFieldChange.id < change_id)))
    changes = list(session.scalars(query))
    keys = sorted({key for change in changes for key in change.changes})
    fields = session.scalars(select(CustomField).where(CustomField.entity == entity,
                                                       CustomField.key.in_(keys))).all() if keys else []
    labels = {field.key: field.label_vi for field in fields}
    order = {field.key: field.position for field in fields}
    return [TimelineItem(at=change.at, kind=kind, seq=change.id, channel=None,
                         title=", ".join(labels.get(key, key) for key in sorted(
                             change.changes, key=lambda key: (order.get(key, len(order)), key))),
                         source=change.actor,
                         data={"changes": change.changes, "actor": change.actor, "entity": entity,
                               "entity_id": change.entity_id, **(extra or {})})
            for change in changes]


@timeline_provider("field")
def field_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                limit: int) -> list[TimelineItem]:
    """The customer's custom field changes as timeline items, newest first."""
    return change_items(session, entity="customer", entity_ids=list(profile_ids), before=before, limit=limit)
