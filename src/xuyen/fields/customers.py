"""Custom fields of customers: a customer's values live on its surviving profile id.

The customers API and pages call these; leads and deals do the same through ``service`` with their own ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from xuyen.customers.service import require_customer
from xuyen.fields import service
from xuyen.fields.models import CustomFieldValue

ENTITY = "customer"


def customer_values(session: Session, *, profile_id: int) -> dict[str, Any]:
    """The customer's custom field values by key (an absorbed profile id answers with its survivor's)."""
    root = require_customer(session, profile_id=profile_id)
    return service.values_of(session, entity=ENTITY, entity_id=root)


def customers_values(session: Session, *, profile_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The custom field values of many customers at once (by the ids given, which should be survivors)."""
    return service.values_for(session, entity=ENTITY, entity_ids=profile_ids)


def set_customer_values(session: Session, *, profile_id: int, values: Mapping[str, Any], form: bool,
                        actor: str) -> dict[str, Any]:
    """Set some of the customer's custom field values, all or nothing, and commit."""
    root = require_customer(session, profile_id=profile_id)
    return service.set_values(session, entity=ENTITY, entity_id=root, values=values, form=form, actor=actor)


def follow_merge(session: Session, *, survivor_id: int, absorbed_id: int) -> int:
    """Hand the absorbed profile's values to the survivor for the fields the survivor has no value for (the
    survivor's own values win); returns how many value rows moved (helper: no commit)."""
    held = set(session.scalars(select(CustomFieldValue.field_id).where(
        CustomFieldValue.entity == ENTITY, CustomFieldValue.entity_id == survivor_id)))
    query = update(CustomFieldValue).where(CustomFieldValue.entity == ENTITY,
                                           CustomFieldValue.entity_id == absorbed_id)
    if held:
        query = query.where(CustomFieldValue.field_id.not_in(sorted(held)))
    moved = session.execute(query.values(entity_id=survivor_id).execution_options(synchronize_session=False))
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]
