"""Custom fields of customers: a customer's values live on its surviving profile id.

The customers API and pages call these; leads and deals do the same through ``service`` with their own ids.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from xuyen.customers.models import CustomerErasure, CustomerProfile
from xuyen.customers.service import require_customer
from xuyen.errors import NotFound, ValidationFailed
from xuyen.fields import filters, service
from xuyen.fields.models import CustomField, CustomFieldValue
from xuyen.fields.values import vietnamese_number
from xuyen.identity.service import merged_profile_ids

ENTITY = "customer"
MAX_CONDITION_TEXT = 500
CSV_BATCH = 500


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
    cluster = [root, *merged_profile_ids(session, profile_id=root)]
    if session.scalar(select(exists().where(CustomerErasure.profile_id.in_(cluster)))):
        raise NotFound(f"Customer {profile_id} was erased on request.", code="customer_erased")
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


def condition_clauses(session: Session, *, conditions: Sequence[str], form: bool = False) -> list[Any]:
    """WHERE clauses on ``CustomerProfile`` for conditions written ``key:op:value`` (see ``filters``)."""
    if any(len(text) > MAX_CONDITION_TEXT for text in conditions):
        raise ValidationFailed(f"A custom-field condition is at most {MAX_CONDITION_TEXT} characters.",
                               code="invalid_condition")
    return filters.conditions_clauses(session, entity=ENTITY, conditions=[filters.parse_condition(text)
                                                                         for text in conditions],
                                      id_column=CustomerProfile.profile_id, form=form)


def export_cell(field: CustomField, value: Any) -> str:
    """A value as a CSV cell: numbers and dates as Vietnamese write them, a multi-choice's keys joined by '; '."""
    if value is None or value == []:
        return ""
    if field.kind == "multi_choice":
        return "; ".join(str(item) for item in value)
    if field.kind == "number":
        return vietnamese_number(Decimal(str(value)))
    if field.kind == "date":
        day = date.fromisoformat(value)
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return str(value)


def customers_csv(session: Session, *, rows: Sequence[CustomerProfile], locale: str = "vi") -> bytes:
    """The customers as CSV for Excel (UTF-8 with BOM): contact columns, then one column per custom field
    (numbers and dates as Vietnamese write them, a multi-choice's option keys joined with '; ')."""
    fields = service.list_fields(session, entity=ENTITY)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["profile_id", "name", "phones", "emails", "birth_date", "address", "last_seen_at",
                     *(f"{field.label(locale)} ({field.key})" for field in fields)])
    for start in range(0, len(rows), CSV_BATCH):
        batch = rows[start:start + CSV_BATCH]
        values = service.values_for(session, entity=ENTITY, entity_ids=[row.profile_id for row in batch])
        for row in batch:
            found = values.get(row.profile_id, {})
            writer.writerow([row.profile_id, row.display_name, " ".join(row.phones), " ".join(row.emails),
                             row.birth_date.isoformat() if row.birth_date else "", row.address,
                             row.last_seen_at.isoformat() if row.last_seen_at else "",
                             *(export_cell(field, found.get(field.key)) for field in fields)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
