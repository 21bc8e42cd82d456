"""The rules of the customer-journey funnel's eight stages: which events put a customer in each stage.

A stage's rule is a list of matchers; an event that fits any of them puts its customer in the stage. A matcher
names a tracked event (``"event": "Product Viewed"``) or a call type (``"type": "page"``), and may add:

- ``where``: property conditions, each ``"name": value`` (equal) or ``"name": {"gte": 4}`` (``lt``, ``lte``,
  ``gt``, ``gte`` compare numbers);
- ``nth``: only the customer's n-th event fitting the matcher counts (counted over all their history, every
  channel), e.g. the second ``Order Completed`` for repurchase;
- ``after``: only events after the customer first reached that (earlier) stage in the period count, e.g. a
  ``Message Received`` after a purchase is use.

Managers edit the rules on the funnel page; with no saved rule a stage uses its default below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xuyen.analytics.funnel_models import FunnelStageRule
from xuyen.clock import utcnow
from xuyen.errors import ValidationFailed

STAGES: tuple[str, ...] = ("awareness", "consideration", "evaluation", "trial", "purchase", "use", "advocacy",
                           "repurchase")
TRIAL_ORDER_BELOW = 500_000  # đồng: a first order under this is a small order to try the brand
MAX_MATCHERS = 12
MAX_RULES_CHARS = 20_000

DEFAULT_RULES: dict[str, list[dict[str, Any]]] = {
    "awareness": [{"type": "page"}, {"type": "screen"}, {"event": "Message Received", "nth": 1},
                  {"event": "Channel Followed"}, {"event": "Promotion Viewed"}, {"event": "Promotion Clicked"}],
    "consideration": [{"event": "Product Viewed"}, {"event": "Product List Viewed"}, {"event": "Products Searched"},
                      {"event": "Product Clicked"}],
    "evaluation": [{"event": "Product Added"}, {"event": "Product Added to Wishlist"}, {"event": "Cart Viewed"},
                   {"event": "Checkout Started"}],
    "trial": [{"event": "Order Completed", "nth": 1, "where": {"total": {"lt": TRIAL_ORDER_BELOW}}},
              {"event": "Trial Started"}],
    "purchase": [{"event": "Order Completed"}],
    "use": [{"event": "Order Delivered"}, {"event": "Service Completed"}, {"event": "Product Reviewed"},
            {"event": "Message Received", "after": "purchase"}],
    "advocacy": [{"event": "Product Reviewed", "where": {"rating": {"gte": 4}}}, {"event": "Product Shared"},
                 {"event": "Cart Shared"}],
    "repurchase": [{"event": "Order Completed", "nth": 2}],
}

Scalar = str | int | float | bool
Comparison = dict[Literal["lt", "lte", "gt", "gte"], float]


class Matcher(BaseModel):
    """One kind of event that puts a customer in a stage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str | None = Field(default=None, min_length=1, max_length=200)
    type: Literal["page", "screen", "identify", "track"] | None = None
    where: dict[str, Scalar | Comparison] = Field(default_factory=dict, max_length=5)
    nth: int | None = Field(default=None, ge=1, le=50)
    after: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Matcher:
        if (self.event is None) == (self.type is None):
            raise ValueError("name either an event or a call type (page, screen, identify, track)")
        for key, value in self.where.items():
            if not key or len(key) > 64:
                raise ValueError("a property name has 1 to 64 characters")
            if isinstance(value, dict) and not value:
                raise ValueError(f"the condition on '{key}' compares nothing")
        return self

    def fits(self, *, kind: str, event: str | None, properties: dict[str, Any]) -> bool:
        """Whether an event of call type ``kind`` named ``event`` with ``properties`` fits (``nth`` and ``after``
        aside)."""
        if self.event is not None and (kind != "track" or event != self.event):
            return False
        if self.type is not None and kind != self.type:
            return False
        return all(_condition_holds(properties.get(key), wanted) for key, wanted in self.where.items())


def _condition_holds(actual: Any, wanted: Scalar | Comparison) -> bool:
    if not isinstance(wanted, dict):
        return bool(actual == wanted)
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False
    checks = {"lt": actual < wanted.get("lt", 0), "lte": actual <= wanted.get("lte", 0),
              "gt": actual > wanted.get("gt", 0), "gte": actual >= wanted.get("gte", 0)}
    return all(checks[operator] for operator in wanted)


@dataclass(frozen=True)
class Stage:
    """A funnel stage with its rule."""

    key: str
    position: int
    matchers: tuple[Matcher, ...]
    is_default: bool


def parse_rules(raw: Any) -> dict[str, tuple[Matcher, ...]]:
    """Every stage's matchers from ``{stage: [matcher, …]}`` holding all eight stages; ``ValidationFailed``
    (code ``invalid_funnel_rules``) listing each problem by its place otherwise."""
    problems: dict[str, str] = {}
    if not isinstance(raw, dict):
        raise ValidationFailed("The rules are an object with one list of matchers per stage.",
                               code="invalid_funnel_rules", details={"problems": {"": "not an object"}})
    for key in raw:
        if key not in STAGES:
            problems[str(key)[:40]] = "not a stage: " + ", ".join(STAGES)
    parsed: dict[str, tuple[Matcher, ...]] = {}
    for position, key in enumerate(STAGES):
        matchers = raw.get(key)
        if not isinstance(matchers, list) or not 1 <= len(matchers) <= MAX_MATCHERS:
            problems[key] = f"a list of 1 to {MAX_MATCHERS} matchers"
            continue
        parsed[key] = tuple(_matchers(key, matchers, problems, earlier=STAGES[:position]))
    if problems:
        raise ValidationFailed("The funnel rules were not saved: " + "; ".join(
            f"{place}: {text}" for place, text in problems.items()), code="invalid_funnel_rules",
            details={"problems": problems})
    return parsed


def _matchers(key: str, items: list[Any], problems: dict[str, str], *, earlier: tuple[str, ...]) -> list[Matcher]:
    found: list[Matcher] = []
    for index, item in enumerate(items):
        place = f"{key}[{index}]"
        try:
            matcher = Matcher.model_validate(item)
        except ValidationError as exc:
            problems[place] = "; ".join(_message(error) for error in exc.errors())
            continue
        if matcher.after is not None and matcher.after not in earlier:
            problems[place] = "'after' names an earlier stage"
            continue
        found.append(matcher)
    return found


def _message(error: Any) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    text = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {text}" if where else text


def read_rules_text(text: str) -> Any:
    """The JSON a manager typed, or ``ValidationFailed`` (code ``invalid_json``)."""
    if len(text) > MAX_RULES_CHARS:
        raise ValidationFailed("The rules are too long.", code="funnel_rules_too_large")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationFailed(f"The rules are not valid JSON: {exc}", code="invalid_json") from None


def load_stages(session: Session) -> list[Stage]:
    """The eight stages in order, each with its saved rule or its default."""
    saved = {row.stage: row for row in session.scalars(select(FunnelStageRule))}
    stages = []
    for position, key in enumerate(STAGES):
        row = saved.get(key)
        raw = row.matchers if row is not None else DEFAULT_RULES[key]
        stages.append(Stage(key=key, position=position, is_default=row is None,
                            matchers=tuple(Matcher.model_validate(item) for item in raw)))
    return stages


def rules_document(stages: list[Stage]) -> dict[str, list[dict[str, Any]]]:
    """The stages' rules as the JSON document the editor shows."""
    return {stage.key: [matcher.model_dump(exclude_defaults=True) for matcher in stage.matchers]
            for stage in stages}


def save_rules(session: Session, *, raw: Any, actor: str) -> list[Stage]:
    """Replace every stage's rule with ``raw`` (all eight, validated first: nothing is saved when one is wrong)."""
    parsed = parse_rules(raw)
    session.execute(delete(FunnelStageRule))
    now = utcnow()
    for position, key in enumerate(STAGES):
        session.add(FunnelStageRule(stage=key, position=position, updated_by=actor[:200], updated_at=now,
                                    matchers=[m.model_dump(exclude_defaults=True) for m in parsed[key]]))
    session.commit()
    return load_stages(session)


def reset_rules(session: Session) -> list[Stage]:
    """Go back to the default rules."""
    session.execute(delete(FunnelStageRule))
    session.commit()
    return load_stages(session)
