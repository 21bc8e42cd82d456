"""Tasks and notices other parts ask for through ``journey.task_requested`` (a journey's "create a task" or
"notify staff" step): given to the right person — a named user, the customer's sales owner, the manager of the
customer's branch, or every manager — and reminded through the bell and by e-mail like any task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.auth.models import Role, User
from xuyen.identity.graph import resolve_profile_id
from xuyen.sales.leads.models import Lead
from xuyen.sales.tasks.models import Task, TaskKind, TaskStatus
from xuyen.sales.tasks.service import announce


def _customer_branch(session: Session, profile_id: int) -> tuple[int | None, int | None]:
    """The sales owner and branch of the customer's latest lead, if they have one."""
    row = session.execute(select(Lead.owner_id, Lead.store_id).where(Lead.profile_id == profile_id)
                          .order_by(Lead.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row is not None else (None, None)


def _active(session: Session, *, role: Role | None = None, store_id: int | None = None) -> list[User]:
    query = select(User).where(User.is_active.is_(True))
    if role is not None:
        query = query.where(User.role == role)
    if store_id is not None:
        query = query.where(User.store_id == store_id)
    return list(session.scalars(query.order_by(User.id)))


def _store_manager(session: Session, store_id: int | None) -> list[User]:
    """The branch's manager; with no branch (or none there), the first manager, else the first owner."""
    for found in (_active(session, role=Role.manager, store_id=store_id) if store_id is not None else [],
                  _active(session, role=Role.manager), _active(session, role=Role.owner)):
        if found:
            return found[:1]
    return []


def assignees(session: Session, *, assign: dict[str, Any], profile_id: int) -> tuple[list[User], int | None]:
    """Who a requested task goes to, and the branch it belongs to."""
    owner_id, store_id = _customer_branch(session, profile_id)
    if assign.get("user_id"):
        user = session.get(User, int(assign["user_id"]))
        if user is not None and user.is_active:
            return [user], user.store_id
    role = assign.get("role")
    if role == "owner" and owner_id is not None:
        user = session.get(User, owner_id)
        if user is not None and user.is_active:
            return [user], store_id or user.store_id
    if role == "managers":
        return _active(session, role=Role.manager) or _active(session, role=Role.owner), store_id
    return _store_manager(session, store_id), store_id


def create_requested(session: Session, *, request: dict[str, Any], now: datetime) -> list[Task]:
    """The tasks a ``journey.task_requested`` asks for (helper: no commit). A notice is a follow-up due now whose
    reminder goes out at once."""
    profile_id = resolve_profile_id(session, profile_id=int(request["profile_id"]))
    users, store_id = assignees(session, assign=dict(request.get("assign") or {}), profile_id=profile_id)
    due = datetime.fromisoformat(str(request["due_at"]))
    notes = f"Hành trình: {request.get('journey_name', '')}".strip()
    kind = TaskKind(request.get("kind", "follow_up")) if request.get("kind") in TaskKind.__members__ \
        else TaskKind.follow_up
    made = []
    owners: list[User | None] = list(users) or [None]
    for user in owners:
        task = Task(kind=kind, title=str(request["title"])[:200], notes=notes, profile_id=profile_id,
                    owner_id=user.id if user else None, store_id=store_id if store_id is not None else
                    (user.store_id if user else None), created_by=f"journey:{request.get('journey_id')}",
                    due_at=due, remind_at=now if request.get("notify") else due, status=TaskStatus.open,
                    created_at=now)
        session.add(task)
        made.append(task)
    session.flush()
    for task in made:
        announce(session, task, "task.created")
    return made
