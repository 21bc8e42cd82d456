"""The tasks' service: create, change, complete (a call with its outcome), reopen and cancel a task, read one and
list them, each under the sales scope rule. Every change announces itself on the outbox (``task.*``); a completed
task is also a Segment-style event in the event log (``Call Logged`` or ``Task Completed``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from xuyen.auth.models import User
from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xuyen.identity.graph import resolve_profile_id
from xuyen.outbox import emit
from xuyen.sales.scope import SalesScope, scope_of, sees, visible
from xuyen.sales.tasks import journal
from xuyen.sales.tasks.models import CallOutcome, Task, TaskKind, TaskStatus

DEFAULT_REMIND_BEFORE = timedelta(minutes=30)
MAX_TITLE = 200
MAX_NOTES = 5000
MAX_PAGE = 500
EDITABLE = frozenset({"kind", "title", "notes", "due_at", "remind_at", "owner_id", "store_id", "team_id",
                      "deal_id"})


@dataclass(frozen=True)
class TaskFilter:
    """What a list of tasks is narrowed to; every part is optional."""

    mine: bool = False
    overdue: bool = False
    due_today: bool = False
    status: TaskStatus | None = TaskStatus.open
    profile_id: int | None = None
    deal_id: int | None = None
    owner_id: int | None = None
    timezone: str = "Asia/Ho_Chi_Minh"


# Checks ------------------------------------------------------------------------------------------------


def _aware(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None:
        raise ValidationFailed(f"{field} needs a time zone (e.g. 2026-12-06T09:00:00+07:00).", code="naive_time")
    return moment.astimezone(UTC)


def _clean_title(title: str) -> str:
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ValidationFailed("Give the task a title, e.g. “Gọi lại báo giá”.", code="invalid_title")
    if len(cleaned) > MAX_TITLE:
        raise ValidationFailed(f"The title is longer than {MAX_TITLE} characters.", code="invalid_title")
    return cleaned


def _clean_notes(notes: str, *, code: str = "invalid_notes") -> str:
    cleaned = notes.strip()
    if len(cleaned) > MAX_NOTES:
        raise ValidationFailed(f"The notes are longer than {MAX_NOTES} characters.", code=code)
    return cleaned


def _live_profile(session: Session, profile_id: int) -> int:
    """The surviving profile of ``profile_id``; NotFound when no such customer is shown (erased or unknown)."""
    try:
        survivor = resolve_profile_id(session, profile_id=profile_id)
    except NotFound:
        survivor = None
    if survivor is None or session.get(CustomerProfile, survivor) is None:
        raise NotFound(f"There is no customer {profile_id}.", code="customer_not_found")
    return survivor


def _active_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(f"There is no active staff member {user_id} to own the task.", code="invalid_owner")
    return user


def _remind_at(due_at: datetime, remind_at: datetime | None, *, remind: bool) -> datetime | None:
    if not remind:
        return None
    if remind_at is None:
        return due_at - DEFAULT_REMIND_BEFORE
    remind_at = _aware(remind_at, "remind_at")
    if remind_at > due_at:
        raise ValidationFailed("The reminder must come before the task is due.", code="remind_after_due")
    return remind_at


def _check_outcome(task: Task, outcome: CallOutcome | None) -> None:
    if task.kind is TaskKind.call and outcome is None:
        raise ValidationFailed("Say how the call went: reached, no answer, busy, wrong number or call back later.",
                               code="outcome_required")
    if task.kind is not TaskKind.call and outcome is not None:
        raise ValidationFailed("Only calls have an outcome.", code="outcome_for_calls_only")


def _scoped(session: Session, principal: Principal) -> SalesScope:
    return scope_of(session, principal=principal)


def _must_see(scope: SalesScope, *, owner_id: int | None, store_id: int | None, team_id: int | None) -> None:
    if not sees(scope, owner_id=owner_id, store_id=store_id, team_id=team_id):
        raise PermissionDenied("You may not give a task to someone outside your branch or team.",
                               code="outside_scope")


def _payload(task: Task) -> dict[str, Any]:
    return {"task_id": task.id, "kind": task.kind.value, "title": task.title, "profile_id": task.profile_id,
            "deal_id": task.deal_id, "owner_id": task.owner_id, "store_id": task.store_id, "team_id": task.team_id,
            "status": task.status.value, "due_at": task.due_at.isoformat(),
            "outcome": task.outcome.value if task.outcome else None}


def announce(session: Session, task: Task, topic: str, **extra: Any) -> None:
    """Write a task event to the outbox with the task as it is now (helper)."""
    emit(session, topic=topic, aggregate_type="task", aggregate_id=task.id, payload=_payload(task) | extra)


def _actor(principal: Principal) -> str:
    return f"{principal.kind}:{principal.id}"


# Reading -----------------------------------------------------------------------------------------------


def get(session: Session, *, principal: Principal, task_id: int) -> Task:
    """One task the principal may see; NotFound for the others (so their existence does not leak)."""
    task = session.get(Task, task_id)
    if task is None or not sees(_scoped(session, principal), owner_id=task.owner_id, store_id=task.store_id,
                                team_id=task.team_id):
        raise NotFound(f"There is no task {task_id}.", code="task_not_found")
    return task


def _day_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def list_query(session: Session, *, principal: Principal, where: TaskFilter,
               now: datetime | None = None) -> Select[Task]:
    """The query of the tasks the principal may see, narrowed by ``where``, soonest due first."""
    now = now or utcnow()
    query = select(Task).where(visible(_scoped(session, principal), owner=Task.owner_id, store=Task.store_id,
                                       team=Task.team_id))
    if where.status is not None:
        query = query.where(Task.status == where.status)
    if where.mine:
        query = query.where(Task.owner_id == principal.user_id) if principal.user_id is not None \
            else query.where(Task.id.is_(None))
    if where.owner_id is not None:
        query = query.where(Task.owner_id == where.owner_id)
    if where.overdue:
        query = query.where(Task.status == TaskStatus.open, Task.due_at < now)
    if where.due_today:
        start, end = _day_bounds(now, where.timezone)
        query = query.where(Task.due_at >= start, Task.due_at < end)
    if where.profile_id is not None:
        from xuyen.identity.service import merged_profile_ids

        ids = [where.profile_id, *merged_profile_ids(session, profile_id=where.profile_id)]
        query = query.where(Task.profile_id.in_(ids))
    if where.deal_id is not None:
        query = query.where(Task.deal_id == where.deal_id)
    return query.order_by(Task.due_at, Task.id)


def list_tasks(session: Session, *, principal: Principal, where: TaskFilter, limit: int = 100,
               offset: int = 0, now: datetime | None = None) -> list[Task]:
    """A page of the tasks the principal may see, soonest due first."""
    limit = max(1, min(limit, MAX_PAGE))
    query = list_query(session, principal=principal, where=where, now=now).limit(limit).offset(max(0, offset))
    return list(session.scalars(query))


# Changing ----------------------------------------------------------------------------------------------


def create(session: Session, *, principal: Principal, profile_id: int, title: str, due_at: datetime,
           kind: TaskKind = TaskKind.call, notes: str = "", remind_at: datetime | None = None, remind: bool = True,
           owner_id: int | None = None, store_id: int | None = None, team_id: int | None = None,
           deal_id: int | None = None) -> Task:
    """Add a task on a customer (and optionally a deal), owned by ``owner_id`` or the caller, and commit.

    The reminder defaults to 30 minutes before the task is due; ``remind=False`` asks for none. The branch defaults
    to the owner's. The caller must be able to see the task they make."""
    due = _aware(due_at, "due_at")
    owner = _active_user(session, owner_id if owner_id is not None else principal.user_id or 0) \
        if owner_id is not None or principal.user_id is not None else None
    task = Task(kind=kind, title=_clean_title(title), notes=_clean_notes(notes),
                profile_id=_live_profile(session, profile_id), deal_id=deal_id,
                owner_id=owner.id if owner else None,
                store_id=store_id if store_id is not None else (owner.store_id if owner else principal.store_id),
                team_id=team_id, created_by_id=principal.user_id, created_by=_actor(principal), due_at=due,
                remind_at=_remind_at(due, remind_at, remind=remind), status=TaskStatus.open)
    _must_see(_scoped(session, principal), owner_id=task.owner_id, store_id=task.store_id, team_id=task.team_id)
    session.add(task)
    session.flush()
    announce(session, task, "task.created")
    session.commit()
    return task


def update(session: Session, *, principal: Principal, task_id: int, changes: dict[str, Any]) -> Task:
    """Change an open task's fields named in ``changes`` and commit. A new due time moves the reminder with it; a
    new reminder or due time may remind and announce overdue again; a new owner takes the task to their branch."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code="invalid_field")
    task = get(session, principal=principal, task_id=task_id)
    if task.status is not TaskStatus.open:
        raise Conflict("Only an open task can be changed; reopen it first.", code="task_not_open")
    previous_due, previous_remind = task.due_at, task.remind_at
    if "title" in changes:
        task.title = _clean_title(changes["title"])
    if "notes" in changes:
        task.notes = _clean_notes(changes["notes"] or "")
    if "kind" in changes:
        task.kind = TaskKind(changes["kind"])
    if "owner_id" in changes:
        owner = _active_user(session, changes["owner_id"]) if changes["owner_id"] is not None else None
        task.owner_id = owner.id if owner else None
        if owner is not None and owner.store_id is not None and "store_id" not in changes:
            task.store_id = owner.store_id  # the task follows its new owner to their branch
    for field in ("store_id", "team_id", "deal_id"):
        if field in changes:
            setattr(task, field, changes[field])
    if "due_at" in changes:
        task.due_at = _aware(changes["due_at"], "due_at")
    if "remind_at" in changes:
        task.remind_at = _remind_at(task.due_at, changes["remind_at"], remind=changes["remind_at"] is not None)
    elif "due_at" in changes and previous_remind is not None:
        task.remind_at = task.due_at - (previous_due - previous_remind)
    if task.remind_at is not None and task.remind_at > task.due_at:
        raise ValidationFailed("The reminder must come before the task is due.", code="remind_after_due")
    if task.remind_at != previous_remind:
        task.reminded_at = None
    if task.due_at != previous_due:
        task.overdue_at = None
    _must_see(_scoped(session, principal), owner_id=task.owner_id, store_id=task.store_id, team_id=task.team_id)
    announce(session, task, "task.updated")
    session.commit()
    return task


def complete(session: Session, *, principal: Principal, task_id: int, outcome: CallOutcome | None = None,
             note: str = "", at: datetime | None = None) -> Task:
    """Mark an open task done (a call with its outcome and a note), log it on the customer's timeline, commit."""
    task = get(session, principal=principal, task_id=task_id)
    if task.status is not TaskStatus.open:
        raise Conflict("This task is not open: it was done or cancelled already.", code="task_not_open")
    _check_outcome(task, outcome)
    task.status, task.done_at = TaskStatus.done, at or utcnow()
    task.outcome, task.outcome_note = outcome, _clean_notes(note, code="invalid_note")
    session.flush()
    announce(session, task, "task.completed", outcome_note=task.outcome_note, done_at=task.done_at.isoformat(),
              by=_actor(principal))
    journal.record_completion(session, task=task)
    session.commit()
    return task


def reopen(session: Session, *, principal: Principal, task_id: int) -> Task:
    """Open a done or cancelled task again (its outcome cleared) and commit."""
    task = get(session, principal=principal, task_id=task_id)
    if task.status is TaskStatus.open:
        raise Conflict("This task is open already.", code="task_open")
    task.status, task.done_at, task.outcome, task.outcome_note = TaskStatus.open, None, None, ""
    announce(session, task, "task.reopened")
    session.commit()
    return task


def cancel(session: Session, *, principal: Principal, task_id: int) -> Task:
    """Cancel an open task and commit."""
    task = get(session, principal=principal, task_id=task_id)
    if task.status is not TaskStatus.open:
        raise Conflict("This task is not open: it was done or cancelled already.", code="task_not_open")
    task.status = TaskStatus.cancelled
    announce(session, task, "task.cancelled")
    session.commit()
    return task
