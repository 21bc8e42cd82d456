"""SLA clocks: started, stopped, paused and resumed by what happens in a conversation (every function takes the
moment it happened, so the arithmetic never depends on when a worker gets to it), checked every minute for
warnings and breaches, and read for the API, the pages and the report.

Clock rules: the first response clock starts at the customer's first message and stops at the first reply; a next
response clock starts at each customer message after a reply and stops at the next reply; the resolution clock
starts at the customer's first message (again when a resolved conversation is reopened) and stops when it is
resolved. While the conversation waits on the customer (pending) or is snoozed, running clocks pause, and their
deadlines move later by the business time spent paused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.errors import ValidationFailed
from xuyen.inbox.models import Direction, Message
from xuyen.inbox.service import get_conversation
from xuyen.inbox.sla.calendar import add_business_time, business_time_between
from xuyen.inbox.sla.models import Clock, ClockKind, ConversationSla, Policy
from xuyen.inbox.sla.policies import calendar_of, get_policy, match_policy
from xuyen.outbox import emit

RESPONSE_KINDS = (ClockKind.first_response, ClockKind.next_response)
WAITING_STATUSES = ("pending", "snoozed")
MAX_REPORT_PERIOD = timedelta(days=366)
_ZERO = timedelta(0)


# The conversation's policy and waiting state -----------------------------------------------------------


def _conversation_sla(session: Session, conversation_id: int) -> ConversationSla:
    """The conversation's SLA row, made when missing (two workers making it at once is no error)."""
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    session.execute(insert(ConversationSla).values(conversation_id=conversation_id, created_at=utcnow())
                    .on_conflict_do_nothing(index_elements=["conversation_id"]))
    row = session.get(ConversationSla, conversation_id, populate_existing=True)
    assert row is not None
    return row


def _policy(session: Session, row: ConversationSla, channel_kind: str | None) -> Policy:
    """The conversation's policy, chosen on its first customer message; chosen again if it was turned off."""
    policy = session.get(Policy, row.policy_id) if row.policy_id is not None else None
    if policy is None or not policy.active:
        row.channel_kind = row.channel_kind or channel_kind
        policy = match_policy(session, channel_kind=row.channel_kind)
        row.policy_id = policy.id
    return policy


def _clocks(session: Session, conversation_id: int, *, running: bool) -> list[Clock]:
    query = select(Clock).where(Clock.conversation_id == conversation_id).order_by(Clock.started_at, Clock.id)
    if running:
        query = query.where(Clock.stopped_at.is_(None))
    return list(session.scalars(query))


# Clock arithmetic -------------------------------------------------------------------------------------


def _deadlines(policy: Policy, clock: Clock) -> None:
    """Set ``due_at`` and ``warn_at`` from the start, the target and the business time spent paused."""
    calendar = calendar_of(policy)
    paused = timedelta(seconds=clock.paused_total_seconds)
    target = timedelta(seconds=clock.target_seconds)
    clock.due_at = add_business_time(calendar, clock.started_at, target + paused)
    if policy.warning_percent:
        lead = timedelta(seconds=clock.target_seconds * policy.warning_percent / 100)
        clock.warn_at = add_business_time(calendar, clock.started_at, lead + paused)
    else:
        clock.warn_at = None


def _start(session: Session, *, conversation_id: int, policy: Policy, kind: ClockKind, at: datetime,
           paused: bool) -> Clock | None:
    target = policy.target_seconds(kind)
    if target is None:
        return None
    clock = Clock(conversation_id=conversation_id, policy_id=policy.id, kind=kind, target_seconds=target,
                  started_at=at, paused_at=at if paused else None, paused_total_seconds=0.0, created_at=utcnow())
    _deadlines(policy, clock)
    session.add(clock)
    return clock


def _resume(session: Session, clock: Clock, at: datetime) -> None:
    if clock.paused_at is None:
        return
    policy = get_policy(session, policy_id=clock.policy_id)
    at = max(at, clock.paused_at)
    clock.paused_total_seconds += business_time_between(calendar_of(policy), clock.paused_at, at).total_seconds()
    clock.paused_at = None
    if clock.breached_at is None:
        _deadlines(policy, clock)


def _stop(session: Session, clock: Clock, at: datetime) -> None:
    _resume(session, clock, at)
    clock.stopped_at = max(at, clock.started_at)
    if clock.stopped_at > clock.due_at:
        record_breach(session, clock, Clock.breached_at.is_(None))


# What happened in the conversation (helpers for the event handlers) -----------------------------------


def note_opened(session: Session, *, conversation_id: int) -> None:
    """A conversation opened: keep its SLA row (its policy is chosen on the customer's first message) (helper)."""
    _conversation_sla(session, conversation_id)


def note_inbound(session: Session, *, conversation_id: int, channel_kind: str | None, at: datetime) -> None:
    """The customer wrote at ``at``: the wait on them ends; a response clock starts unless one runs (the first
    response clock for their first message, else a next response clock), and so does the resolution clock
    (helper)."""
    row = _conversation_sla(session, conversation_id)
    policy = _policy(session, row, channel_kind)
    if row.paused_at is not None:  # a customer's message reopens a pending or snoozed conversation
        for clock in _clocks(session, conversation_id, running=True):
            _resume(session, clock, at)
        row.paused_at = None
    clocks = _clocks(session, conversation_id, running=False)
    running = {clock.kind for clock in clocks if clock.stopped_at is None}
    if not running & set(RESPONSE_KINDS):
        answered_before = any(clock.kind == ClockKind.first_response for clock in clocks)
        kind = ClockKind.next_response if answered_before else ClockKind.first_response
        _start(session, conversation_id=conversation_id, policy=policy, kind=kind, at=at, paused=False)
    if ClockKind.resolution not in running:
        _start(session, conversation_id=conversation_id, policy=policy, kind=ClockKind.resolution, at=at,
               paused=False)
    session.flush()


def note_reply(session: Session, *, conversation_id: int, at: datetime) -> None:
    """Someone of the shop replied at ``at``: the running response clock stops (helper)."""
    for clock in _clocks(session, conversation_id, running=True):
        if clock.kind in RESPONSE_KINDS:
            _stop(session, clock, at)
    session.flush()


def _reply_between(session: Session, conversation_id: int, start: datetime, end: datetime) -> datetime | None:
    """When the shop first replied from ``start`` to ``end``: a conversation resolved right after a reply may have
    its status handled before the reply's message (each handler keeps its own order)."""
    replies = session.scalars(select(Message).where(Message.conversation_id == conversation_id,
                                                    Message.direction == Direction.outbound,
                                                    Message.sent_at >= start, Message.sent_at <= end)
                              .order_by(Message.sent_at, Message.id).limit(20))
    return next((message.sent_at for message in replies if not message.meta.get("system")), None)


def note_status(session: Session, *, conversation_id: int, status: str, previous: str | None,
                at: datetime) -> None:
    """The conversation's status changed at ``at``: waiting pauses the clocks, opening resumes them (and
    restarts the resolution clock of a reopened conversation), resolving stops them all (helper)."""
    row = _conversation_sla(session, conversation_id)
    running = _clocks(session, conversation_id, running=True)
    if status in WAITING_STATUSES:
        row.paused_at = row.paused_at or at
        for clock in running:
            clock.paused_at = clock.paused_at or max(at, clock.started_at)
    elif status == "open":
        for clock in running:
            _resume(session, clock, at)
        row.paused_at = None
        restart = all(clock.kind != ClockKind.resolution for clock in running)
        if previous == "resolved" and row.policy_id is not None and restart:
            _start(session, conversation_id=conversation_id, policy=_policy(session, row, None),
                   kind=ClockKind.resolution, at=at, paused=False)
    elif status == "resolved":
        for clock in running:
            answered = _reply_between(session, conversation_id, clock.started_at, at) \
                if clock.kind in RESPONSE_KINDS else None
            _stop(session, clock, answered or at)
        row.paused_at = None
    session.flush()


# Conversations combined when the customer's profiles were merged ------------------------------------------


def _drop_later_duplicates(session: Session, conversation_id: int, at: datetime) -> None:
    """Of the running clocks measuring the same wait (a response, the resolution), the one that started first
    goes on; a later one is dropped, or stopped when it was already breached (the breach stays on record)."""
    running = _clocks(session, conversation_id, running=True)
    for group in (RESPONSE_KINDS, (ClockKind.resolution,)):
        for later in [clock for clock in running if clock.kind in group][1:]:
            if later.breached_at is None:
                session.delete(later)
            else:
                _stop(session, later, at)


def combine_clocks(session: Session, *, from_conversation_id: int, into_conversation_id: int, waiting: bool,
                   at: datetime) -> list[int]:
    """The clocks of a conversation combined into another move with its messages: where both ran a clock of the
    same kind, the earlier one goes on (the customer has waited since then), and the running clocks pause or run
    as the combined conversation waits on the customer or not; the ids of the clocks moved (helper)."""
    moved = _clocks(session, from_conversation_id, running=False)
    moved_ids = [clock.id for clock in moved]
    for clock in moved:
        clock.conversation_id = into_conversation_id
    session.flush()
    row = _conversation_sla(session, into_conversation_id)
    source = session.get(ConversationSla, from_conversation_id)
    if row.policy_id is None and source is not None and source.policy_id is not None:
        row.policy_id, row.channel_kind = source.policy_id, source.channel_kind
    _drop_later_duplicates(session, into_conversation_id, at)
    for clock in _clocks(session, into_conversation_id, running=True):
        if waiting:
            clock.paused_at = clock.paused_at or max(at, clock.started_at)
        else:
            _resume(session, clock, at)
    row.paused_at = (row.paused_at or at) if waiting else None
    session.flush()
    return list(session.scalars(select(Clock.id).where(Clock.id.in_(moved_ids or [-1])).order_by(Clock.id)))


def return_clocks(session: Session, *, clock_ids: list[int], to_conversation_id: int) -> int:
    """Clocks that came with a combined conversation go back to it when the merge is undone; how many (helper)."""
    clocks = list(session.scalars(select(Clock).where(Clock.id.in_(clock_ids or [-1]))))
    for clock in clocks:
        clock.conversation_id = to_conversation_id
    _conversation_sla(session, to_conversation_id)
    session.flush()
    return len(clocks)


# Breaches and warnings ---------------------------------------------------------------------------------


def _event_payload(session: Session, clock: Clock) -> dict[str, object]:
    policy = session.get(Policy, clock.policy_id)
    return {"conversation_id": clock.conversation_id, "clock_id": clock.id, "kind": clock.kind.value,
            "policy_id": clock.policy_id, "policy": policy.name if policy else None,
            "started_at": clock.started_at.isoformat(), "due_at": clock.due_at.isoformat()}


def record_breach(session: Session, clock: Clock, *conditions: Any) -> bool:
    """Mark the clock breached at its deadline and emit ``inbox.sla.breached``, once whoever notices first: the
    row is marked only while ``conditions`` (breached_at still empty at least) hold (helper)."""
    session.flush()
    marked = session.execute(update(Clock).where(Clock.id == clock.id, *conditions)
                             .values(breached_at=clock.due_at).execution_options(synchronize_session=False))
    if not marked.rowcount:  # type: ignore[attr-defined]
        return False
    set_committed_value(clock, "breached_at", clock.due_at)
    emit(session, topic="inbox.sla.breached", aggregate_type="conversation", aggregate_id=clock.conversation_id,
         payload=_event_payload(session, clock) | {"breached_at": clock.due_at.isoformat()})
    return True


def _running_unbreached() -> list[Any]:
    return [Clock.stopped_at.is_(None), Clock.paused_at.is_(None), Clock.breached_at.is_(None)]


def record_due(session: Session, *, now: datetime) -> tuple[int, int]:
    """Record the breaches and the warnings due at ``now``, each once; how many of each (helper for the
    minutely job)."""
    breaches = 0
    due = list(session.scalars(select(Clock).where(*_running_unbreached(), Clock.due_at <= now)
                               .order_by(Clock.due_at).limit(1000)))
    for clock in due:
        breaches += record_breach(session, clock, *_running_unbreached(), Clock.due_at <= now)
    warnings = 0
    warned = list(session.scalars(select(Clock).where(*_running_unbreached(), Clock.warned_at.is_(None),
                                                      Clock.warn_at <= now, Clock.due_at > now)
                                  .order_by(Clock.warn_at).limit(1000)))
    for clock in warned:
        marked = session.execute(update(Clock).where(Clock.id == clock.id, Clock.warned_at.is_(None),
                                                     *_running_unbreached())
                                 .values(warned_at=now).execution_options(synchronize_session=False))
        if marked.rowcount:  # type: ignore[attr-defined]
            set_committed_value(clock, "warned_at", now)
            left = business_time_between(calendar_of(get_policy(session, policy_id=clock.policy_id)), now,
                                         clock.due_at)
            emit(session, topic="inbox.sla.warning", aggregate_type="conversation",
                 aggregate_id=clock.conversation_id,
                 payload=_event_payload(session, clock) | {"remaining_seconds": int(left.total_seconds())})
            warnings += 1
    return breaches, warnings


def check_clocks(session: Session, *, now: datetime | None = None) -> tuple[int, int]:
    """Record the breaches and warnings due now (or at ``now``) and commit; how many of each."""
    found = record_due(session, now=now or utcnow())
    session.commit()
    return found


# Reading -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockView:
    """A clock as shown: its state (running, paused, met, breached) and the business time left (negative when
    overdue; None once stopped)."""

    clock: Clock
    policy_name: str
    state: str
    remaining: timedelta | None
    warning: bool


def view(clock: Clock, policy: Policy, *, now: datetime) -> ClockView:
    """How a clock stands at ``now``."""
    if clock.stopped_at is not None:
        breached = clock.breached_at is not None or clock.stopped_at > clock.due_at
        return ClockView(clock, policy.name, "breached" if breached else "met", None, False)
    calendar = calendar_of(policy)
    remaining = business_time_between(calendar, clock.paused_at or max(now, clock.started_at), clock.due_at)
    overdue = clock.breached_at is not None or (clock.paused_at is None and now >= clock.due_at)
    state = "breached" if overdue else ("paused" if clock.paused_at is not None else "running")
    warning = clock.warned_at is not None or (clock.warn_at is not None and now >= clock.warn_at)
    return ClockView(clock, policy.name, state, remaining, warning and not overdue)


def conversation_clocks(session: Session, *, conversation_id: int, now: datetime | None = None) -> list[ClockView]:
    """Every clock of a conversation, oldest first, as it stands now (or at ``now``)."""
    get_conversation(session, conversation_id=conversation_id)
    moment = now or utcnow()
    clocks = _clocks(session, conversation_id, running=False)
    policies = _policies(session, {clock.policy_id for clock in clocks})
    return [view(clock, policies[clock.policy_id], now=moment) for clock in clocks]


def _policies(session: Session, ids: Iterable[int]) -> dict[int, Policy]:
    wanted = set(ids)
    return {policy.id: policy for policy in session.scalars(select(Policy).where(Policy.id.in_(wanted)))} \
        if wanted else {}


def current_clocks(session: Session, *, conversation_ids: Iterable[int],
                   now: datetime | None = None) -> dict[int, list[ClockView]]:
    """The clocks not stopped yet of several conversations, the most urgent first (for badges)."""
    ids = list(conversation_ids)
    if not ids:
        return {}
    moment = now or utcnow()
    clocks = list(session.scalars(select(Clock).where(Clock.conversation_id.in_(ids), Clock.stopped_at.is_(None))))
    policies = _policies(session, {clock.policy_id for clock in clocks})
    found: dict[int, list[ClockView]] = {}
    for clock in clocks:
        found.setdefault(clock.conversation_id, []).append(view(clock, policies[clock.policy_id], now=moment))
    for views in found.values():
        views.sort(key=lambda item: (item.state != "breached", item.state == "paused",
                                     item.remaining if item.remaining is not None else _ZERO))
    return found


# The report --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """One policy and kind of clock over a period: clocks breached (by their deadline) and met (by their stop)."""

    policy_id: int
    policy_name: str
    kind: str
    breached: int
    met: int

    @property
    def breach_rate(self) -> float | None:
        """The share of clocks decided in the period that were breached."""
        decided = self.breached + self.met
        return round(self.breached / decided, 4) if decided else None


def check_period(since: datetime, until: datetime) -> None:
    """Refuse a period that is not a forward span of at most 366 days with time zones."""
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationFailed("Give since and until with a time zone, e.g. 2026-03-01T00:00:00+07:00.",
                               code="invalid_period")
    if until <= since:
        raise ValidationFailed("until must come after since.", code="invalid_period")
    if until - since > MAX_REPORT_PERIOD:
        raise ValidationFailed("A report covers at most 366 days; ask for a shorter period.", code="invalid_period")


def breach_report(session: Session, *, since: datetime, until: datetime) -> list[ReportRow]:
    """Breaches (deadline within the period) and met clocks (stopped within it, in time) per policy and kind."""
    check_period(since, until)
    breached = session.execute(select(Clock.policy_id, Clock.kind, func.count()).where(
        Clock.breached_at >= since, Clock.breached_at < until).group_by(Clock.policy_id, Clock.kind)).all()
    met = session.execute(select(Clock.policy_id, Clock.kind, func.count()).where(
        Clock.breached_at.is_(None), Clock.stopped_at >= since, Clock.stopped_at < until,
        Clock.stopped_at <= Clock.due_at).group_by(Clock.policy_id, Clock.kind)).all()
    counts: dict[tuple[int, ClockKind], list[int]] = {}
    for policy_id, kind, count in breached:
        counts.setdefault((policy_id, kind), [0, 0])[0] += count
    for policy_id, kind, count in met:
        counts.setdefault((policy_id, kind), [0, 0])[1] += count
    policies = _policies(session, {policy_id for policy_id, _kind in counts})
    order = list(ClockKind)
    keys = sorted(counts, key=lambda key: (policies[key[0]].is_default, policies[key[0]].position, key[0],
                                           order.index(key[1])))
    return [ReportRow(policy_id, policies[policy_id].name, kind.value, *counts[(policy_id, kind)])
            for policy_id, kind in keys]
