"""The scoring rules a manager edits: what each kind of rule may say, their checks, and the suggested set.

Behaviour rules name an event of the event log. Fit rules name an ``attribute`` of the lead:

- ``province``, ``product_interest``, ``campaign``, ``source``, ``label`` (any of the lead's labels), ``phone``,
  ``email``: the lead's own columns;
- ``trait.<name>``: a trait of the customer (as the 360 page shows them);
- ``field.lead.<key>`` and ``field.customer.<key>``: a custom field of the lead or of the customer, with the
  operators and values of custom-field filters (``xuyen.fields.filters``).

Operators: ``equals``, ``contains``, ``any_of`` (comma-separated), ``between`` (``low..high``, either left out),
``is_set`` (``no`` for "has none"). Text is compared without case or diacritics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.clock import utcnow
from xuyen.errors import NotFound, ValidationFailed
from xuyen.fields.filters import OPERATORS, Condition, condition_clause, parse_condition
from xuyen.jobs import add_job
from xuyen.sales.scoring.models import CapPeriod, RuleKind, ScoringRule, ScoringSettings

RESCORE_ALL_JOB = "sales.scoring.rescore_all"
SCORE_CHANGED = "Lead Score Changed"
PAGE_VIEWED = "Page Viewed"
# Event names the platform records itself (and the Segment e-commerce names the website sends), offered as choices.
KNOWN_EVENTS = ("Lead Captured", PAGE_VIEWED, "Product Viewed", "Product Added", "Checkout Started",
                "Order Completed", "Message Received", "Call Logged", "Task Completed", "Deal Created", "Deal Won",
                "Coupon Applied", "Product Added to Wishlist")
ATTRIBUTE_TEXT = re.compile(r"[A-Za-z0-9_.\-]{1,120}")
LEAD_ATTRIBUTES = ("province", "product_interest", "campaign", "source", "label", "phone", "email")
MAX_POINTS = 1000
MAX_RULES = 200
MAX_HALF_LIFE_DAYS = 3650
DEFAULT_HALF_LIFE_DAYS = 30
RULE_FIELDS = ("kind", "name", "points", "event", "property_key", "property_value", "cap_points", "cap_period",
               "attribute", "op", "value", "active")


@dataclass(frozen=True)
class RuleSpec:
    """What a rule says, as a manager wrote it."""

    kind: RuleKind
    name: str
    points: int
    event: str = ""
    property_key: str = ""
    property_value: str = ""
    cap_points: int | None = None
    cap_period: CapPeriod | None = None
    attribute: str = ""
    op: str = ""
    value: str = ""
    active: bool = True


def request_rescore_all(session: Session) -> None:
    """Ask the worker to score every lead again (after the rules changed; helper: no commit)."""
    add_job(session, name=RESCORE_ALL_JOB)


def _bad(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


def custom_field_of(attribute: str) -> tuple[str, str] | None:
    """(entity, key) of a ``field.lead.<key>`` / ``field.customer.<key>`` attribute; None for any other."""
    parts = attribute.split(".", 2)
    if len(parts) == 3 and parts[0] == "field" and parts[1] in ("lead", "customer") and parts[2]:
        return parts[1], parts[2]
    return None


def fit_condition(rule: ScoringRule | RuleSpec) -> Condition:
    """The rule's test as a custom-field condition (its key is the attribute's last part)."""
    field = custom_field_of(rule.attribute)
    return parse_condition(f"{field[1] if field else rule.attribute}:{rule.op}:{rule.value}")


def _check_behaviour(spec: RuleSpec) -> RuleSpec:
    event = spec.event.strip()
    if not event:
        raise _bad("A behaviour rule names the event it scores.", "event_missing")
    if event == SCORE_CHANGED:
        raise _bad(f"{SCORE_CHANGED} is what scoring records; it cannot give points.", "event_not_scorable")
    if spec.property_value.strip() and not spec.property_key.strip():
        raise _bad("Name the property the value is for.", "property_key_missing")
    if (spec.cap_points is None) != (spec.cap_period is None):
        raise _bad("A cap needs both its points and its period.", "cap_incomplete")
    if spec.cap_points is not None and not 1 <= spec.cap_points <= MAX_POINTS * 100:
        raise _bad(f"A cap is between 1 and {MAX_POINTS * 100} points.", "cap_out_of_range")
    if spec.cap_points is not None and spec.points <= 0:
        raise _bad("Only a rule that gives points can have a cap.", "cap_on_negative_rule")
    return RuleSpec(kind=spec.kind, name=spec.name, points=spec.points, event=event[:200],
                    property_key=spec.property_key.strip()[:100], property_value=spec.property_value.strip()[:200],
                    cap_points=spec.cap_points, cap_period=spec.cap_period, active=spec.active)


def _check_fit(session: Session, spec: RuleSpec) -> RuleSpec:
    attribute = spec.attribute.strip()
    field = custom_field_of(attribute)
    known = attribute in LEAD_ATTRIBUTES or field is not None or (attribute.startswith("trait.") and len(attribute) > 6)
    if not (known and ATTRIBUTE_TEXT.fullmatch(attribute)):
        raise _bad(f"A fit rule tests one of {', '.join(LEAD_ATTRIBUTES)}, trait.<name>, field.lead.<key> or "
                   f"field.customer.<key>; got {attribute[:120]!r}.", "unknown_attribute")
    if spec.op not in OPERATORS:
        raise _bad(f"The operator is one of {', '.join(OPERATORS)}.", "invalid_condition")
    checked = RuleSpec(kind=spec.kind, name=spec.name, points=spec.points, attribute=attribute, op=spec.op,
                       value=spec.value.strip()[:200], active=spec.active)
    if not checked.value and checked.op != "is_set":
        raise _bad("Say what the attribute is compared with.", "invalid_condition")
    condition = fit_condition(checked)
    if field:
        condition_clause(session, entity=field[0], condition=condition, id_column=literal(0), form=True)
    elif condition.op == "between" and condition.value == (None, None):
        raise _bad("Give at least one bound of the range.", "invalid_condition")
    return checked


def check_rule(session: Session, spec: RuleSpec) -> RuleSpec:
    """The rule as it will be kept; ValidationFailed saying what is wrong."""
    name = spec.name.strip()[:200]
    if not name:
        raise _bad("Give the rule a name.", "rule_name_missing")
    if not -MAX_POINTS <= spec.points <= MAX_POINTS or spec.points == 0:
        raise _bad(f"A rule gives between -{MAX_POINTS} and {MAX_POINTS} points, not 0.", "points_out_of_range")
    spec = RuleSpec(**{**spec.__dict__, "name": name})
    return _check_behaviour(spec) if spec.kind is RuleKind.behaviour else _check_fit(session, spec)


def list_rules(session: Session, *, active_only: bool = False) -> list[ScoringRule]:
    """The scoring rules: behaviour first, then fit, each by name."""
    query = select(ScoringRule).order_by(ScoringRule.kind, ScoringRule.name, ScoringRule.id)
    if active_only:
        query = query.where(ScoringRule.active.is_(True))
    return list(session.scalars(query))


def get_rule(session: Session, *, rule_id: int) -> ScoringRule:
    """One scoring rule."""
    rule = session.get(ScoringRule, rule_id)
    if rule is None:
        raise NotFound(f"No scoring rule {rule_id}.", code="scoring_rule_not_found")
    return rule


def _detail(rule: ScoringRule) -> dict[str, Any]:
    return {key: (value.value if hasattr(value, "value") else value)
            for key in RULE_FIELDS if (value := getattr(rule, key)) not in ("", None)}


def create_rule(session: Session, *, spec: RuleSpec, actor: str) -> ScoringRule:
    """Add a scoring rule, audit it and ask for every lead to be scored again, and commit."""
    if len(list_rules(session)) >= MAX_RULES:
        raise _bad(f"At most {MAX_RULES} scoring rules.", "too_many_rules")
    rule = ScoringRule(**check_rule(session, spec).__dict__, created_at=utcnow(), updated_at=utcnow())
    session.add(rule)
    session.flush()
    audit.record(session, actor=actor, action="lead_scoring.rule_created", subject_type="lead_scoring_rule",
                 subject_id=rule.id, detail=_detail(rule))
    request_rescore_all(session)
    session.commit()
    return rule


def update_rule(session: Session, *, rule_id: int, changes: dict[str, Any], actor: str) -> ScoringRule:
    """Change a scoring rule (the fields in ``changes``), audit it, ask for a rescore, and commit."""
    rule = get_rule(session, rule_id=rule_id)
    current = {key: getattr(rule, key) for key in RULE_FIELDS}
    spec = check_rule(session, RuleSpec(**(current | {k: v for k, v in changes.items() if k in RULE_FIELDS})))
    for key, value in spec.__dict__.items():
        setattr(rule, key, value)
    rule.updated_at = utcnow()
    audit.record(session, actor=actor, action="lead_scoring.rule_changed", subject_type="lead_scoring_rule",
                 subject_id=rule.id, detail=_detail(rule))
    request_rescore_all(session)
    session.commit()
    return rule


def delete_rule(session: Session, *, rule_id: int, actor: str) -> None:
    """Remove a scoring rule, audit it, ask for a rescore, and commit."""
    rule = get_rule(session, rule_id=rule_id)
    detail = _detail(rule)
    session.delete(rule)
    audit.record(session, actor=actor, action="lead_scoring.rule_deleted", subject_type="lead_scoring_rule",
                 subject_id=rule_id, detail=detail)
    request_rescore_all(session)
    session.commit()


def half_life_days(session: Session) -> int:
    """How many days it takes behaviour points to lose half their value."""
    row = session.get(ScoringSettings, 1)
    return row.half_life_days if row is not None else DEFAULT_HALF_LIFE_DAYS


def set_half_life(session: Session, *, days: int, actor: str) -> int:
    """Change the half-life of behaviour points, audit it, ask for a rescore, and commit."""
    if not 1 <= days <= MAX_HALF_LIFE_DAYS:
        raise _bad(f"The half-life is between 1 and {MAX_HALF_LIFE_DAYS} days.", "half_life_out_of_range")
    row = session.get(ScoringSettings, 1)
    before = row.half_life_days if row is not None else DEFAULT_HALF_LIFE_DAYS
    if row is None:
        row = ScoringSettings(id=1)
        session.add(row)
    row.half_life_days, row.updated_at = days, utcnow()
    audit.record(session, actor=actor, action="lead_scoring.settings_changed", subject_type="lead_scoring",
                 subject_id=1, detail={"half_life_days": days, "was": before})
    request_rescore_all(session)
    session.commit()
    return days


SUGGESTED_RULES = (
    RuleSpec(kind=RuleKind.behaviour, name="Để lại thông tin (biểu mẫu, quảng cáo)", points=20,
             event="Lead Captured", cap_points=40, cap_period=CapPeriod.month),
    RuleSpec(kind=RuleKind.behaviour, name="Đến cửa hàng", points=25, event="Lead Captured",
             property_key="source", property_value="store_visit", cap_points=50, cap_period=CapPeriod.month),
    RuleSpec(kind=RuleKind.behaviour, name="Xem trang", points=1, event=PAGE_VIEWED, cap_points=10,
             cap_period=CapPeriod.day),
    RuleSpec(kind=RuleKind.behaviour, name="Xem sản phẩm", points=3, event="Product Viewed", cap_points=15,
             cap_period=CapPeriod.day),
    RuleSpec(kind=RuleKind.behaviour, name="Thêm vào giỏ", points=8, event="Product Added", cap_points=24,
             cap_period=CapPeriod.day),
    RuleSpec(kind=RuleKind.behaviour, name="Bắt đầu thanh toán", points=12, event="Checkout Started",
             cap_points=24, cap_period=CapPeriod.week),
    RuleSpec(kind=RuleKind.behaviour, name="Nhắn tin cho cửa hàng", points=10, event="Message Received",
             cap_points=20, cap_period=CapPeriod.day),
    RuleSpec(kind=RuleKind.behaviour, name="Đã mua hàng", points=30, event="Order Completed"),
    RuleSpec(kind=RuleKind.fit, name="Có e-mail", points=5, attribute="email", op="is_set", value="yes"),
    RuleSpec(kind=RuleKind.fit, name="Có số điện thoại", points=10, attribute="phone", op="is_set", value="yes"),
    RuleSpec(kind=RuleKind.fit, name="Ở Hà Nội hoặc TP. Hồ Chí Minh", points=10, attribute="province",
             op="any_of", value="Hà Nội, Hồ Chí Minh, TP. Hồ Chí Minh"),
)


def add_suggested_rules(session: Session, *, actor: str) -> list[ScoringRule]:
    """Add the suggested rules whose names are not taken yet, audit them, ask for a rescore, and commit."""
    taken = {rule.name for rule in list_rules(session)}
    added = []
    for spec in SUGGESTED_RULES:
        if spec.name in taken:
            continue
        rule = ScoringRule(**check_rule(session, spec).__dict__, created_at=utcnow(), updated_at=utcnow())
        session.add(rule)
        added.append(rule)
    session.flush()
    for rule in added:
        audit.record(session, actor=actor, action="lead_scoring.rule_created", subject_type="lead_scoring_rule",
                     subject_id=rule.id, detail=_detail(rule))
    request_rescore_all(session)
    session.commit()
    return added
