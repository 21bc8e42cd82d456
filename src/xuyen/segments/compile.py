"""Evaluation: a rule compiled into one SQL query over surviving customers (the same SQL on SQLite and PostgreSQL)."""

from __future__ import annotations

import math
import operator
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import Session, aliased

from xuyen.analytics.value_models import CustomerScore
from xuyen.commerce.orders.models import Order, OrderLine, OrderStatus
from xuyen.customers.models import CustomerConsent, CustomerProfile
from xuyen.errors import ValidationFailed
from xuyen.events.models import Event
from xuyen.fields.filters import Condition as FieldFilter
from xuyen.fields.filters import condition_clause
from xuyen.identity.models import Profile
from xuyen.loyalty.models import CustomerTier
from xuyen.segments import geography
from xuyen.segments.rules import (
    BoughtCondition,
    ComputedCondition,
    Condition,
    ConsentCondition,
    DidCondition,
    DidNotCondition,
    FieldCondition,
    Group,
    NearStoreCondition,
    OrdersCondition,
    PredictedCondition,
    ProvinceCondition,
    RfmCondition,
    TierCondition,
    TraitCondition,
)
from xuyen.stores.models import Store

PROFILE = CustomerProfile.profile_id
# Orders that count as bought: placed and not cancelled.
COUNTED_STATUSES = (OrderStatus.placed, OrderStatus.fulfilling, OrderStatus.ready_for_pickup, OrderStatus.shipped,
                    OrderStatus.completed)


def members_query(session: Session, *, rule: Group, now: datetime,
                  profile_ids: Collection[int] | None = None) -> Select[Any]:
    """The ids of the surviving customers who meet ``rule`` at ``now`` (only among ``profile_ids`` when given)."""
    query = (select(PROFILE).join(Profile, Profile.id == PROFILE)
             .where(Profile.merged_into_id.is_(None), _group(session, rule, now=now, path="")))
    if profile_ids is not None:
        query = query.where(PROFILE.in_(sorted(profile_ids)))
    return query.order_by(PROFILE)


def _group(session: Session, group: Group, *, now: datetime, path: str) -> ColumnElement[bool]:
    clauses = []
    for index, item in enumerate(group.items):
        item_path = f"{path}{group.mode}[{index}]"
        if isinstance(item, Group):
            clauses.append(_group(session, item, now=now, path=f"{item_path}."))
        else:
            clauses.append(_condition(session, item, now=now, path=item_path))
    return and_(true(), *clauses) if group.mode == "all" else or_(false(), *clauses)


def _condition(session: Session, condition: Condition, *, now: datetime, path: str) -> ColumnElement[bool]:
    match condition:
        case TraitCondition():
            return _json_compare(CustomerProfile.traits[(condition.trait, "value")], condition.op, condition.value)
        case ComputedCondition():
            return _computed(condition)
        case ConsentCondition():
            return PROFILE.in_(select(CustomerConsent.profile_id).where(
                CustomerConsent.channel == condition.consent.channel,
                CustomerConsent.purpose == condition.consent.purpose, CustomerConsent.status == "granted"))
        case DidCondition():
            done = _events(condition.did, condition.where, since=now - timedelta(days=condition.days))
            return PROFILE.in_(done.having(func.count() >= condition.times))
        case DidNotCondition():
            done = _events(condition.did_not, condition.where, since=now - timedelta(days=condition.days))
            return not_(PROFILE.in_(done))
        case OrdersCondition():
            return _orders(condition, now=now)
        case BoughtCondition():
            return PROFILE.in_(_bought(condition, now=now))
        case TierCondition():
            return PROFILE.in_(select(CustomerTier.profile_id).where(CustomerTier.tier_code.in_(condition.tier)))
        case FieldCondition():
            return _field(session, condition, path=path)
        case ProvinceCondition():
            return _province(condition, path=path)
        case NearStoreCondition():
            return _near_store(session, condition, path=path)
        case RfmCondition():
            return PROFILE.in_(select(CustomerScore.profile_id).where(CustomerScore.rfm_group.in_(condition.rfm)))
        case PredictedCondition():
            return PROFILE.in_(select(CustomerScore.profile_id).where(*_predicted(condition)))
    raise AssertionError(f"no SQL for {condition!r}")


_PREDICTED_COLUMNS = {"value": CustomerScore.predicted_value, "probability_alive": CustomerScore.probability_alive,
                      "expected_purchases": CustomerScore.expected_purchases}


def _predicted(condition: PredictedCondition) -> list[ColumnElement[bool]]:
    """Every comparison of the predictions; a customer the model made no prediction for never matches."""
    clauses: list[ColumnElement[bool]] = []
    for measure, compared in condition.predicted.items():
        column = _PREDICTED_COLUMNS[measure]
        clauses.append(column.is_not(None))
        clauses.extend(_compare(column, op, bound) for op, bound in compared.items())
    return clauses


def _owner(profile: Any) -> Any:
    """The surviving profile of a row that names a profile (an absorbed profile's rows belong to its survivor)."""
    return func.coalesce(profile.merged_into_id, profile.id)


_OPERATORS = {"eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
              "lte": operator.le}


def _compare(left: Any, op: str, value: Any) -> ColumnElement[bool]:
    return _OPERATORS[op](left, value)


def _zero_meets(op: str, value: float) -> bool:
    """Whether a customer with nothing (a count or sum of 0) meets the comparison."""
    return bool({"eq": value == 0, "ne": value != 0, "gt": value < 0, "gte": value <= 0, "lt": value > 0,
                 "lte": value >= 0}[op])


def _json_compare(element: Any, op: str, value: Any) -> ColumnElement[bool]:
    """A JSON value compared as text, number or true/false after the kind of ``value``; a missing one never
    matches but ``missing``."""
    if op == "exists":
        return element.as_string().is_not(None)
    if op == "missing":
        return element.as_string().is_(None)
    if isinstance(value, bool):
        truth = element.as_boolean() if value else not_(element.as_boolean())
        return and_(element.as_string().is_not(None), truth if op == "eq" else not_(truth))
    typed = element.as_float() if isinstance(value, int | float) else element.as_string()
    return and_(element.as_string().is_not(None), _compare(typed, op, value))


def _computed(condition: ComputedCondition) -> ColumnElement[bool]:
    computed = CustomerProfile.computed
    if condition.computed == "preferred_channel":
        return _json_compare(computed["preferred_channel"], condition.op, condition.value)
    element = computed["revenue"]["VND"] if condition.computed == "revenue" else computed[condition.computed]
    number = func.coalesce(element.as_float(), 0)
    return _compare(number, condition.op, condition.value)


def _events(name: str, where: dict[str, Any], *, since: datetime) -> Select[tuple[Any]]:
    named = aliased(Profile)
    owner = _owner(named)
    query = (select(owner).select_from(Event).join(named, named.id == Event.profile_id)
             .where(Event.event == name, Event.timestamp >= since))
    for key, value in where.items():
        query = query.where(_json_compare(Event.properties[key], "eq", value))
    return query.group_by(owner)


def _counted_orders(*, since: datetime | None) -> Any:
    placed = func.coalesce(Order.placed_at, Order.created_at)
    conditions: list[ColumnElement[bool]] = [Order.status.in_(COUNTED_STATUSES)]
    if since is not None:
        conditions.append(placed >= since)
    return and_(*conditions)


def _orders(condition: OrdersCondition, *, now: datetime) -> ColumnElement[bool]:
    """Count or spend compared; customers without orders are counted as 0 (so ``lt 2`` keeps them)."""
    since = now - timedelta(days=condition.days) if condition.days else None
    named = aliased(Profile)
    owner = _owner(named)
    measure = func.count(Order.id) if condition.orders == "count" else func.coalesce(func.sum(Order.total), 0)
    per_owner = (select(owner).select_from(Order).join(named, named.id == Order.profile_id)
                 .where(_counted_orders(since=since)).group_by(owner))
    meets = _compare(measure, condition.op, condition.value)
    if _zero_meets(condition.op, condition.value):
        return not_(PROFILE.in_(per_owner.having(not_(meets))))
    return PROFILE.in_(per_owner.having(meets))


def _bought(condition: BoughtCondition, *, now: datetime) -> Select[tuple[Any]]:
    since = now - timedelta(days=condition.days) if condition.days else None
    item = condition.bought
    if item.sku is not None:
        line = OrderLine.sku == item.sku
    elif item.product_id is not None:
        line = OrderLine.product_id == item.product_id
    else:
        line = OrderLine.category_id == item.category_id
    named = aliased(Profile)
    return (select(_owner(named)).select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
            .join(named, named.id == Order.profile_id).where(line, _counted_orders(since=since)))


def _field(session: Session, condition: FieldCondition, *, path: str) -> ColumnElement[bool]:
    value = tuple(condition.value) if condition.op == "between" and isinstance(condition.value, list) \
        else condition.value
    try:
        return condition_clause(session, entity="customer", condition=FieldFilter(condition.field, condition.op, value),
                                id_column=PROFILE)
    except ValidationFailed as exc:
        raise ValidationFailed(f"The segment rule is not valid: {path}: {exc.message}", code="invalid_segment_rule",
                               details={"errors": {path: exc.message}}) from None


def _province(condition: ProvinceCondition, *, path: str) -> ColumnElement[bool]:
    try:
        area = geography.province_area(condition.province)
    except geography.UnknownProvince as exc:
        raise ValidationFailed(f"The segment rule is not valid: {path}.province: {exc}", code="invalid_segment_rule",
                               details={"errors": {f"{path}.province": str(exc)}}) from None
    if area.old_code is None:
        return CustomerProfile.province_code == area.code
    return CustomerProfile.ward_code.in_(sorted(area.ward_codes))


KM_PER_DEGREE = 111.32


def _near_store(session: Session, condition: NearStoreCondition, *, path: str) -> ColumnElement[bool]:
    """Within the distance by the equirectangular approximation (under 0.1 % off within 100 km in Vietnam):
    plain arithmetic, so both databases answer alike."""
    store = session.scalars(select(Store).where(Store.code == condition.near_store.strip().upper())).first()
    if store is None or store.latitude is None or store.longitude is None:
        message = (f"there is no store {condition.near_store!r}" if store is None
                   else f"the store {condition.near_store!r} has no coordinates")
        raise ValidationFailed(f"The segment rule is not valid: {path}.near_store: {message}",
                               code="invalid_segment_rule", details={"errors": {f"{path}.near_store": message}})
    latitude = CustomerProfile.traits[("latitude", "value")].as_float()
    longitude = CustomerProfile.traits[("longitude", "value")].as_float()
    north = (latitude - store.latitude) * KM_PER_DEGREE
    east = (longitude - store.longitude) * (KM_PER_DEGREE * math.cos(math.radians(store.latitude)))
    return and_(latitude.is_not(None), longitude.is_not(None), north * north + east * east <= condition.km ** 2)
