"""Custom fields' section of the person export: the person's values and the history of their changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.customers.exports import export_section
from xuyen.fields import service
from xuyen.fields.models import CustomFieldChange


@export_section("custom_fields")
def custom_fields_section(session: Session, profile_ids: Sequence[int]) -> dict[str, Any]:
    """The values (archived fields included) per profile and every recorded change, JSON-ready."""
    ids = list(profile_ids)
    values = service.values_for(session, entity="customer", entity_ids=ids, include_archived=True)
    changes = session.scalars(select(CustomFieldChange).where(CustomFieldChange.entity == "customer",
                                                              CustomFieldChange.entity_id.in_(ids))
                              .order_by(CustomFieldChange.id)).all()
    return {"values": {str(profile_id): {key: value for key, value in found.items() if value not in (None, [])}
                       for profile_id, found in values.items()},
            "changes": [{"profile_id": change.entity_id, "at": change.at.isoformat(), "actor": change.actor,
                         "changes": change.changes} for change in changes]}
