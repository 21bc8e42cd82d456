"""Custom field services: managers define, change, reorder and archive fields; staff and the API set a record's
values (checked per kind, all or nothing) and read them for one record or many at once.

Generic over the entity ("customer", "lead", "deal"): the entity's own service checks that the record exists
and may be seen, then calls ``apply_values`` inside its own transaction (or ``set_values``, which commits).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.fields import values as kinds
from xuyen.fields.models import (
    CHOICE_KINDS,
    ENTITIES,
    KINDS,
    CustomField,
    CustomFieldChange,
    CustomFieldOption,
    CustomFieldValue,
)
from xuyen.identity.names import fold_name
from xuyen.outbox import emit

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_FIELDS_PER_ENTITY = 100
MAX_OPTIONS = 100
MAX_LABEL = 200
VALUES_CHANGED = "field.values_changed"


@dataclass(frozen=True)
class OptionSpec:
    """An option as a manager gives it: key, labels, and whether it is retired (kept for old values only)."""

    key: str
    label_vi: str
    label_en: str = ""
    retired: bool = False


# Definitions -------------------------------------------------------------------------------------------


def check_entity(entity: str) -> str:
    """``entity`` if it is one that takes custom fields; ValidationFailed otherwise."""
    if entity not in ENTITIES:
        raise ValidationFailed(f"Custom fields exist for {', '.join(ENTITIES)}, not {entity[:32]!r}.",
                               code="unknown_entity")
    return entity


def slug(text: str) -> str:
    """A field or option key made from a label: lower-case ASCII words joined by underscores."""
    words = fold_name(text).split()
    key = "_".join(words)[:64].strip("_")
    return key if key and key[0].isalpha() else f"f_{key}"[:64].rstrip("_")


def _label(value: str, *, what: str, required: bool = True) -> str:
    label = " ".join(value.split())
    if required and not label:
        raise ValidationFailed(f"The {what} needs a Vietnamese label.", code="label_required")
    if len(label) > MAX_LABEL:
        raise ValidationFailed(f"The {what}'s label is too long (at most {MAX_LABEL} characters).",
                               code="label_too_long")
    return label


def _key(value: str, *, what: str) -> str:
    if not KEY_PATTERN.match(value):
        raise ValidationFailed(f"The {what} key {value[:64]!r} must start with a letter and hold only a-z, 0-9 "
                               "and _ (at most 64).", code="invalid_key")
    return value


def _options(field: CustomField, specs: Sequence[OptionSpec]) -> None:
    """Make the field's options match ``specs`` in order; options left out are retired, never deleted."""
    if field.kind not in CHOICE_KINDS:
        if specs:
            raise ValidationFailed(f"A {field.kind} field has no options.", code="options_not_allowed")
        return
    if len(specs) > MAX_OPTIONS:
        raise ValidationFailed(f"A field takes at most {MAX_OPTIONS} options.", code="too_many_options")
    keys = [spec.key for spec in specs]
    if len(set(keys)) != len(keys):
        raise ValidationFailed("Two options have the same key.", code="duplicate_option")
    existing = {option.key: option for option in field.options}
    for position, spec in enumerate(specs):
        option = existing.get(spec.key)
        if option is None:
            option = CustomFieldOption(key=_key(spec.key, what="option"))
            field.options.append(option)
        option.label_vi = _label(spec.label_vi, what=f"option {spec.key}")
        option.label_en = _label(spec.label_en, what=f"option {spec.key}", required=False)
        option.position, option.retired = position, spec.retired
    for position, option in enumerate((o for o in existing.values() if o.key not in keys), start=len(specs)):
        option.retired, option.position = True, position
    field.options.sort(key=lambda option: option.position)
    if not any(not option.retired for option in field.options):
        raise ValidationFailed("A choice field needs at least one option in use.", code="options_required")


def list_fields(session: Session, *, entity: str, include_archived: bool = False) -> list[CustomField]:
    """The entity's fields in form order (archived ones last, when asked for)."""
    query = select(CustomField).where(CustomField.entity == check_entity(entity))
    if not include_archived:
        query = query.where(CustomField.archived_at.is_(None))
    return list(session.scalars(query.order_by(CustomField.archived_at.is_not(None), CustomField.position,
                                               CustomField.id)))


def get_field(session: Session, *, field_id: int) -> CustomField:
    """One field definition; NotFound when there is none."""
    field = session.get(CustomField, field_id)
    if field is None:
        raise NotFound(f"There is no custom field {field_id}.", code="field_not_found")
    return field


def add_field(session: Session, *, entity: str, label_vi: str, kind: str, actor: str, key: str = "",
              label_en: str = "", options: Sequence[OptionSpec] = (), required: bool = False) -> CustomField:
    """Add a field to an entity (helper: no commit; see ``define_field``)."""
    check_entity(entity)
    if kind not in KINDS:
        raise ValidationFailed(f"A field's kind is one of {', '.join(KINDS)}, not {kind[:32]!r}.",
                               code="unknown_kind")
    label = _label(label_vi, what="field")
    key = _key(key.strip() or slug(label), what="field")
    if session.scalar(select(CustomField.id).where(CustomField.entity == entity, CustomField.key == key)):
        raise Conflict(f"The {entity} already has a field with key {key!r}.", code="duplicate_field")
    count = session.scalar(select(func.count()).select_from(CustomField).where(CustomField.entity == entity)) or 0
    if count >= MAX_FIELDS_PER_ENTITY:
        raise ValidationFailed(f"A {entity} takes at most {MAX_FIELDS_PER_ENTITY} custom fields.",
                               code="too_many_fields")
    last = session.scalar(select(func.max(CustomField.position)).where(CustomField.entity == entity))
    now = utcnow()
    field = CustomField(entity=entity, key=key, label_vi=label,
                        label_en=_label(label_en, what="field", required=False), kind=kind, required=required,
                        position=(last if last is not None else -1) + 1, created_at=now, updated_at=now, options=[])
    if kind in CHOICE_KINDS and not options:
        raise ValidationFailed("A choice field needs at least one option in use.", code="options_required")
    _options(field, options)
    session.add(field)
    session.flush()
    audit.record(session, actor=actor, action="field.defined", subject_type="custom_field", subject_id=field.id,
                 detail={"entity": entity, "key": key, "kind": kind})
    return field


def define_field(session: Session, *, entity: str, label_vi: str, kind: str, actor: str, key: str = "",
                 label_en: str = "", options: Sequence[OptionSpec] = (), required: bool = False) -> CustomField:
    """Add a field to an entity (its key, from the label when not given, can never change)."""
    field = add_field(session, entity=entity, label_vi=label_vi, kind=kind, actor=actor, key=key,
                      label_en=label_en, options=options, required=required)
    session.commit()
    return field


def change_field(session: Session, *, field_id: int, actor: str, label_vi: str | None = None,
                 label_en: str | None = None, required: bool | None = None,
                 options: Sequence[OptionSpec] | None = None, archived: bool | None = None) -> CustomField:
    """Change a field's labels, required flag, options or archived state (its key and kind never change)."""
    field = get_field(session, field_id=field_id)
    if archived is not None:
        field.archived_at = (field.archived_at or utcnow()) if archived else None
    if label_vi is not None:
        field.label_vi = _label(label_vi, what="field")
    if label_en is not None:
        field.label_en = _label(label_en, what="field", required=False)
    if required is not None:
        field.required = required
    if options is not None:
        _options(field, options)
    field.updated_at = utcnow()
    audit.record(session, actor=actor, action="field.changed", subject_type="custom_field", subject_id=field.id,
                 detail={"entity": field.entity, "key": field.key})
    session.commit()
    return field


def reorder_fields(session: Session, *, entity: str, keys: Sequence[str], actor: str) -> list[CustomField]:
    """Put the entity's fields in the order of ``keys`` (fields left out keep their order, after them)."""
    fields = list_fields(session, entity=entity, include_archived=True)
    by_key = {field.key: field for field in fields}
    unknown = [key for key in keys if key not in by_key]
    if unknown:
        raise ValidationFailed(f"The {entity} has no field {unknown[0][:64]!r}.", code="unknown_field")
    ordered = [by_key[key] for key in dict.fromkeys(keys)]
    ordered += [field for field in fields if field not in ordered]
    for position, field in enumerate(ordered):
        field.position = position
    audit.record(session, actor=actor, action="field.reordered", subject_type="custom_field", subject_id=entity,
                 detail={"keys": [field.key for field in ordered]})
    session.commit()
    return list_fields(session, entity=entity)


def move_field(session: Session, *, field_id: int, offset: int, actor: str) -> list[CustomField]:
    """Move a field up (negative ``offset``) or down among its entity's fields."""
    field = get_field(session, field_id=field_id)
    keys = [item.key for item in list_fields(session, entity=field.entity, include_archived=True)]
    at = keys.index(field.key)
    keys.insert(max(0, min(len(keys) - 1, at + offset)), keys.pop(at))
    return reorder_fields(session, entity=field.entity, keys=keys, actor=actor)


def archive_field(session: Session, *, field_id: int, actor: str, archived: bool = True) -> CustomField:
    """Archive a field (hidden from forms and new values; stored values kept), or bring it back."""
    field = get_field(session, field_id=field_id)
    field.archived_at = (field.archived_at or utcnow()) if archived else None
    field.updated_at = utcnow()
    audit.record(session, actor=actor, action="field.archived" if archived else "field.restored",
                 subject_type="custom_field", subject_id=field.id, detail={"entity": field.entity, "key": field.key})
    session.commit()
    return field


def delete_field(session: Session, *, field_id: int, actor: str) -> int:
    """Delete an archived field for good with its options and every value it held (change records keep their
    before/after text); Conflict when the field is not archived first. Returns how many value rows went."""
    field = get_field(session, field_id=field_id)
    if not field.archived:
        raise Conflict("Archive the field before deleting it: deleting removes every value it holds.",
                       code="field_not_archived")
    gone = session.execute(delete(CustomFieldValue).where(CustomFieldValue.field_id == field.id)
                           .execution_options(synchronize_session=False))
    removed = int(gone.rowcount or 0)  # type: ignore[attr-defined]
    audit.record(session, actor=actor, action="field.deleted", subject_type="custom_field", subject_id=field.id,
                 detail={"entity": field.entity, "key": field.key, "values": removed})
    session.delete(field)
    session.commit()
    return removed


# Values ------------------------------------------------------------------------------------------------


def _json_of(field: CustomField, rows: Sequence[CustomFieldValue]) -> Any:
    """The value of ``field`` held by ``rows`` (all of one record), JSON-ready."""
    if not rows:
        return [] if field.kind == "multi_choice" else None
    if field.kind == "multi_choice":
        order = {option.key: option.position for option in field.options}
        return sorted((row.option_key for row in rows), key=lambda key: (order.get(key, len(order)), key))
    row = rows[0]
    if field.kind == "choice":
        return row.option_key
    if field.kind == "number":
        return kinds.number_json(row.value_number) if row.value_number is not None else None
    if field.kind == "date":
        return row.value_date.isoformat() if row.value_date is not None else None
    return row.value_text


def values_for(session: Session, *, entity: str, entity_ids: Iterable[int],
               include_archived: bool = False) -> dict[int, dict[str, Any]]:
    """The custom field values of many records at once (two queries), by record id then field key; every
    field appears for every record (None, or [] for a multi-choice, when unset)."""
    wanted = sorted(set(entity_ids))
    fields = list_fields(session, entity=entity, include_archived=include_archived)
    by_id = {field.id: field for field in fields}
    rows: dict[tuple[int, int], list[CustomFieldValue]] = defaultdict(list)
    if wanted and fields:
        query = select(CustomFieldValue).where(CustomFieldValue.entity == entity,
                                               CustomFieldValue.entity_id.in_(wanted),
                                               CustomFieldValue.field_id.in_(list(by_id)))
        for row in session.scalars(query):
            rows[(row.entity_id, row.field_id)].append(row)
    return {entity_id: {field.key: _json_of(field, rows.get((entity_id, field.id), [])) for field in fields}
            for entity_id in wanted}


def values_of(session: Session, *, entity: str, entity_id: int) -> dict[str, Any]:
    """The custom field values of one record, by field key."""
    return values_for(session, entity=entity, entity_ids=[entity_id])[entity_id]


def _typed(field: CustomField, raw: Any, *, form: bool, current: Any) -> kinds.Typed | None:
    """What to store for ``raw`` (None: clear the value); BadValue when it does not fit the field."""
    if kinds.is_empty(raw):
        if field.required:
            raise kinds.BadValue("is required")
        return None
    if field.kind == "text":
        return kinds.Typed(text=kinds.read_text(raw))
    if field.kind == "number":
        return kinds.Typed(number=kinds.read_number(raw, form=form))
    if field.kind == "date":
        return kinds.Typed(day=kinds.read_date(raw, form=form))
    held = set(current if isinstance(current, list) else [current])
    allowed = [option.key for option in field.options if not option.retired or option.key in held]
    return kinds.Typed(options=kinds.read_choices(raw, allowed=allowed, many=field.kind == "multi_choice"))


def _rows(entity: str, entity_id: int, field: CustomField, typed: kinds.Typed) -> list[CustomFieldValue]:
    if typed.options:
        return [CustomFieldValue(entity=entity, entity_id=entity_id, field_id=field.id, option_key=key)
                for key in typed.options]
    return [CustomFieldValue(entity=entity, entity_id=entity_id, field_id=field.id, option_key="",
                             value_text=typed.text, value_folded=fold_name(typed.text) if typed.text else None,
                             value_number=typed.number, value_date=typed.day)]


def _problem_text(field: CustomField, message: str) -> str:
    return f"{field.label_vi} ({field.key}) {message}"


def check_values(session: Session, *, entity: str, entity_id: int | None, values: Mapping[str, Any], form: bool,
                 complete: bool = False) -> dict[str, kinds.Typed | None]:
    """Read every value of ``values`` (by field key) for its field, or raise one ValidationFailed naming every
    field that does not fit (``details['fields']``: key → message). ``complete``: also require every required
    field that is not set yet (for a new record). Reads only."""
    if len(values) > MAX_FIELDS_PER_ENTITY:
        raise ValidationFailed(f"At most {MAX_FIELDS_PER_ENTITY} custom field values at once.",
                               code="too_many_values")
    fields = {field.key: field for field in list_fields(session, entity=entity, include_archived=True)}
    current = values_of(session, entity=entity, entity_id=entity_id) if entity_id is not None else {}
    problems: dict[str, str] = {}
    checked: dict[str, kinds.Typed | None] = {}
    for key, raw in values.items():
        field = fields.get(key)
        if field is None or field.archived:
            problems[str(key)[:64]] = f"{str(key)[:64]!r} is not a field of the {entity}"
            continue
        try:
            checked[key] = _typed(field, raw, form=form, current=current.get(key))
        except kinds.BadValue as exc:
            problems[key] = _problem_text(field, str(exc))
    if complete:
        for key, field in fields.items():
            if field.required and not field.archived and key not in values and kinds.is_empty(current.get(key)):
                problems[key] = _problem_text(field, "is required")
    if problems:
        raise ValidationFailed("Some custom fields were not saved: " + "; ".join(problems.values()) + ".",
                               code="invalid_custom_fields", details={"fields": problems})
    return checked


def apply_values(session: Session, *, entity: str, entity_id: int, values: Mapping[str, Any], form: bool,
                 actor: str, complete: bool = False) -> dict[str, Any]:
    """Check then write the values (by field key) of one record, all or nothing; record the change, emit
    ``field.values_changed`` when anything changed. Returns the record's values (helper: no commit)."""
    checked = check_values(session, entity=entity, entity_id=entity_id, values=values, form=form, complete=complete)
    before = values_of(session, entity=entity, entity_id=entity_id) if checked else {}
    fields = {field.key: field for field in list_fields(session, entity=entity)}
    for key, typed in checked.items():
        field = fields[key]
        session.execute(delete(CustomFieldValue).where(CustomFieldValue.field_id == field.id,
                                                       CustomFieldValue.entity_id == entity_id))
        if typed is not None:
            session.add_all(_rows(entity, entity_id, field, typed))
    session.flush()
    after = values_of(session, entity=entity, entity_id=entity_id)
    changes = {key: {"before": before.get(key), "after": after.get(key)} for key in checked
               if before.get(key) != after.get(key)}
    if changes:
        session.add(CustomFieldChange(entity=entity, entity_id=entity_id, actor=actor[:200], at=utcnow(),
                                      changes=changes))
        emit(session, topic=VALUES_CHANGED, aggregate_type=entity, aggregate_id=entity_id,
             payload={"entity": entity, "entity_id": entity_id, "changes": changes, "actor": actor})
    return after


def set_values(session: Session, *, entity: str, entity_id: int, values: Mapping[str, Any], form: bool,
               actor: str, complete: bool = False) -> dict[str, Any]:
    """Set values of one record (whose existence the caller checked), all or nothing, and commit."""
    result = apply_values(session, entity=entity, entity_id=entity_id, values=values, form=form, actor=actor,
                          complete=complete)
    session.commit()
    return result


def forget_values(session: Session, *, entity: str, entity_ids: Sequence[int]) -> int:
    """Delete every value and change record of the records (an erased person, a deleted lead) (helper)."""
    gone = session.execute(delete(CustomFieldValue).where(CustomFieldValue.entity == entity,
                                                          CustomFieldValue.entity_id.in_(entity_ids)))
    session.execute(delete(CustomFieldChange).where(CustomFieldChange.entity == entity,
                                                    CustomFieldChange.entity_id.in_(entity_ids)))
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def hand_over_values(session: Session, *, entity: str, survivor_id: int, absorbed_id: int) -> int:
    """Give the survivor of a merge the absorbed record's values for the fields it has no value for (the
    survivor's own values win) and the absorbed record's change history; values left behind are deleted.
    Returns how many value rows moved (helper: no commit)."""
    held = set(session.scalars(select(CustomFieldValue.field_id).where(
        CustomFieldValue.entity == entity, CustomFieldValue.entity_id == survivor_id)))
    query = update(CustomFieldValue).where(CustomFieldValue.entity == entity,
                                           CustomFieldValue.entity_id == absorbed_id)
    if held:
        query = query.where(CustomFieldValue.field_id.not_in(sorted(held)))
    moved = session.execute(query.values(entity_id=survivor_id).execution_options(synchronize_session=False))
    session.execute(update(CustomFieldChange).where(CustomFieldChange.entity == entity,
                                                    CustomFieldChange.entity_id == absorbed_id)
                    .values(entity_id=survivor_id).execution_options(synchronize_session=False))
    session.execute(delete(CustomFieldValue).where(CustomFieldValue.entity == entity,
                                                   CustomFieldValue.entity_id == absorbed_id)
                    .execution_options(synchronize_session=False))
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]
