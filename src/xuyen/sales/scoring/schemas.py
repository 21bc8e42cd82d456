"""Lead scoring API bodies and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from xuyen.sales.scoring.models import CapPeriod, RuleKind, ScoringRule
from xuyen.sales.scoring.rules import MAX_HALF_LIFE_DAYS, MAX_POINTS, RuleSpec


class RuleIn(BaseModel):
    """A scoring rule. Behaviour: ``event`` (and optionally ``property_key``/``property_value``, a cap of
    ``cap_points`` per ``cap_period``). Fit: ``attribute``, ``op`` and ``value``."""

    model_config = ConfigDict(extra="forbid")

    kind: RuleKind
    name: str = Field(min_length=1, max_length=200)
    points: int = Field(ge=-MAX_POINTS, le=MAX_POINTS)
    event: str = Field(default="", max_length=200)
    property_key: str = Field(default="", max_length=100)
    property_value: str = Field(default="", max_length=200)
    cap_points: int | None = Field(default=None, ge=1, le=MAX_POINTS * 100)
    cap_period: CapPeriod | None = None
    attribute: str = Field(default="", max_length=120)
    op: str = Field(default="", max_length=16)
    value: str = Field(default="", max_length=200)
    active: bool = True

    def spec(self) -> RuleSpec:
        """The rule as the service takes it."""
        return RuleSpec(**self.model_dump())


class RulePatch(BaseModel):
    """Fields of a rule to change; those left out stay (``cap_points``/``cap_period`` null: no cap)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    points: int | None = Field(default=None, ge=-MAX_POINTS, le=MAX_POINTS)
    event: str | None = Field(default=None, max_length=200)
    property_key: str | None = Field(default=None, max_length=100)
    property_value: str | None = Field(default=None, max_length=200)
    cap_points: int | None = Field(default=None, ge=1, le=MAX_POINTS * 100)
    cap_period: CapPeriod | None = None
    attribute: str | None = Field(default=None, max_length=120)
    op: str | None = Field(default=None, max_length=16)
    value: str | None = Field(default=None, max_length=200)
    active: bool | None = None

    def changes(self) -> dict[str, object]:
        """The fields the caller sent (only the cap may be set to null)."""
        return {key: value for key, value in self.model_dump(exclude_unset=True).items()
                if value is not None or key in ("cap_points", "cap_period")}


class RuleOut(RuleIn):
    """A scoring rule as stored."""

    model_config = ConfigDict(extra="ignore")

    id: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: ScoringRule) -> RuleOut:
        """The API view of a rule."""
        return cls(id=rule.id, kind=rule.kind, name=rule.name, points=rule.points, event=rule.event,
                   property_key=rule.property_key, property_value=rule.property_value, cap_points=rule.cap_points,
                   cap_period=rule.cap_period, attribute=rule.attribute, op=rule.op, value=rule.value,
                   active=rule.active, created_at=rule.created_at, updated_at=rule.updated_at)


class SettingsIn(BaseModel):
    """How fast behaviour points lose value: they halve every ``half_life_days``."""

    model_config = ConfigDict(extra="forbid")

    half_life_days: int = Field(ge=1, le=MAX_HALF_LIFE_DAYS)


class SettingsOut(SettingsIn):
    """The scoring settings, with the event names behaviour rules are offered and the lead attributes fit rules
    test (besides ``trait.<name>``, ``field.lead.<key>`` and ``field.customer.<key>``)."""

    events: list[str]
    attributes: list[str]
