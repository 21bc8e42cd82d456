"""Custom-field conditions as SQL: filter and sort any entity's records by their custom field values.

A condition is a field key, an operator and a value. ``condition_clause`` turns it into a WHERE clause over the
entity's id column (``id IN (SELECT entity_id FROM custom_field_values WHERE ...)``), so a list, an export or a
segment adds it to its own query. Operators:

- ``equals``: text (case and diacritics ignored), number, date, choice; for a multi-choice, "has this option";
- ``contains``: text containing the words (case and diacritics ignored);
- ``between``: number or date, either bound may be left out (``1000..``, ``..31/12/2026``), both inclusive;
- ``any_of``: choice or multi-choice having any of the options (text: equal to any of the values);
- ``is_set``: the record has a value for the field (``is_set:no`` for "has none").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, select
from sqlalchemy.orm import Session

from xuyen.errors import ValidationFailed
from xuyen.fields import values as kinds
from xuyen.fields.models import CustomField, CustomFieldValue
from xuyen.fields.service import check_entity
from xuyen.identity.names import fold_name

OPERATORS = ("equals", "contains", "between", "any_of", "is_set")
MAX_CONDITIONS = 10
_ALLOWED = {
    "text": ("equals", "contains", "any_of", "is_set"),
    "number": ("equals", "between", "is_set"),
    "date": ("equals", "between", "is_set"),
    "choice": ("equals", "any_of", "is_set"),
    "multi_choice": ("equals", "any_of", "is_set"),
}


@dataclass(frozen=True)
class Condition:
    """One custom-field condition: ``value`` is text; a list for ``any_of``; a (low, high) pair for ``between``."""

    key: str
    op: str
    value: Any


def parse_condition(text: str) -> Condition:
    """A condition written ``key:op:value``: ``tier:any_of:gold,silver``, ``spend:between:1000000..5000000``,
    ``city:contains:ha noi``, ``joined:between:01/01/2026..``, ``note:is_set:yes``."""
    parts = text.split(":", 2)
    if len(parts) != 3 or parts[1] not in OPERATORS:
        raise ValidationFailed(f"A custom-field condition reads key:operator:value with an operator among "
                               f"{', '.join(OPERATORS)}; got {text[:100]!r}.", code="invalid_condition")
    key, op, value = parts
    if op == "any_of":
        return Condition(key, op, [item.strip() for item in value.split(",") if item.strip()])
    if op == "between":
        low, sep, high = value.partition("..")
        if not sep:
            raise ValidationFailed(f"Write a range as low..high (either may be left out); got {value[:100]!r}.",
                                   code="invalid_condition")
        return Condition(key, op, (low.strip() or None, high.strip() or None))
    return Condition(key, op, value)


def _bad(field: CustomField, message: str) -> ValidationFailed:
    return ValidationFailed(f"Filter on {field.label_vi} ({field.key}): {message}.", code="invalid_condition")


def _typed_value(field: CustomField, raw: Any, *, form: bool) -> Any:
    if field.kind == "number":
        return kinds.read_number(raw, form=form)
    if field.kind == "date":
        return kinds.read_date(raw, form=form)
    if field.kind in ("choice", "multi_choice"):
        return kinds.read_choices(raw, allowed=[option.key for option in field.options], many=False)[0]
    return fold_name(kinds.read_text(raw))


def _column(field: CustomField) -> Any:
    return {"number": CustomFieldValue.value_number, "date": CustomFieldValue.value_date,
            "choice": CustomFieldValue.option_key, "multi_choice": CustomFieldValue.option_key}.get(
        field.kind, CustomFieldValue.value_folded)


def _predicate(field: CustomField, condition: Condition, *, form: bool) -> ColumnElement[bool]:
    column = _column(field)
    if condition.op == "equals":
        return column == _typed_value(field, condition.value, form=form)
    if condition.op == "contains":
        words = fold_name(kinds.read_text(condition.value)).split()
        if not words:
            raise _bad(field, "say what the text contains")
        return and_(*(column.like(f"%{word}%") for word in words))
    if condition.op == "between":
        low, high = condition.value
        if low is None and high is None:
            raise _bad(field, "give at least one bound")
        clauses = []
        if low is not None:
            clauses.append(column >= _typed_value(field, low, form=form))
        if high is not None:
            clauses.append(column <= _typed_value(field, high, form=form))
        return and_(*clauses)
    values = list(condition.value)
    if not values or len(values) > kinds.MAX_CHOICES:
        raise _bad(field, f"name between 1 and {kinds.MAX_CHOICES} values")
    return column.in_(sorted({_typed_value(field, value, form=form) for value in values}))


def _field(session: Session, entity: str, key: str) -> CustomField:
    field = session.scalar(select(CustomField).where(CustomField.entity == entity, CustomField.key == key))
    if field is None:
        raise ValidationFailed(f"The {entity} has no custom field {key[:64]!r}.", code="unknown_field")
    return field


def condition_clause(session: Session, *, entity: str, condition: Condition, id_column: Any,
                     form: bool = False) -> ColumnElement[bool]:
    """A WHERE clause keeping the records of ``entity`` (whose id is ``id_column``) that meet ``condition``;
    ValidationFailed naming the field when the condition does not fit it. Values are read as the API writes
    them, or as forms do with ``form=True`` (1.500.000; dd/mm/yyyy). Reads only the field's definition."""
    field = _field(session, check_entity(entity), condition.key)
    if condition.op not in _ALLOWED[field.kind]:
        raise _bad(field, f"a {field.kind} field takes {', '.join(_ALLOWED[field.kind])}, not {condition.op}")
    holders = select(CustomFieldValue.entity_id).where(CustomFieldValue.entity == entity,
                                                       CustomFieldValue.field_id == field.id)
    if condition.op == "is_set":
        wanted = str(condition.value).strip().lower() not in ("no", "false", "0", "không")
        return id_column.in_(holders) if wanted else not_(id_column.in_(holders))
    try:
        predicate = _predicate(field, condition, form=form)
    except kinds.BadValue as exc:
        raise _bad(field, str(exc)) from None
    return id_column.in_(holders.where(predicate))


def conditions_clauses(session: Session, *, entity: str, conditions: Sequence[Condition], id_column: Any,
                       form: bool = False) -> list[ColumnElement[bool]]:
    """The clauses of several conditions (all must hold); at most MAX_CONDITIONS."""
    if len(conditions) > MAX_CONDITIONS:
        raise ValidationFailed(f"At most {MAX_CONDITIONS} custom-field conditions at once.",
                               code="too_many_conditions")
    return [condition_clause(session, entity=entity, condition=condition, id_column=id_column, form=form)
            for condition in conditions]


def sort_value(session: Session, *, entity: str, key: str, id_column: Any) -> Any:
    """A correlated subquery giving each record's value of the field ``key``, to ORDER BY (numbers as numbers,
    dates as dates; for a multi-choice, the first option key). Records without a value sort as NULL."""
    field = _field(session, check_entity(entity), key)
    return (select(_column(field) if field.kind != "text" else CustomFieldValue.value_folded)
            .where(CustomFieldValue.entity == entity, CustomFieldValue.field_id == field.id,
                   CustomFieldValue.entity_id == id_column)
            .order_by(CustomFieldValue.option_key).limit(1).correlate_except(CustomFieldValue).scalar_subquery())
