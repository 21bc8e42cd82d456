"""The rule language: a segment's definition as JSON, read into typed conditions with every problem named by its
path (``all[1].days``)."""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xuyen.analytics.rfm import GROUPS as RFM_GROUPS
from xuyen.errors import ValidationFailed

MAX_CONDITIONS = 30
MAX_DEPTH = 4
MAX_DAYS = 3650
KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte")
Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte"]
Scalar = str | int | float | bool


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TraitCondition(_Rule):
    """A trait the customer gave: ``{"trait": "city", "op": "eq", "value": "Hà Nội"}``; ``exists``/``missing``
    take no value."""

    trait: str = Field(pattern=KEY_PATTERN)
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "exists", "missing"]
    value: Scalar | None = None

    @field_validator("value")
    @classmethod
    def _text_not_too_long(cls, value: Scalar | None) -> Scalar | None:
        if isinstance(value, str) and len(value) > 200:
            raise ValueError("is longer than 200 characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.op in ("exists", "missing"):
            if self.value is not None:
                raise ValueError(f"'{self.op}' takes no value")
        elif self.value is None:
            raise ValueError(f"'{self.op}' needs a value")
        elif self.op in ("gt", "gte", "lt", "lte") and not _is_number(self.value):
            raise ValueError(f"'{self.op}' compares numbers; {self.value!r} is not a number")
        elif isinstance(self.value, bool) and self.op not in ("eq", "ne"):
            raise ValueError("true or false takes 'eq' or 'ne'")
        return self


COMPUTED_NUMBERS = ("orders", "events", "revenue")


class ComputedCondition(_Rule):
    """A computed trait: ``orders``, ``events``, ``revenue`` (VND) compared to a number, or ``preferred_channel``."""

    computed: Literal["orders", "events", "revenue", "preferred_channel"]
    op: Comparison
    value: Scalar

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.computed in COMPUTED_NUMBERS and not _is_number(self.value):
            raise ValueError(f"'{self.computed}' is a number; {self.value!r} is not a number")
        if self.computed == "preferred_channel" and (not isinstance(self.value, str) or self.op not in ("eq", "ne")):
            raise ValueError("'preferred_channel' takes 'eq' or 'ne' and a channel name")
        return self


class ConsentCondition(_Rule):
    """Consent granted on a channel for a purpose: ``{"consent": {"channel": "zalo", "purpose": "marketing"}}``."""

    class Pair(_Rule):
        channel: str = Field(pattern=KEY_PATTERN)
        purpose: str = Field(pattern=KEY_PATTERN)

    consent: Pair


class DidCondition(_Rule):
    """An event done at least ``times`` times in the last ``days`` days, with optional property values."""

    did: str = Field(min_length=1, max_length=200)
    times: int = Field(default=1, ge=1, le=10_000)
    days: int = Field(ge=1, le=MAX_DAYS)
    where: dict[str, Scalar] = Field(default_factory=dict, max_length=5)

    @field_validator("where")
    @classmethod
    def _property_keys(cls, where: dict[str, Scalar]) -> dict[str, Scalar]:
        return _checked_properties(where)


class DidNotCondition(_Rule):
    """No such event in the last ``days`` days."""

    did_not: str = Field(min_length=1, max_length=200)
    days: int = Field(ge=1, le=MAX_DAYS)
    where: dict[str, Scalar] = Field(default_factory=dict, max_length=5)

    @field_validator("where")
    @classmethod
    def _property_keys(cls, where: dict[str, Scalar]) -> dict[str, Scalar]:
        return _checked_properties(where)


class OrdersCondition(_Rule):
    """The number of orders or the money spent (VND) in the last ``days`` days (all time without ``days``)."""

    orders: Literal["count", "total"]
    op: Comparison
    value: int = Field(ge=0, le=10**15)
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS)


class BoughtCondition(_Rule):
    """Bought a product, a category or a SKU (one of them) in the last ``days`` days (all time without ``days``)."""

    class Item(_Rule):
        product_id: int | None = Field(default=None, ge=1)
        category_id: int | None = Field(default=None, ge=1)
        sku: str | None = Field(default=None, min_length=1, max_length=128)

        @model_validator(mode="after")
        def _consistent(self) -> Self:
            if sum(value is not None for value in (self.product_id, self.category_id, self.sku)) != 1:
                raise ValueError("name exactly one of product_id, category_id, sku")
            return self

    bought: Item
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS)


class TierCondition(_Rule):
    """In one of the loyalty tiers: ``{"tier": ["gold", "vip"]}``."""

    tier: list[str] = Field(min_length=1, max_length=20)


class RfmCondition(_Rule):
    """In one of the RFM groups of the nightly scores: ``{"rfm": ["champions", "loyal"]}``."""

    rfm: list[str] = Field(min_length=1, max_length=len(RFM_GROUPS))

    @field_validator("rfm")
    @classmethod
    def _known_groups(cls, groups: list[str]) -> list[str]:
        unknown = [name for name in groups if name not in RFM_GROUPS]
        if unknown:
            raise ValueError(f"unknown RFM group {unknown[0]!r}; choose from {', '.join(RFM_GROUPS)}")
        return groups


PREDICTED_MEASURES = ("value", "probability_alive", "expected_purchases")
PredictedMeasure = Literal["value", "probability_alive", "expected_purchases"]
NumberComparison = Literal["gt", "gte", "lt", "lte"]


class PredictedCondition(_Rule):
    """The value model's nightly predictions compared to numbers, every comparison holding:
    ``{"predicted": {"value": {"gte": 1000000}, "probability_alive": {"gte": 0.5}}}`` (value in VND)."""

    predicted: dict[PredictedMeasure, dict[NumberComparison, float]] = Field(min_length=1, max_length=3)

    @field_validator("predicted")
    @classmethod
    def _comparisons(cls, predicted: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for measure, compared in predicted.items():
            if not compared:
                raise ValueError(f"'{measure}' needs a comparison such as {{\"gte\": 1}}")
            if measure == "probability_alive" and any(not 0 <= bound <= 1 for bound in compared.values()):
                raise ValueError("'probability_alive' is compared with a number from 0 to 1")
        return predicted


class FieldCondition(_Rule):
    """A custom field of the customer, with the operators of ``xuyen.fields.filters``."""

    field: str = Field(pattern=KEY_PATTERN)
    op: Literal["equals", "contains", "between", "any_of", "is_set"]
    value: Any


class ProvinceCondition(_Rule):
    """Lives in a province, named as today (34 provinces) or as before July 2025 (63)."""

    province: str = Field(min_length=2, max_length=100)


class NearStoreCondition(_Rule):
    """Within ``km`` of a store (by its code), by the customer's ``latitude`` and ``longitude`` traits."""

    near_store: str = Field(min_length=1, max_length=32)
    km: float = Field(gt=0, le=100)


Condition = (TraitCondition | ComputedCondition | ConsentCondition | DidCondition | DidNotCondition
             | OrdersCondition | BoughtCondition | TierCondition | FieldCondition | ProvinceCondition
             | NearStoreCondition | RfmCondition | PredictedCondition)

# The key that names each kind of condition.
KINDS: dict[str, type[_Rule]] = {
    "trait": TraitCondition, "computed": ComputedCondition, "consent": ConsentCondition, "did": DidCondition,
    "did_not": DidNotCondition, "orders": OrdersCondition, "bought": BoughtCondition, "tier": TierCondition,
    "field": FieldCondition, "province": ProvinceCondition, "near_store": NearStoreCondition, "rfm": RfmCondition,
    "predicted": PredictedCondition,
}


class Group(BaseModel):
    """``{"all": [...]}`` (every item holds) or ``{"any": [...]}`` (at least one does)."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["all", "any"]
    items: tuple[Group | Condition, ...]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked_properties(where: dict[str, Scalar]) -> dict[str, Scalar]:
    for key in where:
        if not re.fullmatch(KEY_PATTERN, key):
            raise ValueError(f"{key!r} is not a property name (letters, digits, _)")
    return where


class _Problems:
    def __init__(self) -> None:
        self.by_path: dict[str, str] = {}
        self.count = 0

    def add(self, path: str, message: str) -> None:
        self.by_path.setdefault(path, message)


def parse_rule(definition: Any) -> Group:
    """The definition read into a group of conditions; ValidationFailed (``invalid_segment_rule``) naming every
    problem by its path otherwise."""
    problems = _Problems()
    group = _group(definition, path="", depth=1, problems=problems)
    if problems.by_path or group is None:
        listed = "; ".join(f"{path or 'rule'}: {message}" for path, message in problems.by_path.items())
        raise ValidationFailed(f"The segment rule is not valid: {listed}", code="invalid_segment_rule",
                               details={"errors": problems.by_path})
    return group


def _group(raw: Any, *, path: str, depth: int, problems: _Problems) -> Group | None:
    if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in ("all", "any"):
        problems.add(path, 'a group is {"all": [...]} or {"any": [...]}')
        return None
    mode, items = next(iter(raw.items()))
    if depth > MAX_DEPTH:
        problems.add(path, f"groups nest at most {MAX_DEPTH} deep")
        return None
    if not isinstance(items, list) or not items:
        problems.add(f"{path}{mode}".lstrip("."), "expects a non-empty list of conditions")
        return None
    parsed: list[Group | Condition] = []
    for index, item in enumerate(items):
        problems.count += 1
        item_path = f"{path}{mode}[{index}]"
        if problems.count > MAX_CONDITIONS:
            problems.add(item_path, f"a rule holds at most {MAX_CONDITIONS} conditions")
            return None
        found: Group | Condition | None
        if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in ("all", "any"):
            found = _group(item, path=f"{item_path}.", depth=depth + 1, problems=problems)
        else:
            found = _condition(item, path=item_path, problems=problems)
        if found is not None:
            parsed.append(found)
    return Group(mode=mode, items=tuple(parsed))


def _condition(raw: Any, *, path: str, problems: _Problems) -> Condition | None:
    if not isinstance(raw, dict):
        problems.add(path, "expects a condition (an object)")
        return None
    kinds = [key for key in raw if key in KINDS]
    if len(kinds) != 1:
        known = ", ".join(KINDS)
        problems.add(path, f"a condition names exactly one of {known}" if kinds
                     else f"unknown condition {sorted(raw)!r}; a condition names one of {known}")
        return None
    try:
        return KINDS[kinds[0]].model_validate(raw)  # type: ignore[return-value]
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown field for a '{kinds[0]}' condition"
            elif error["type"] == "literal_error":
                message = f"{error.get('input')!r} is not allowed; {message.lower()}"
            problems.add(f"{path}.{where}" if where else path, message)
        return None


def walk(group: Group) -> list[Condition]:
    """Every condition of the rule, depth first."""
    found: list[Condition] = []
    for item in group.items:
        found.extend(walk(item) if isinstance(item, Group) else [item])
    return found
