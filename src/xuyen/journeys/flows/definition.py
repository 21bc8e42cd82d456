"""The journey definition: its JSON form (docs/journeys.md), read into typed nodes, with every problem reported by
its path (``nodes.n3.template_id``) so an editor can point at it. Checks that need the database (a template, a
segment, a promotion, a user that exists) are made by the service."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from xuyen.errors import ValidationFailed
from xuyen.journeys.policy.settings import CHANNELS, PURPOSES
from xuyen.segments.rules import parse_rule

MAX_NODES = 100
MAX_DEFINITION_BYTES = 200_000
NODE_ID = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
Scalar = str | int | float | bool
NodeId = str | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Duration(_Strict):
    """A length of time; at least a minute, at most a year."""

    days: int = Field(default=0, ge=0, le=365)
    hours: int = Field(default=0, ge=0, le=8760)
    minutes: int = Field(default=0, ge=0, le=525600)

    @model_validator(mode="after")
    def _sensible(self) -> Duration:
        if not timedelta(minutes=1) <= self.delta <= timedelta(days=366):
            raise ValueError("a duration is between one minute and one year")
        return self

    @property
    def delta(self) -> timedelta:
        """The duration as a ``timedelta``."""
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


def _where(value: dict[str, Scalar]) -> dict[str, Scalar]:
    if len(value) > 5:
        raise ValueError("at most 5 property conditions")
    if any(not key or len(key) > 100 for key in value):
        raise ValueError("a property name has 1 to 100 characters")
    return value


EventName = Annotated[str, Field(min_length=1, max_length=200)]


# Triggers ------------------------------------------------------------------------------------------------


class EventTrigger(_Strict):
    type: Literal["event"]
    event: EventName
    where: dict[str, Scalar] = Field(default_factory=dict)

    _check_where = field_validator("where")(_where)


class SegmentTrigger(_Strict):
    type: Literal["segment_entered"]
    segment_id: int = Field(ge=1)


class DateTrigger(_Strict):
    type: Literal["date"]
    trait: str = Field(min_length=1, max_length=100)
    offset_days: int = Field(default=0, ge=-30, le=30)
    at: str = "09:00"

    @field_validator("at")
    @classmethod
    def _time(cls, value: str) -> str:
        if not TIME_OF_DAY.match(value):
            raise ValueError("a time of day is written HH:MM, e.g. 09:00")
        return value


class BroadcastTrigger(_Strict):
    type: Literal["broadcast"]
    segment_id: int = Field(ge=1)


Trigger = Annotated[EventTrigger | SegmentTrigger | DateTrigger | BroadcastTrigger, Field(discriminator="type")]


# Settings ------------------------------------------------------------------------------------------------


class Goal(_Strict):
    event: EventName
    where: dict[str, Scalar] = Field(default_factory=dict)

    _check_where = field_validator("where")(_where)


class Settings(_Strict):
    entry: Literal["once", "again"] = "once"
    reentry_days: int = Field(default=30, ge=1, le=3650)
    filter: dict[str, Any] | None = None
    goal: Goal | None = None
    holdout_percent: int = Field(default=0, ge=0, le=50)
    conversion_days: int = Field(default=7, ge=1, le=90)

    @property
    def conversion_event(self) -> str:
        """The event that counts as a conversion: the goal's, else a completed order."""
        return self.goal.event if self.goal is not None else "Order Completed"


# Nodes ---------------------------------------------------------------------------------------------------


class _Node(_Strict):
    label: str = Field(default="", max_length=120)

    def successors(self) -> list[tuple[str, NodeId]]:
        """The node's exits: (label, node id or None)."""
        next_id = getattr(self, "next", None)
        return [("next", next_id)]


class Delay(_Node):
    type: Literal["delay"]
    for_: Duration | None = Field(default=None, alias="for")
    until_time: str | None = None
    until_date: datetime | None = None
    next: NodeId = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_kind(self) -> Delay:
        given = [value for value in (self.for_, self.until_time, self.until_date) if value is not None]
        if len(given) != 1:
            raise ValueError("a delay names exactly one of 'for', 'until_time' or 'until_date'")
        if self.until_time is not None and not TIME_OF_DAY.match(self.until_time):
            raise ValueError("a time of day is written HH:MM, e.g. 09:00")
        if self.until_date is not None and self.until_date.tzinfo is not None:
            raise ValueError("'until_date' is a local date and time without a zone, e.g. 2026-12-24T09:00")
        return self


class WaitEvent(_Node):
    type: Literal["wait_event"]
    event: EventName
    where: dict[str, Scalar] = Field(default_factory=dict)
    timeout: Duration
    next: NodeId = None
    timeout_next: NodeId = None

    _check_where = field_validator("where")(_where)

    def successors(self) -> list[tuple[str, NodeId]]:
        """The event came (``next``) or the timeout passed (``timeout``)."""
        return [("next", self.next), ("timeout", self.timeout_next)]


class PropertyTest(_Strict):
    """A test of the triggering event's property (``properties.total >= 2000000``)."""

    property: str = Field(min_length=1, max_length=100)
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "exists"]
    value: Scalar | None = None

    @model_validator(mode="after")
    def _value(self) -> PropertyTest:
        if self.op != "exists" and self.value is None:
            raise ValueError("give the value to compare with")
        if self.op in ("gt", "gte", "lt", "lte") and (isinstance(self.value, bool)
                                                       or not isinstance(self.value, int | float)):
            raise ValueError("gt, gte, lt and lte compare numbers")
        return self

    def holds(self, properties: dict[str, Any]) -> bool:
        """Whether the event's properties pass the test."""
        found = properties.get(self.property)
        if self.op == "exists":
            return found is not None
        if self.op in ("eq", "ne"):
            return (found == self.value) == (self.op == "eq")
        if isinstance(found, bool) or not isinstance(found, int | float):
            return False
        number = float(self.value)  # type: ignore[arg-type]
        return {"gt": found > number, "gte": found >= number, "lt": found < number, "lte": found <= number}[self.op]


class Condition(_Node):
    """A yes/no branch on a segment rule about the customer (``rule``), or on the triggering event (``event``)."""

    type: Literal["condition"]
    rule: dict[str, Any] | None = None
    event: PropertyTest | None = None
    yes: NodeId = None
    no: NodeId = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.rule is None) == (self.event is None):
            raise ValueError("a condition tests either a segment 'rule' or the triggering 'event'")
        return self

    def successors(self) -> list[tuple[str, NodeId]]:
        """The rule held (``yes``) or not (``no``)."""
        return [("yes", self.yes), ("no", self.no)]


class Branch(_Strict):
    label: str = Field(min_length=1, max_length=40)
    percent: int = Field(ge=0, le=100)
    next: NodeId = None


class Split(_Node):
    type: Literal["split"]
    branches: list[Branch] = Field(min_length=2, max_length=5)

    @model_validator(mode="after")
    def _adds_up(self) -> Split:
        if sum(branch.percent for branch in self.branches) != 100:
            raise ValueError("the branches' percents must add up to 100")
        if len({branch.label for branch in self.branches}) != len(self.branches):
            raise ValueError("each branch needs its own label")
        return self

    def successors(self) -> list[tuple[str, NodeId]]:
        """One exit per branch, named by its label."""
        return [(branch.label, branch.next) for branch in self.branches]


class Send(_Node):
    type: Literal["send"]
    template_id: int = Field(ge=1)
    channel: str | None = None
    purpose: str = "marketing"
    on_cap: Literal["defer", "skip"] = "defer"
    next: NodeId = None

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and value not in CHANNELS:
            raise ValueError(f"the channel is one of {', '.join(CHANNELS)}")
        return value

    @field_validator("purpose")
    @classmethod
    def _purpose(cls, value: str) -> str:
        if value not in PURPOSES:
            raise ValueError(f"the purpose is one of {', '.join(PURPOSES)}")
        return value


class UpdateProfile(_Node):
    type: Literal["update_profile"]
    traits: dict[str, Scalar | None] = Field(min_length=1, max_length=20)
    next: NodeId = None

    @field_validator("traits")
    @classmethod
    def _names(cls, value: dict[str, Scalar | None]) -> dict[str, Scalar | None]:
        if any(not name or len(name) > 100 for name in value):
            raise ValueError("a trait name has 1 to 100 characters")
        if any(isinstance(item, str) and len(item) > 500 for item in value.values()):
            raise ValueError("a trait value has at most 500 characters")
        return value


class IssueCoupon(_Node):
    type: Literal["coupon"]
    promotion_id: int = Field(ge=1)
    next: NodeId = None


class UserRef(_Strict):
    user_id: int = Field(ge=1)


Assignee = Literal["store_manager", "owner", "managers"] | UserRef


class CreateTask(_Node):
    type: Literal["task"]
    title: str = Field(min_length=1, max_length=200)
    kind: Literal["call", "meeting", "follow_up"] = "follow_up"
    due_in: Duration = Field(default_factory=lambda: Duration(hours=4))
    assign: Assignee = "store_manager"
    next: NodeId = None


class Notify(_Node):
    type: Literal["notify"]
    text: str = Field(min_length=1, max_length=500)
    to: Assignee = "store_manager"
    next: NodeId = None


class Webhook(_Node):
    type: Literal["webhook"]
    url: str = Field(min_length=8, max_length=2000)
    next: NodeId = None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("the address starts with http:// or https://")
        return value


class Exit(_Node):
    type: Literal["exit"]

    def successors(self) -> list[tuple[str, NodeId]]:
        """None: the journey ends here."""
        return []


Node = Annotated[Delay | WaitEvent | Condition | Split | Send | UpdateProfile | IssueCoupon | CreateTask | Notify
                 | Webhook | Exit, Field(discriminator="type")]
NODE_TYPES = ("delay", "wait_event", "condition", "split", "send", "update_profile", "coupon", "task", "notify",
              "webhook", "exit")
_NODE: TypeAdapter[Any] = TypeAdapter(cast(Any, Node))
_TRIGGER: TypeAdapter[Any] = TypeAdapter(cast(Any, Trigger))


class Definition(_Strict):
    """A whole journey definition, read and checked."""

    trigger: Any
    settings: Settings
    start: str
    nodes: dict[str, Any]

    def node(self, node_id: str) -> Any:
        """The typed node with this id."""
        return self.nodes[node_id]


class InvalidDefinition(Exception):
    """The definition does not fit; ``errors`` maps each problem's path to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors.items()))
        self.errors = errors


def _message(error: Any) -> str:
    text = str(error.get("msg", "invalid"))
    return text.removeprefix("Value error, ")


def _collect(errors: dict[str, str], prefix: str, exc: ValidationError) -> None:
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if not str(part).startswith("function-")]
        # A discriminated union names the chosen member first; it says nothing to the reader.
        if location and location[0] in (*NODE_TYPES, "event", "segment_entered", "date", "broadcast"):
            location = location[1:]
        path = ".".join([prefix, *location]) if location else prefix
        errors.setdefault(path, _message(error))


def _read_part(errors: dict[str, str], path: str, adapter: Any, raw: Any) -> Any:
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        _collect(errors, path, exc)
    return None


def _check_rule(errors: dict[str, str], path: str, rule: dict[str, Any] | None) -> None:
    """A segment rule (a condition step's, the filter) checked by the segments' own parser."""
    if rule is None:
        return
    try:
        parse_rule(rule)
    except ValidationFailed as exc:
        for where, message in (exc.details.get("errors") or {"": str(exc)}).items():
            errors[f"{path}.{where}" if where else path] = message


def _read_nodes(errors: dict[str, str], raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        errors["nodes"] = "a journey needs at least one step"
        return {}
    if len(raw) > MAX_NODES:
        errors["nodes"] = f"a journey has at most {MAX_NODES} steps"
        return {}
    nodes: dict[str, Any] = {}
    for node_id, item in raw.items():
        if not NODE_ID.match(str(node_id)):
            errors[f"nodes.{str(node_id)[:40]}"] = "a step id is 1 to 32 lower-case letters, digits, - or _, " \
                                                  "starting with a letter"
            continue
        if not isinstance(item, dict) or item.get("type") not in NODE_TYPES:
            errors[f"nodes.{node_id}.type"] = f"the step type is one of {', '.join(NODE_TYPES)}"
            continue
        node = _read_part(errors, f"nodes.{node_id}", _NODE, item)
        if node is not None:
            nodes[node_id] = node
    return nodes


def _check_graph(errors: dict[str, str], start: Any, nodes: dict[str, Any], raw_ids: set[str]) -> None:
    """Every exit names a known step, every step is reached from ``start``, and no path comes back on itself."""
    if not isinstance(start, str) or start not in raw_ids:
        errors["start"] = f"unknown step {str(start)[:40]!r}" if start else "say which step comes first"
        return
    for node_id, node in nodes.items():
        for label, target in node.successors():
            if target is not None and target not in raw_ids:
                key = "next" if label == "next" else ("timeout_next" if label == "timeout" else label)
                errors[f"nodes.{node_id}.{key}"] = f"unknown step {target[:40]!r}"
    reached: set[str] = set()
    state: dict[str, int] = {}

    def visit(node_id: str) -> None:
        state[node_id] = 1
        reached.add(node_id)
        node = nodes.get(node_id)
        for _, target in node.successors() if node is not None else []:
            if target is None or target not in raw_ids:
                continue
            if state.get(target) == 1:
                errors.setdefault(f"nodes.{node_id}", f"this step leads back to {target!r}: a journey only moves "
                                                      "forward")
            elif state.get(target) is None:
                visit(target)
        state[node_id] = 2

    visit(start)
    for node_id in sorted(raw_ids - reached):
        errors.setdefault(f"nodes.{node_id}", "no step leads here")


def parse_definition(raw: Any) -> Definition:
    """The definition read and checked as a whole; ``InvalidDefinition`` lists every problem found."""
    errors: dict[str, str] = {}
    if not isinstance(raw, dict):
        raise InvalidDefinition({"": "a journey definition is a JSON object"})
    unknown = sorted(set(raw) - {"trigger", "settings", "start", "nodes", "layout"})
    for key in unknown:
        errors[str(key)[:40]] = "unknown part of a journey definition"
    trigger = _read_part(errors, "trigger", _TRIGGER, raw.get("trigger")) if raw.get("trigger") is not None \
        else errors.setdefault("trigger", "say what makes a customer enter")
    settings = _read_part(errors, "settings", TypeAdapter(Settings), raw.get("settings") or {})
    nodes = _read_nodes(errors, raw.get("nodes"))
    raw_ids = {str(key) for key in raw.get("nodes") or {}} if isinstance(raw.get("nodes"), dict) else set()
    if raw_ids:
        _check_graph(errors, raw.get("start"), nodes, raw_ids)
    if settings is not None:
        _check_rule(errors, "settings.filter", settings.filter)
    for node_id, node in nodes.items():
        if isinstance(node, Condition):
            _check_rule(errors, f"nodes.{node_id}.rule", node.rule)
    if errors:
        raise InvalidDefinition(errors)
    return Definition(trigger=trigger, settings=settings, start=raw["start"], nodes=nodes)


def blank_definition() -> dict[str, Any]:
    """A new journey's first draft: an event trigger, one step that ends it."""
    return {"trigger": {"type": "event", "event": "Order Completed", "where": {}},
            "settings": {"entry": "once", "holdout_percent": 0, "conversion_days": 7},
            "start": "end", "nodes": {"end": {"type": "exit"}}}
