"""Custom fields of leads and deals: conditions written ``key:op:value`` as WHERE clauses on a lead or deal id,
CSV exports with one column per field, and the values a lead capture brings in its raw fields.

The values themselves are kept and checked by ``xuyen.fields.service`` under the entity ``"lead"`` or ``"deal"``
and the record's id; the leads and deals services call it inside their own transactions.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from xuyen.errors import ValidationFailed
from xuyen.fields import filters, service
from xuyen.fields.customers import MAX_CONDITION_TEXT, export_cell
from xuyen.fields.values import BadValue
from xuyen.sales.leads.models import Lead

LEAD = "lead"
DEAL = "deal"
CSV_BATCH = 500
MAX_EXPORT = 10_000


def condition_clauses(session: Session, *, entity: str, conditions: Sequence[str],
                      id_column: Any) -> list[ColumnElement[bool]]:
    """WHERE clauses on ``id_column`` (the lead's or deal's id) for conditions written ``key:op:value``, as
    ``GET /customers?field=`` takes them; ValidationFailed (``invalid_condition``, ``unknown_field``,
    ``too_many_conditions``) naming what does not fit."""
    if any(len(text) > MAX_CONDITION_TEXT for text in conditions):
        raise ValidationFailed(f"A custom-field condition is at most {MAX_CONDITION_TEXT} characters.",
                               code="invalid_condition")
    return filters.conditions_clauses(session, entity=entity, id_column=id_column,
                                      conditions=[filters.parse_condition(text) for text in conditions])


def customers_by_lead(session: Session, *, condition: filters.Condition, profile_column: Any,
                      form: bool = False) -> ColumnElement[bool]:
    """A WHERE clause on a customer query (``profile_column``: the customer's surviving profile id) keeping the
    customers whose lead meets a condition on a lead custom field, for segments and lists over customers. Leads
    follow profile merges, so a lead's profile is always the survivor."""
    leads = select(Lead.profile_id).where(filters.condition_clause(session, entity=LEAD, condition=condition,
                                                                   id_column=Lead.id, form=form))
    return profile_column.in_(leads)


def records_csv(session: Session, *, entity: str, header: Sequence[str], rows: Sequence[tuple[int, Sequence[Any]]],
                locale: str = "vi") -> bytes:
    """CSV for Excel (UTF-8 with BOM): ``header`` and each row's own cells, then one column per custom field of
    ``entity`` headed ``Label (key)``; ``rows`` are (record id, cells). Values are read a batch at a time."""
    fields = service.list_fields(session, entity=entity)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*header, *(f"{field.label(locale)} ({field.key})" for field in fields)])
    for start in range(0, len(rows), CSV_BATCH):
        batch = rows[start:start + CSV_BATCH]
        values = service.values_for(session, entity=entity, entity_ids=[record_id for record_id, _cells in batch])
        for record_id, cells in batch:
            found = values.get(record_id, {})
            writer.writerow([*("" if cell is None else cell for cell in cells),
                             *(export_cell(field, found.get(field.key)) for field in fields)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def fitting_values(session: Session, *, entity: str, entity_id: int, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a capture's raw ``fields`` that name an active field of ``entity`` and fit it, as the
    form sent them (others are left to the raw fields only); reads only."""
    if not raw:
        return {}
    wanted = {field.key: field for field in service.list_fields(session, entity=entity)}
    fitting: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in wanted or value in (None, "", []):
            continue
        try:
            service.check_values(session, entity=entity, entity_id=entity_id, values={key: value}, form=True)
        except (ValidationFailed, BadValue):
            continue
        fitting[key] = value
    return fitting
