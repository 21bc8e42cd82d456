"""Custom fields API bodies and answers, and the helpers an entity's schemas use to carry ``custom_fields``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from xuyen.fields.models import ENTITIES, KINDS, CustomField
from xuyen.fields.service import MAX_FIELDS_PER_ENTITY, MAX_LABEL, MAX_OPTIONS, OptionSpec
from xuyen.fields.values import MAX_CHOICES, MAX_TEXT

Key = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", examples=["hang_thanh_vien"])
Label = Field(default="", max_length=MAX_LABEL)

# What an entity's input schema declares to take custom field values (see docs/custom-fields.md):
#     custom_fields: CustomFieldsIn = None
CustomFieldsIn = dict[str, Any] | None
CUSTOM_FIELDS_DESCRIPTION = (
    f"Custom field values by field key: text (at most {MAX_TEXT} characters), number (a JSON number), date "
    f"(yyyy-mm-dd), choice (an option key), multi-choice (a list of at most {MAX_CHOICES} option keys); null or [] "
    "clears a value. All or nothing: one value that does not fit refuses the whole request (code "
    "invalid_custom_fields, details.fields names each field).")


def custom_fields_field() -> Any:
    """The pydantic ``Field`` for an entity schema's ``custom_fields`` (input or output)."""
    return Field(default=None, description=CUSTOM_FIELDS_DESCRIPTION, examples=[{"hang": "vang", "so_con": 2}])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OptionIn(_In):
    """An option of a choice field."""

    key: str = Key
    label_vi: str = Field(min_length=1, max_length=MAX_LABEL)
    label_en: str = Label
    retired: bool = Field(default=False, description="Kept for the values holding it; not offered any more.")

    def spec(self) -> OptionSpec:
        """The option as the service takes it."""
        return OptionSpec(key=self.key, label_vi=self.label_vi, label_en=self.label_en, retired=self.retired)


class FieldIn(_In):
    """A new custom field."""

    entity: str = Field(description=f"One of {', '.join(ENTITIES)}.", max_length=16, examples=["customer"])
    key: str = Field(default="", max_length=64, description="a-z, 0-9 and _; made from the label when empty. "
                                                            "Never changes.")
    label_vi: str = Field(min_length=1, max_length=MAX_LABEL, examples=["Hạng thành viên"])
    label_en: str = Field(default="", max_length=MAX_LABEL, examples=["Member tier"])
    kind: str = Field(description=f"One of {', '.join(KINDS)}.", max_length=16, examples=["choice"])
    required: bool = False
    options: list[OptionIn] = Field(default=[], max_length=MAX_OPTIONS,
                                    description="For choice and multi_choice, in display order.")


class FieldChange(_In):
    """What to change of a field (key and kind never change). ``options`` replaces the list: options left out are
    retired, not deleted, so stored values keep their meaning."""

    label_vi: str | None = Field(default=None, min_length=1, max_length=MAX_LABEL)
    label_en: str | None = Field(default=None, max_length=MAX_LABEL)
    required: bool | None = None
    archived: bool | None = None
    options: list[OptionIn] | None = Field(default=None, max_length=MAX_OPTIONS)


class ReorderIn(_In):
    """The entity's field keys in their new order."""

    entity: str = Field(max_length=16)
    keys: list[str] = Field(max_length=MAX_FIELDS_PER_ENTITY)


class OptionOut(BaseModel):
    """An option of a choice field."""

    key: str
    label_vi: str
    label_en: str
    position: int
    retired: bool


class FieldOut(BaseModel):
    """A custom field definition."""

    id: int
    entity: str
    key: str
    label_vi: str
    label_en: str
    kind: str
    required: bool
    position: int
    archived: bool
    archived_at: datetime | None
    options: list[OptionOut]

    @classmethod
    def of(cls, field: CustomField) -> FieldOut:
        """The answer for a stored field."""
        return cls(id=field.id, entity=field.entity, key=field.key, label_vi=field.label_vi,
                   label_en=field.label_en, kind=field.kind, required=field.required, position=field.position,
                   archived=field.archived, archived_at=field.archived_at,
                   options=[OptionOut(key=o.key, label_vi=o.label_vi, label_en=o.label_en, position=o.position,
                                      retired=o.retired) for o in field.options])
