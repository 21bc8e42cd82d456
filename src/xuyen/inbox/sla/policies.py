"""SLA policies: their targets, calendar and channels, checked with every problem named; one default policy; and
which policy a conversation follows (the first active one, by position, that covers its channel, else the
default)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.channels.registry import adapters
from xuyen.errors import Conflict, NotFound, ValidationFailed
from xuyen.inbox.sla.calendar import BusinessCalendar, CalendarError
from xuyen.inbox.sla.holidays import VIETNAM_OFFICE_HOURS, vietnam_calendar
from xuyen.inbox.sla.models import ClockKind, Policy

DEFAULT_NAME = "Default"
DEFAULT_TARGETS = {ClockKind.first_response: timedelta(hours=1), ClockKind.next_response: timedelta(hours=2),
                   ClockKind.resolution: timedelta(hours=16)}
DEFAULT_WARNING_PERCENT = 80
MAX_TARGET = timedelta(days=365)
MIN_TARGET = timedelta(minutes=1)
MAX_CHANNEL_KINDS = 20
# Office hours with Saturday morning, as most Vietnamese shops keep them.
SHOP_HOURS: dict[str, list[str]] = {**{day: list(spans) for day, spans in VIETNAM_OFFICE_HOURS.items()},
                                    "saturday": ["08:00-12:00"]}
FIELDS = ("name", "first_response", "next_response", "resolution", "calendar", "warning_percent", "channel_kinds",
          "position", "is_default", "active")


class PolicyInvalid(ValidationFailed):
    """A policy that cannot be saved; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("The SLA policy is not valid: " + "; ".join(problems) + ".", code="invalid_sla_policy",
                         details={"problems": problems})


def default_calendar() -> BusinessCalendar:
    """Vietnamese shop hours (Monday to Friday 08:00-12:00 and 13:30-17:30, Saturday 08:00-12:00) with the days
    off of last year, this year and next year."""
    return vietnam_calendar(hours=SHOP_HOURS)


@lru_cache(maxsize=64)
def _calendar_of_json(data: str) -> BusinessCalendar:
    return BusinessCalendar.from_dict(json.loads(data))


def calendar_of(policy: Policy) -> BusinessCalendar:
    """The policy's business calendar (parsed once per distinct calendar)."""
    return _calendar_of_json(json.dumps(policy.calendar, sort_keys=True))


# Reading ---------------------------------------------------------------------------------------------


def get_policy(session: Session, *, policy_id: int) -> Policy:
    """The policy with ``policy_id``; NotFound when there is none."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFound(f"There is no SLA policy {policy_id}.", code="sla_policy_not_found")
    return policy


def ensure_default_policy(session: Session) -> Policy:
    """The default policy, made with the default targets and calendar when there is none yet (helper)."""
    found = session.scalar(select(Policy).where(Policy.is_default.is_(True)).limit(1))
    if found is not None:
        return found
    policy = Policy(name=DEFAULT_NAME, position=0, is_default=True, active=True, channel_kinds=[],
                    first_response_seconds=_seconds(DEFAULT_TARGETS[ClockKind.first_response]),
                    next_response_seconds=_seconds(DEFAULT_TARGETS[ClockKind.next_response]),
                    resolution_seconds=_seconds(DEFAULT_TARGETS[ClockKind.resolution]),
                    warning_percent=DEFAULT_WARNING_PERCENT, calendar=default_calendar().to_dict())
    try:
        with session.begin_nested():  # two workers may make it at once: the second takes the first's
            session.add(policy)
    except IntegrityError:
        return session.scalars(select(Policy).where(Policy.is_default.is_(True)).limit(1)).one()
    return policy


def list_policies(session: Session) -> list[Policy]:
    """Every policy in the order they are tried (the default last); the default is made if missing."""
    created = session.scalar(select(Policy.id).where(Policy.is_default.is_(True)).limit(1)) is None
    ensure_default_policy(session)
    if created:
        session.commit()
    rows = session.scalars(select(Policy).order_by(Policy.is_default, Policy.position, Policy.id))
    return list(rows)


def match_policy(session: Session, *, channel_kind: str | None) -> Policy:
    """The policy for a conversation that began on ``channel_kind``: the first active policy by position that
    covers it, else the default (helper)."""
    for policy in session.scalars(select(Policy).where(Policy.is_default.is_(False), Policy.active.is_(True))
                                  .order_by(Policy.position, Policy.id)):
        if not policy.channel_kinds or (channel_kind is not None and channel_kind in policy.channel_kinds):
            return policy
    return ensure_default_policy(session)


# Writing ---------------------------------------------------------------------------------------------


@dataclass
class _Checked:
    values: dict[str, Any]
    problems: list[str]


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


def _check_target(name: str, value: object, checked: _Checked) -> None:
    label = name.replace("_", " ")
    if value is None:
        checked.values[f"{name}_seconds"] = None
    elif not isinstance(value, timedelta):
        checked.problems.append(f"{label}: give a duration such as 'PT4H' (ISO 8601) or a number of seconds")
    elif value < MIN_TARGET or value > MAX_TARGET:
        checked.problems.append(f"{label}: give from 1 minute to 365 days of business time, not "
                                f"{value.total_seconds():g} seconds")
    elif value.total_seconds() != int(value.total_seconds()):
        checked.problems.append(f"{label}: give whole seconds")
    else:
        checked.values[f"{name}_seconds"] = _seconds(value)


def _check_kinds(value: object, checked: _Checked) -> None:
    if value is None:
        checked.values["channel_kinds"] = []
        return
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        checked.problems.append("channel_kinds: give a list of channel kinds, or an empty list for every channel")
        return
    installed = sorted(adapters())
    unknown = sorted({kind for kind in value if kind not in installed})
    if unknown:
        checked.problems.append(f"channel_kinds: unknown channel kind(s) {', '.join(map(repr, unknown))}; "
                                f"the installed kinds are {', '.join(installed) or 'none'}")
    elif len(value) > MAX_CHANNEL_KINDS:
        checked.problems.append(f"channel_kinds: at most {MAX_CHANNEL_KINDS} kinds")
    else:
        checked.values["channel_kinds"] = sorted(set(value))


def _check_calendar(value: object, checked: _Checked) -> None:
    if value is None:
        checked.values["calendar"] = default_calendar().to_dict()
        return
    if not isinstance(value, Mapping):
        checked.problems.append("calendar: give an object with timezone, hours, holidays and extra_working_days")
        return
    try:
        checked.values["calendar"] = BusinessCalendar.from_dict(value).to_dict()
    except CalendarError as exc:
        checked.problems.extend(f"calendar: {problem}" for problem in exc.problems)


def _check(changes: Mapping[str, Any]) -> _Checked:
    """The columns ``changes`` sets, and every problem with them."""
    checked = _Checked(values={}, problems=[])
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        checked.problems.append(f"unknown field(s) {', '.join(map(repr, unknown))}; the fields are {', '.join(FIELDS)}")
    if "name" in changes:
        name = changes["name"].strip() if isinstance(changes["name"], str) else ""
        if not 1 <= len(name) <= 100:
            checked.problems.append("name: give a name of 1 to 100 characters")
        checked.values["name"] = name
    for kind in ClockKind:
        if kind.value in changes:
            _check_target(kind.value, changes[kind.value], checked)
    if "warning_percent" in changes:
        percent = changes["warning_percent"]
        if percent is not None and (isinstance(percent, bool) or not isinstance(percent, int)
                                    or not 1 <= percent <= 99):
            checked.problems.append("warning_percent: give a whole number from 1 to 99 (the share of the target "
                                    "after which a warning goes out), or null for no warning")
        checked.values["warning_percent"] = percent
    if "channel_kinds" in changes:
        _check_kinds(changes["channel_kinds"], checked)
    if "calendar" in changes:
        _check_calendar(changes["calendar"], checked)
    for flag in ("is_default", "active"):
        if flag in changes:
            if not isinstance(changes[flag], bool):
                checked.problems.append(f"{flag}: give true or false")
            checked.values[flag] = changes[flag]
    if "position" in changes:
        position = changes["position"]
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 10_000:
            checked.problems.append("position: give a whole number from 0 to 10000 (lower is tried first)")
        checked.values["position"] = position
    return checked


def _check_whole(policy: Policy, problems: list[str]) -> None:
    """Rules about the policy as a whole, once the changes are applied."""
    if all(policy.target_seconds(kind) is None for kind in ClockKind):
        problems.append("give at least one target: first_response, next_response or resolution")
    if policy.is_default and policy.channel_kinds:
        problems.append("the default policy covers every channel; leave its channel_kinds empty")
    if policy.is_default and not policy.active:
        problems.append("the default policy cannot be turned off; make another policy the default first")


def _name_taken(session: Session, name: str, policy_id: int | None) -> None:
    query = select(Policy.id).where(func.lower(Policy.name) == name.lower())
    if policy_id is not None:
        query = query.where(Policy.id != policy_id)
    if session.scalar(query) is not None:
        raise Conflict(f"An SLA policy called {name!r} exists already; choose another name.",
                       code="sla_policy_name_taken")


def _make_default(session: Session, policy: Policy) -> None:
    """Make ``policy`` the default; the previous default is turned off (it covered every channel, so kept on it
    would come before the new default)."""
    for other in session.scalars(select(Policy).where(Policy.is_default.is_(True), Policy.id != policy.id)):
        other.is_default, other.active = False, False
    session.flush()


def create_policy(session: Session, *, changes: Mapping[str, Any], actor: str) -> Policy:
    """Add a policy; ``changes`` holds its fields (targets as timedeltas, calendar as the stored JSON form,
    default Vietnamese shop hours with the holidays of the years around now)."""
    ensure_default_policy(session)
    checked = _check({"calendar": None, "warning_percent": DEFAULT_WARNING_PERCENT, "channel_kinds": None,
                      **changes})
    if "name" not in changes:
        checked.problems.insert(0, "name: give the policy a name")
    policy = Policy(first_response_seconds=None, next_response_seconds=None, resolution_seconds=None,
                    is_default=False, active=True)
    for column, value in checked.values.items():
        setattr(policy, column, value)
    if "position" not in checked.values:
        policy.position = (session.scalar(select(func.max(Policy.position))) or 0) + 1
    _check_whole(policy, checked.problems)
    if checked.problems:
        raise PolicyInvalid(checked.problems)
    _name_taken(session, policy.name, None)
    session.add(policy)
    session.flush()
    if policy.is_default:
        _make_default(session, policy)
    audit.record(session, actor=actor, action="sla_policy.created", subject_type="sla_policy", subject_id=policy.id,
                 detail={"name": policy.name})
    session.commit()
    return policy


def update_policy(session: Session, *, policy_id: int, changes: Mapping[str, Any], actor: str) -> Policy:
    """Change some fields of a policy; clocks already running keep their deadlines."""
    policy = get_policy(session, policy_id=policy_id)
    was_default = policy.is_default
    checked = _check(changes)
    if was_default and checked.values.get("is_default") is False:
        checked.problems.append("is_default: a policy stops being the default when another one becomes it; "
                                "set is_default on that one instead")
    if checked.problems:
        raise PolicyInvalid(checked.problems)
    if "name" in checked.values:
        _name_taken(session, checked.values["name"], policy.id)
    for column, value in checked.values.items():
        setattr(policy, column, value)
    problems: list[str] = []
    _check_whole(policy, problems)
    if problems:
        session.rollback()
        raise PolicyInvalid(problems)
    if policy.is_default and not was_default:
        _make_default(session, policy)
    audit.record(session, actor=actor, action="sla_policy.updated", subject_type="sla_policy", subject_id=policy.id,
                 detail={"fields": sorted(checked.values)})
    session.commit()
    return policy
