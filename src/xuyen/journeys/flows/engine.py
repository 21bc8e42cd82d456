"""The journey engine: customers enter by the entry policy, then move step by step, each step a job.

Exactly once: a step's job carries the ``visit`` it was queued for; it locks the enrolment, does nothing when the
enrolment moved on meanwhile (the goal was reached, a wait's event came first, the job ran before), and records the
step, moves the enrolment and queues the next job in the transaction that marks the job done. A worker that dies
mid-step leaves the job to run again with nothing of its half-done work kept. A message is queued in that same
transaction with an idempotency key made of the enrolment and the visit, and the inbox hands that key to the
provider, so neither a retried step nor a retried send sends twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.identity.graph import resolve_profile_ids
from xuyen.jobs import add_job, add_jobs
from xuyen.journeys.flows.definition import Definition, Goal, parse_definition
from xuyen.journeys.flows.models import (
    Enrolment,
    EnrolmentStatus,
    Journey,
    JourneySend,
    JourneyStatus,
    JourneyStep,
    JourneyVersion,
)

STEP_JOB = "journeys.step"
ENROL_CHUNK = 500
# An event enters a journey only when it happened after the journey's live version was published, less this
# grace for clients that send a little late: history imported or caught up later must not enter customers into a
# journey that did not exist when they acted (last quarter's orders would all get a "thank you" today).
LATE_EVENT_GRACE = timedelta(hours=1)
_ENROLMENTS = cast(Table, Enrolment.__table__)
_definitions: dict[tuple[int, int, datetime], Definition] = {}


def definition_of(session: Session, *, version_id: int) -> Definition:
    """The parsed definition of a published version (versions never change, so each is parsed once per process;
    the key holds the publication time, so another database's version of the same id is never mistaken for it)."""
    version = session.get(JourneyVersion, version_id)
    if version is None:
        raise LookupError(f"journey version {version_id} is gone")
    key = (version.id, version.journey_id, version.published_at)
    found = _definitions.get(key)
    if found is None:
        found = parse_definition(version.definition)
        if len(_definitions) > 1000:
            _definitions.clear()
        _definitions[key] = found
    return found


def live_version(session: Session, journey: Journey) -> JourneyVersion | None:
    """The version new entrants of a live journey follow."""
    if journey.status != JourneyStatus.live or journey.live_version is None:
        return None
    return session.scalar(select(JourneyVersion).where(JourneyVersion.journey_id == journey.id,
                                                       JourneyVersion.number == journey.live_version))


# Entering ------------------------------------------------------------------------------------------------


def in_holdout(*, journey_id: int, entry_key: str, percent: int) -> bool:
    """Whether an entry falls in the holdout share: a stable hash, so a retried entry lands on the same side."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"holdout:{journey_id}:{entry_key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def _entry_keys(session: Session, *, journey: Journey, definition: Definition, roots: Sequence[int],
                at: datetime, period: str | None) -> dict[int, str]:
    """Per customer allowed to enter now, the key of this entry (unique: a race enters once)."""
    if period is not None:  # a yearly date trigger: once per period whatever the policy
        return {root: f"{journey.id}:{root}:{period}" for root in roots}
    settings = definition.settings
    if settings.entry == "once":
        return {root: f"{journey.id}:{root}" for root in roots}
    keys: dict[int, str] = {}
    rows: Any = session.execute(
        select(Enrolment.profile_id, func.count(), func.max(Enrolment.entered_at),
               func.sum(case((Enrolment.status == EnrolmentStatus.active, 1), else_=0)))
        .where(Enrolment.journey_id == journey.id, Enrolment.profile_id.in_(list(roots)))
        .group_by(Enrolment.profile_id))
    history = {profile_id: (count, last, active) for profile_id, count, last, active in rows}
    for root in roots:
        count, last, active = history.get(root, (0, None, 0))
        if active or (last is not None and last > at - timedelta(days=settings.reentry_days)):
            continue
        keys[root] = f"{journey.id}:{root}:{count + 1}"
    return keys


def enrol(session: Session, *, journey: Journey, profile_ids: Collection[int], at: datetime | None = None,
          context: dict[str, Any] | None = None, period: str | None = None) -> list[int]:
    """Enter customers into a live journey's current version as its entry policy allows; the ids of the enrolments
    made (helper: no commit). Each active one gets its first step queued; held-out ones get nothing."""
    version = live_version(session, journey)
    if version is None or not profile_ids:
        return []
    definition = definition_of(session, version_id=version.id)
    now = at or utcnow()
    roots = sorted(set(resolve_profile_ids(session, profile_ids=set(profile_ids)).values()))
    made: list[int] = []
    for start in range(0, len(roots), ENROL_CHUNK):
        keys = _entry_keys(session, journey=journey, definition=definition, roots=roots[start:start + ENROL_CHUNK],
                           at=now, period=period)
        made += _insert_enrolments(session, journey=journey, version=version, definition=definition, keys=keys,
                                   now=now, context=context or {})
    return made


def _insert_enrolments(session: Session, *, journey: Journey, version: JourneyVersion, definition: Definition,
                       keys: dict[int, str], now: datetime, context: dict[str, Any]) -> list[int]:
    if not keys:
        return []
    percent = definition.settings.holdout_percent
    rows = []
    for root, key in keys.items():
        held = in_holdout(journey_id=journey.id, entry_key=key, percent=percent)
        rows.append({"journey_id": journey.id, "version_id": version.id, "profile_id": root, "entry_key": key,
                     "status": (EnrolmentStatus.holdout if held else EnrolmentStatus.active).value, "holdout": held,
                     "node": None if held else definition.start, "visit": 0, "context": context,
                     "exit_reason": "", "revenue": 0, "entered_at": now})
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    session.flush()
    made: Any = session.execute(insert(_ENROLMENTS).values(rows).on_conflict_do_nothing(index_elements=["entry_key"])
                           .returning(_ENROLMENTS.c.id, _ENROLMENTS.c.holdout)).all()
    add_jobs(session, [{"name": STEP_JOB, "payload": {"enrolment_id": enrolment_id, "visit": 0}}
                       for enrolment_id, held in made if not held])
    return [enrolment_id for enrolment_id, _ in made]


# Moving --------------------------------------------------------------------------------------------------


@dataclass
class Move:
    """What a step decided: go on to ``next`` (None: the journey ends), stay until ``wake_at`` (a delay, a
    deferred send, a wait), or finish with ``finish`` (exited, goal)."""

    outcome: str
    next: str | None = None
    stay: bool = False
    wake_at: datetime | None = None
    waiting_for: str | None = None
    finish: EnrolmentStatus | None = None
    reason: str = ""
    detail: str = ""
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepContext:
    """Everything a step needs: the session, the enrolment (locked), its journey and version, the step, now."""

    session: Session
    enrolment: Enrolment
    journey: Journey
    definition: Definition
    node_id: str
    node: Any
    now: datetime


def _locked(session: Session, enrolment_id: int) -> Enrolment | None:
    return _locked_many(session, [enrolment_id]).get(enrolment_id)


def _locked_many(session: Session, enrolment_ids: Collection[int]) -> dict[int, Enrolment]:
    """The enrolments, fresh and locked (in id order, so two batches cannot wait on each other)."""
    query = select(Enrolment).where(Enrolment.id.in_(sorted(enrolment_ids))).order_by(Enrolment.id) \
        .execution_options(populate_existing=True)
    if is_postgres(session):
        query = query.with_for_update()
    return {enrolment.id: enrolment for enrolment in session.scalars(query)}


def run_step(session: Session, *, enrolment_id: int, visit: int, now: datetime | None = None) -> str | None:
    """Run the step an enrolment is at, if the job is still the current one; the outcome (helper: no commit)."""
    return run_steps(session, due=[(enrolment_id, visit)], now=now).get(enrolment_id)


def run_steps(session: Session, *, due: Sequence[tuple[int, int]], now: datetime | None = None) -> dict[int, str]:
    """Run the steps of many enrolments, given as (enrolment, visit) each job was queued for, in one transaction;
    the outcome of each step run, by enrolment (helper: no commit).

    Each runs as it would alone, but that the send steps of a node go together (one policy read, one count) and
    the steps and next jobs are written together. A customer with two sends due has the second run after the
    first is counted."""
    from xuyen.journeys.flows.sending import send_steps
    from xuyen.journeys.flows.steps import execute

    moment = now or utcnow()
    visits: dict[int, set[int]] = {}
    for enrolment_id, visit in due:  # an enrolment may have a stale job beside its current one
        visits.setdefault(enrolment_id, set()).add(visit)
    found = _locked_many(session, visits)
    known = _Known(session)
    contexts = [context for enrolment_id in sorted(visits)
                if (context := _context(known, found.get(enrolment_id), visits[enrolment_id], moment)) is not None]
    batched, later, customers = [], [], set()
    for context in contexts:
        if context.node.type != "send":
            later.append(context)
        elif context.enrolment.profile_id in customers:
            later.append(context)  # a second send to the customer: after the first is counted
        else:
            batched.append(context)
            customers.add(context.enrolment.profile_id)
    steps: list[tuple[StepContext, Move]] = list(zip(batched, send_steps(batched), strict=True))
    if batched:
        session.flush()
    steps += [(context, execute(context)) for context in later]
    jobs = [job for context, move in steps
            if (job := _record_move(session, context.enrolment, move, kind=context.node.type, now=moment))]
    add_jobs(session, jobs)
    session.flush()
    return {context.enrolment.id: move.outcome for context, move in steps}


@dataclass
class _Known:
    """The journeys and definitions a batch of steps met, each read once (the session only keeps rows in use)."""

    session: Session
    journeys: dict[int, Journey | None] = field(default_factory=dict)
    definitions: dict[int, Definition] = field(default_factory=dict)

    def journey(self, journey_id: int) -> Journey | None:
        if journey_id not in self.journeys:
            self.journeys[journey_id] = self.session.get(Journey, journey_id)
        return self.journeys[journey_id]

    def definition(self, version_id: int) -> Definition:
        if version_id not in self.definitions:
            self.definitions[version_id] = definition_of(self.session, version_id=version_id)
        return self.definitions[version_id]


def _context(known: _Known, enrolment: Enrolment | None, visits: set[int], now: datetime) -> StepContext | None:
    """What the step needs, when a job is still the enrolment's current one and its journey runs."""
    if enrolment is None or enrolment.status != EnrolmentStatus.active or enrolment.visit not in visits \
            or enrolment.node is None:
        return None
    journey = known.journey(enrolment.journey_id)
    if journey is None or journey.status == JourneyStatus.paused:
        return None
    definition = known.definition(enrolment.version_id)
    return StepContext(session=known.session, enrolment=enrolment, journey=journey, definition=definition,
                       node_id=enrolment.node, node=definition.node(enrolment.node), now=now)


def apply_move(session: Session, enrolment: Enrolment, move: Move, *, kind: str, now: datetime) -> None:
    """Record the step and move the enrolment as ``move`` says, queueing its next job (helper: no commit)."""
    job = _record_move(session, enrolment, move, kind=kind, now=now)
    add_jobs(session, [job] if job else [])
    session.flush()


def _record_move(session: Session, enrolment: Enrolment, move: Move, *, kind: str,
                 now: datetime) -> dict[str, Any] | None:
    """Record the step and move the enrolment; the enrolment's next job to queue, if it has one."""
    session.add(JourneyStep(enrolment_id=enrolment.id, journey_id=enrolment.journey_id,
                            version_id=enrolment.version_id, node=enrolment.node or "", visit=enrolment.visit,
                            kind=kind, outcome=move.outcome[:64], detail=move.detail[:2000], at=now))
    enrolment.visit += 1
    if move.context:
        enrolment.context = {**enrolment.context, **move.context}
    if move.finish is not None:
        _finish(enrolment, move.finish, reason=move.reason or move.outcome, now=now)
        return None
    if move.stay:
        enrolment.wake_at, enrolment.waiting_for = move.wake_at, move.waiting_for
        return None if move.wake_at is None else _step_job(enrolment, run_at=move.wake_at)
    enrolment.node, enrolment.wake_at, enrolment.waiting_for = move.next, None, None
    if move.next is None:
        _finish(enrolment, EnrolmentStatus.completed, reason="completed", now=now)
        return None
    return _step_job(enrolment)


def _step_job(enrolment: Enrolment, *, run_at: datetime | None = None) -> dict[str, Any]:
    return {"name": STEP_JOB, "payload": {"enrolment_id": enrolment.id, "visit": enrolment.visit}, "run_at": run_at}


def _finish(enrolment: Enrolment, status: EnrolmentStatus, *, reason: str, now: datetime) -> None:
    enrolment.status, enrolment.exit_reason, enrolment.finished_at = status, reason[:64], now
    enrolment.wake_at, enrolment.waiting_for = None, None


def queue_step(session: Session, enrolment: Enrolment, *, run_at: datetime | None = None) -> None:
    """Queue the job of the enrolment's current visit (helper: no commit)."""
    add_job(session, name=STEP_JOB, payload={"enrolment_id": enrolment.id, "visit": enrolment.visit}, run_at=run_at)


def requeue_due(session: Session, *, journey_id: int) -> int:
    """Queue again the steps of a journey's active enrolments that came due while it was paused (helper)."""
    now = utcnow()
    due = list(session.scalars(select(Enrolment).where(
        Enrolment.journey_id == journey_id, Enrolment.status == EnrolmentStatus.active,
        (Enrolment.wake_at.is_(None) & Enrolment.waiting_for.is_(None)) | (Enrolment.wake_at <= now))))
    for enrolment in due:
        queue_step(session, enrolment)
    return len(due)


# Reacting to what customers do ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Happened:
    """A track event of a customer, as the journeys read it."""

    profile_id: int
    event: str
    properties: dict[str, Any]
    at: datetime
    message_id: str


def _matches(where: dict[str, Any], properties: dict[str, Any]) -> bool:
    return all(properties.get(key) == value for key, value in where.items())


def _goal_met(goal: Goal | None, happened: Happened) -> bool:
    return goal is not None and goal.event == happened.event and _matches(goal.where, happened.properties)


def revenue_of(properties: dict[str, Any]) -> int:
    """The order's value in whole đồng from a Segment e-commerce event (``revenue``, else ``total``), 0 if none."""
    for key in ("revenue", "total", "value"):
        value = properties.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return round(value)
    return 0


def react(session: Session, *, happenings: Sequence[Happened]) -> None:
    """Events of customers: enter event-triggered journeys, end enrolments that reached their goal, wake the waits
    that wanted them, count conversions (helper: no commit)."""
    if not happenings:
        return
    _enter_on_events(session, happenings)
    profiles = sorted({item.profile_id for item in happenings})
    enrolments = list(session.scalars(select(Enrolment).where(
        Enrolment.profile_id.in_(profiles), Enrolment.status.in_([EnrolmentStatus.active, EnrolmentStatus.goal,
                                                                  EnrolmentStatus.completed, EnrolmentStatus.exited,
                                                                  EnrolmentStatus.holdout]),
        Enrolment.entered_at >= min(item.at for item in happenings) - timedelta(days=90))
        .order_by(Enrolment.id)))
    for happened in sorted(happenings, key=lambda item: item.at):
        for enrolment in enrolments:
            if enrolment.profile_id == happened.profile_id:
                _react_one(session, enrolment, happened)
    _count_send_conversions(session, happenings)


def _enter_on_events(session: Session, happenings: Sequence[Happened]) -> None:
    names = sorted({item.event for item in happenings})
    journeys = list(session.scalars(select(Journey).where(Journey.status == JourneyStatus.live,
                                                          Journey.trigger_kind == "event",
                                                          Journey.trigger_key.in_(names))))
    for journey in journeys:
        version = live_version(session, journey)
        if version is None:
            continue
        trigger = definition_of(session, version_id=version.id).trigger
        since = version.published_at - LATE_EVENT_GRACE
        for happened in happenings:
            if happened.event == trigger.event and happened.at >= since \
                    and _matches(trigger.where, happened.properties):
                enrol(session, journey=journey, profile_ids=[happened.profile_id], at=happened.at,
                      context={"event": {"name": happened.event, "properties": happened.properties,
                                         "message_id": happened.message_id}})


def _react_one(session: Session, enrolment: Enrolment, happened: Happened) -> None:
    from xuyen.journeys.flows.definition import WaitEvent

    trigger = (enrolment.context.get("event") or {}).get("message_id")
    if happened.at < enrolment.entered_at or happened.message_id == trigger:
        return  # before the entry, or the very event that made the customer enter
    settings = definition_of(session, version_id=enrolment.version_id).settings
    if enrolment.converted_at is None and happened.event == settings.conversion_event \
            and happened.at <= enrolment.entered_at + timedelta(days=settings.conversion_days) \
            and (settings.goal is None or _matches(settings.goal.where, happened.properties)):
        enrolment.converted_at, enrolment.revenue = happened.at, revenue_of(happened.properties)
    if enrolment.status != EnrolmentStatus.active:
        return
    locked = _locked(session, enrolment.id)
    if locked is None or locked.status != EnrolmentStatus.active:
        return
    if _goal_met(settings.goal, happened):
        apply_move(session, locked, Move(outcome="goal", finish=EnrolmentStatus.goal, reason="goal",
                                         detail=happened.event), kind="goal", now=happened.at)
        return
    if locked.waiting_for == happened.event and locked.node is not None:
        node = definition_of(session, version_id=locked.version_id).node(locked.node)
        if isinstance(node, WaitEvent) and _matches(node.where, happened.properties):
            apply_move(session, locked, Move(outcome="event", next=node.next, detail=happened.event),
                       kind=node.type, now=happened.at)


def _count_send_conversions(session: Session, happenings: Sequence[Happened]) -> None:
    """Credit each message sent within its journey's conversion window before a conversion event."""
    profiles = sorted({item.profile_id for item in happenings})
    sends = list(session.scalars(select(JourneySend).where(
        JourneySend.profile_id.in_(profiles), JourneySend.converted_at.is_(None),
        JourneySend.sent_at >= min(item.at for item in happenings) - timedelta(days=90))))
    versions = {enrolment_id: version_id for enrolment_id, version_id in session.execute(
        select(Enrolment.id, Enrolment.version_id).where(Enrolment.id.in_({s.enrolment_id for s in sends})))} \
        if sends else {}
    for send in sends:
        settings = definition_of(session, version_id=versions[send.enrolment_id]).settings
        for happened in happenings:
            if happened.profile_id == send.profile_id and happened.event == settings.conversion_event \
                    and send.sent_at <= happened.at <= send.sent_at + timedelta(days=settings.conversion_days) \
                    and send.status not in ("failed",):
                send.converted_at, send.revenue = happened.at, revenue_of(happened.properties)
                break


def enter_segment_journeys(session: Session, *, segment_id: int, profile_ids: Iterable[int],
                           at: datetime) -> None:
    """Customers entered a segment: enter the live journeys it triggers (helper: no commit)."""
    journeys = session.scalars(select(Journey).where(Journey.status == JourneyStatus.live,
                                                     Journey.trigger_kind == "segment_entered",
                                                     Journey.trigger_key == str(segment_id)))
    ids = list(profile_ids)
    for journey in journeys:
        enrol(session, journey=journey, profile_ids=ids, at=at, context={"segment_id": segment_id})


def exit_erased(session: Session, *, profile_ids: Collection[int]) -> None:
    """An erased customer leaves every journey, and what the enrolments kept of them goes (helper)."""
    now = utcnow()
    for enrolment in session.scalars(select(Enrolment).where(Enrolment.profile_id.in_(sorted(profile_ids)))):
        if enrolment.status == EnrolmentStatus.active:
            _finish(enrolment, EnrolmentStatus.exited, reason="erased", now=now)
            enrolment.visit += 1
        enrolment.context = {}
