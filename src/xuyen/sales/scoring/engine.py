"""The arithmetic of a lead's score, without the database: behaviour points from events (capped per period,
halving every half-life), fit points from what the lead is, and the parts kept to explain the score."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from xuyen.fields.filters import Condition
from xuyen.identity.names import fold_name
from xuyen.sales.scoring.models import CapPeriod, RuleKind, ScoringRule
from xuyen.sales.scoring.rules import PAGE_VIEWED, fit_condition

RECENT_KEPT = 10
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class SeenEvent:
    """What scoring reads of an event in the log."""

    id: int
    type: str
    event: str | None
    properties: Mapping[str, Any]
    timestamp: datetime


@dataclass(frozen=True)
class Hit:
    """Points a behaviour rule gave for one event: ``points`` then, ``worth`` now that time has passed."""

    rule: ScoringRule
    event: SeenEvent
    points: int
    worth: float


@dataclass(frozen=True)
class Scored:
    """A lead's score and why."""

    score: int
    parts: dict[str, Any]


def event_name(event: SeenEvent) -> str:
    """The name a behaviour rule matches: the track event's name, or ``Page Viewed`` for a page call."""
    return PAGE_VIEWED if event.type == "page" else (event.event or "")


def _property_matches(rule: ScoringRule, event: SeenEvent) -> bool:
    if not rule.property_key:
        return True
    value = event.properties.get(rule.property_key)
    if value is None or isinstance(value, (dict, list)):
        return False
    return fold_name(str(value)) == fold_name(rule.property_value)


def _period_of(moment: datetime, period: CapPeriod | None, zone: ZoneInfo) -> tuple[int, ...]:
    local = moment.astimezone(zone)
    if period is CapPeriod.day:
        return local.year, local.month, local.day
    if period is CapPeriod.week:
        year, week, _ = local.isocalendar()
        return year, week
    if period is CapPeriod.month:
        return local.year, local.month
    return ()


def decayed(points: float, *, at: datetime, now: datetime, half_life_days: int) -> float:
    """``points`` given at ``at``, worth at ``now``: halved every ``half_life_days``."""
    age_days = max(0.0, (now - at).total_seconds() / SECONDS_PER_DAY)
    return points * 0.5 ** (age_days / half_life_days)


def behaviour_hits(rules: Sequence[ScoringRule], events: Iterable[SeenEvent], *, now: datetime, half_life_days: int,
                   zone: ZoneInfo) -> list[Hit]:
    """Every award of the behaviour ``rules`` for ``events`` (oldest first), each rule's cap applied per period."""
    by_name: dict[str, list[ScoringRule]] = {}
    for rule in rules:
        if rule.kind is RuleKind.behaviour:
            by_name.setdefault(rule.event, []).append(rule)
    used: dict[tuple[int, tuple[int, ...]], int] = {}
    hits: list[Hit] = []
    for event in sorted(events, key=lambda item: (item.timestamp, item.id)):
        if event.timestamp > now:
            continue
        for rule in by_name.get(event_name(event), ()):
            if not _property_matches(rule, event):
                continue
            points = rule.points
            if rule.cap_points is not None:
                window = (rule.id, _period_of(event.timestamp, rule.cap_period, zone))
                points = min(points, rule.cap_points - used.get(window, 0))
                if points <= 0:
                    continue
                used[window] = used.get(window, 0) + points
            hits.append(Hit(rule=rule, event=event, points=points,
                            worth=decayed(points, at=event.timestamp, now=now, half_life_days=half_life_days)))
    return hits


def _number(text: Any) -> float | None:
    try:
        return float(str(text).replace(" ", "").replace(",", "."))
    except ValueError:
        return None


def _matches(actual: Sequence[str], condition: Condition) -> bool:
    present = [value for value in actual if str(value).strip()]
    if condition.op == "is_set":
        wanted = str(condition.value).strip().lower() not in ("no", "false", "0", "không")
        return bool(present) == wanted
    folded = [fold_name(str(value)) for value in present]
    if condition.op == "equals":
        return fold_name(str(condition.value)) in folded
    if condition.op == "contains":
        words = fold_name(str(condition.value)).split()
        return bool(words) and any(all(word in value for word in words) for value in folded)
    if condition.op == "any_of":
        return bool({fold_name(str(item)) for item in condition.value} & set(folded))
    low, high = (None if bound is None else _number(bound) for bound in condition.value)
    numbers = [number for number in (_number(value) for value in present) if number is not None]
    return any((low is None or number >= low) and (high is None or number <= high) for number in numbers)


def attribute_values(attribute: str, *, lead: Mapping[str, Any], traits: Mapping[str, Any]) -> list[str]:
    """The values of a lead's attribute (``province``, ``label``, ``trait.<name>`` …), as text."""
    if attribute.startswith("trait."):
        raw = traits.get(attribute[len("trait."):])
    elif attribute == "label":
        raw = lead.get("labels") or []
    else:
        raw = lead.get(attribute)
    if raw is None or isinstance(raw, dict):
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [str(value) for value in values if value is not None and not isinstance(value, (dict, list))]


def fit_matches(rule: ScoringRule, *, lead: Mapping[str, Any], traits: Mapping[str, Any]) -> bool:
    """Whether a fit rule on the lead's own columns or the customer's traits holds."""
    return _matches(attribute_values(rule.attribute, lead=lead, traits=traits), fit_condition(rule))


def score(*, hits: Sequence[Hit], fit_rules: Sequence[ScoringRule], half_life_days: int) -> Scored:
    """The score (never below 0) from the behaviour ``hits`` and the matching ``fit_rules``, with its parts."""
    behaviour: dict[int, dict[str, Any]] = {}
    for hit in hits:
        part = behaviour.setdefault(hit.rule.id, {"rule_id": hit.rule.id, "name": hit.rule.name, "points": 0.0,
                                                  "events": 0})
        part["points"] += hit.worth
        part["events"] += 1
    fit = [{"rule_id": rule.id, "name": rule.name, "points": rule.points} for rule in fit_rules]
    total = sum(part["points"] for part in behaviour.values()) + sum(rule.points for rule in fit_rules)
    recent = [{"rule_id": hit.rule.id, "name": hit.rule.name, "event": event_name(hit.event),
               "at": hit.event.timestamp.isoformat(), "points": hit.points, "worth": round(hit.worth, 1)}
              for hit in sorted(hits, key=lambda item: (item.event.timestamp, item.event.id), reverse=True)
              [:RECENT_KEPT]]
    return Scored(score=max(0, round(total)), parts={
        "behaviour": sorted(({**part, "points": round(part["points"], 1)} for part in behaviour.values()),
                            key=lambda part: -part["points"]),
        "fit": fit, "recent": recent, "half_life_days": half_life_days})
