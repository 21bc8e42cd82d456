"""What each kind of step does when an enrolment reaches it. Each returns a ``Move``; none commits."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from xuyen.customers.service import customer_row
from xuyen.errors import XuyenError
from xuyen.jobs import add_job_once
from xuyen.journeys.flows.definition import (
    Condition,
    Delay,
    IssueCoupon,
    Notify,
    Split,
    UpdateProfile,
    UserRef,
    WaitEvent,
    Webhook,
)
from xuyen.journeys.flows.engine import Move, StepContext
from xuyen.journeys.flows.models import EnrolmentStatus
from xuyen.journeys.policy.service import customer_timezone
from xuyen.journeys.policy.settings import DEFAULT_TIMEZONE
from xuyen.outbox import emit

WEBHOOK_JOB = "journeys.webhook"
TASK_REQUESTED = "journey.task_requested"
SOURCE_NAME = "Hành trình"


def _timezone(session: Session, profile_id: int) -> str:
    row = customer_row(session, profile_id=profile_id)
    return customer_timezone(dict(row.traits or {}) if row is not None else {}, DEFAULT_TIMEZONE)


def _next_local_time(now: datetime, *, hhmm: str, timezone: str) -> datetime:
    """The next moment (after ``now``) the clock in ``timezone`` shows ``hhmm``."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    local = now.astimezone(ZoneInfo(timezone))
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target = (target.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=local.tzinfo)
    return target.astimezone(UTC)


def delay_until(context: StepContext, node: Delay) -> datetime:
    """When a delay step that starts now ends."""
    if node.for_ is not None:
        return context.now + node.for_.delta
    timezone = _timezone(context.session, context.enrolment.profile_id)
    if node.until_time is not None:
        return _next_local_time(context.now, hhmm=node.until_time, timezone=timezone)
    assert node.until_date is not None
    return node.until_date.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _delay(context: StepContext) -> Move:
    node: Delay = context.node
    wake = context.enrolment.wake_at
    if wake is None:
        wake = delay_until(context, node)
        if wake > context.now:
            return Move(outcome="waiting", stay=True, wake_at=wake, detail=wake.isoformat())
    elif wake > context.now:  # an early job: wait on
        return Move(outcome="waiting", stay=True, wake_at=wake)
    return Move(outcome="done", next=node.next)


def _wait_event(context: StepContext) -> Move:
    node: WaitEvent = context.node
    enrolment = context.enrolment
    if enrolment.waiting_for is None:
        return Move(outcome="waiting", stay=True, wake_at=context.now + node.timeout.delta, waiting_for=node.event)
    if enrolment.wake_at is not None and enrolment.wake_at > context.now:
        return Move(outcome="waiting", stay=True, wake_at=enrolment.wake_at, waiting_for=node.event)
    return Move(outcome="timeout", next=node.timeout_next)


def rule_holds(session: Session, *, rule: dict[str, Any], profile_id: int, now: datetime) -> bool:
    """Whether the customer meets a segment rule now."""
    return profile_id in meeting_rule(session, rule=rule, profile_ids=[profile_id], now=now)


def meeting_rule(session: Session, *, rule: dict[str, Any], profile_ids: list[int], now: datetime) -> set[int]:
    """Which of these customers meet a segment rule now."""
    from xuyen.segments.compile import members_query
    from xuyen.segments.rules import parse_rule

    return set(session.scalars(members_query(session, rule=parse_rule(rule), now=now, profile_ids=profile_ids)))


def _condition(context: StepContext) -> Move:
    node: Condition = context.node
    if node.event is not None:
        held = node.event.holds(dict((context.enrolment.context.get("event") or {}).get("properties") or {}))
    else:
        assert node.rule is not None
        held = rule_holds(context.session, rule=node.rule, profile_id=context.enrolment.profile_id, now=context.now)
    return Move(outcome="yes" if held else "no", next=node.yes if held else node.no)


def split_bucket(*, enrolment_id: int, node_id: str) -> int:
    """0–99, stable for an enrolment at a split (a rerun takes the same branch)."""
    digest = hashlib.sha256(f"split:{enrolment_id}:{node_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def _split(context: StepContext) -> Move:
    node: Split = context.node
    bucket, floor = split_bucket(enrolment_id=context.enrolment.id, node_id=context.node_id), 0
    for branch in node.branches:
        floor += branch.percent
        if bucket < floor:
            return Move(outcome=branch.label, next=branch.next)
    return Move(outcome=node.branches[-1].label, next=node.branches[-1].next)


def _send(context: StepContext) -> Move:
    from xuyen.journeys.flows.sending import send_step

    return send_step(context)


def _update_profile(context: StepContext) -> Move:
    from xuyen.events.service import identify_on_profile

    node: UpdateProfile = context.node
    enrolment = context.enrolment
    recorded = identify_on_profile(context.session, source_name=SOURCE_NAME,
                                   message_id=f"journey:{enrolment.id}:{enrolment.visit}",
                                   profile_id=enrolment.profile_id, at=context.now, traits=dict(node.traits))
    return Move(outcome="done" if recorded else "skipped", next=node.next,
                detail="" if recorded else "The customer has no identifier to record traits on.")


def _coupon(context: StepContext) -> Move:
    from xuyen.commerce.pricing.promotions import add_coupon

    node: IssueCoupon = context.node
    code = "XY" + secrets.token_hex(5).upper()
    try:
        add_coupon(context.session, promotion_id=node.promotion_id, code=code, max_uses=1, per_customer_limit=1,
                   actor=f"journey:{context.journey.id}")
    except XuyenError as exc:
        return Move(outcome="failed", next=node.next, detail=str(exc))
    return Move(outcome="done", next=node.next, detail=code, context={"coupon": code})


def _assignee(target: Any) -> dict[str, Any]:
    return {"user_id": target.user_id} if isinstance(target, UserRef) else {"role": target}


def _task_or_notice(context: StepContext) -> Move:
    node = context.node
    enrolment = context.enrolment
    notice = isinstance(node, Notify)
    payload = {"journey_id": context.journey.id, "journey_name": context.journey.name, "enrolment_id": enrolment.id,
               "visit": enrolment.visit, "profile_id": enrolment.profile_id, "notify": notice,
               "title": node.text if notice else node.title, "kind": "follow_up" if notice else node.kind,
               "due_at": (context.now if notice else context.now + node.due_in.delta).isoformat(),
               "assign": _assignee(node.to if notice else node.assign),
               "event": enrolment.context.get("event") or {}}
    emit(context.session, topic=TASK_REQUESTED, aggregate_type="journey_enrolment", aggregate_id=enrolment.id,
         payload=payload)
    return Move(outcome="done", next=node.next)


def _webhook(context: StepContext) -> Move:
    node: Webhook = context.node
    enrolment = context.enrolment
    key = f"journey-{enrolment.id}-{enrolment.visit}"
    add_job_once(context.session, name=WEBHOOK_JOB, dedupe_key=f"{WEBHOOK_JOB}:{key}",
                 payload={"url": node.url, "journey_id": context.journey.id, "idempotency_key": key,
                          "body": {"journey": {"id": context.journey.id, "name": context.journey.name},
                                   "enrolment_id": enrolment.id, "step": context.node_id,
                                   "profile_id": enrolment.profile_id, "context": enrolment.context,
                                   "at": context.now.isoformat()}})
    return Move(outcome="done", next=node.next)


def _exit(context: StepContext) -> Move:
    return Move(outcome="exit", finish=EnrolmentStatus.completed, reason="completed")


EXECUTORS: dict[str, Callable[[StepContext], Move]] = {
    "delay": _delay, "wait_event": _wait_event, "condition": _condition, "split": _split, "send": _send,
    "update_profile": _update_profile, "coupon": _coupon, "task": _task_or_notice, "notify": _task_or_notice,
    "webhook": _webhook, "exit": _exit,
}


def execute(context: StepContext) -> Move:
    """Run the enrolment's current step."""
    return EXECUTORS[context.node.type](context)

