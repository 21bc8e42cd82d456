"""The tasks API: list (mine, overdue, due today, by customer or deal), create, change, complete, reopen and
cancel tasks, and my reminders; every call under the sales scope rule."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Path, Query
from sqlalchemy.orm import Session

from xuyen.auth.deps import require_role
from xuyen.auth.models import Role
from xuyen.auth.service import Principal
from xuyen.clock import utcnow
from xuyen.errors import BadRequest
from xuyen.http import get_session
from xuyen.routing import Router
from xuyen.sales.tasks import reminders, service
from xuyen.sales.tasks.models import TaskStatus
from xuyen.sales.tasks.schemas import CompleteIn, ReminderOut, TaskChange, TaskIn, TaskOut
from xuyen.sales.tasks.service import MAX_PAGE, TaskFilter

router = Router(prefix="/tasks", tags=["tasks"])

Db = Annotated[Session, Depends(get_session)]
Agent = Annotated[Principal, Depends(require_role(Role.agent))]
TaskId = Annotated[int, Path(ge=1, le=2**31 - 1)]
OptionalId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("", summary="Tasks I may see, soonest due first")
def list_tasks(session: Db, caller: Agent, mine: bool = False, overdue: bool = False, due_today: bool = False,
               status: Annotated[Literal["open", "done", "cancelled", "all"], Query()] = "open",
               customer_id: OptionalId = None, deal_id: OptionalId = None, owner_id: OptionalId = None,
               limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
               offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> list[TaskOut]:
    """``due_today`` is today in the caller's time zone; ``overdue`` means open and past due."""
    where = TaskFilter(mine=mine, overdue=overdue, due_today=due_today,
                       status=None if status == "all" else TaskStatus(status), profile_id=customer_id,
                       deal_id=deal_id, owner_id=owner_id, timezone=caller.timezone)
    now = utcnow()
    found = service.list_tasks(session, principal=caller, where=where, limit=limit, offset=offset, now=now)
    return [TaskOut.of(task, now=now) for task in found]


@router.post("", status_code=201, summary="Add a task on a customer")
def create_task(body: TaskIn, session: Db, caller: Agent) -> TaskOut:
    task = service.create(session, principal=caller, profile_id=body.customer_id, kind=body.kind, title=body.title,
                          notes=body.notes, due_at=body.due_at, remind_at=body.remind_at, remind=body.remind,
                          deal_id=body.deal_id, owner_id=body.owner_id, store_id=body.store_id,
                          team_id=body.team_id)
    return TaskOut.of(task, now=utcnow())


@router.get("/reminders", summary="My latest task reminders, newest first")
def my_reminders(session: Db, caller: Agent, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ReminderOut]:
    if caller.user_id is None:
        raise BadRequest("Reminders belong to signed-in staff, not to API keys.", code="user_required")
    return [ReminderOut.of(reminder, task)
            for reminder, task in reminders.list_reminders(session, user_id=caller.user_id, limit=limit)]


@router.post("/reminders/read", summary="Mark all my task reminders read")
def read_reminders(session: Db, caller: Agent) -> dict[str, int]:
    if caller.user_id is None:
        raise BadRequest("Reminders belong to signed-in staff, not to API keys.", code="user_required")
    return {"marked": reminders.mark_all_read(session, user_id=caller.user_id)}


@router.get("/{task_id}", summary="One task")
def get_task(task_id: TaskId, session: Db, caller: Agent) -> TaskOut:
    return TaskOut.of(service.get(session, principal=caller, task_id=task_id), now=utcnow())


@router.patch("/{task_id}", summary="Change an open task")
def change_task(task_id: TaskId, body: TaskChange, session: Db, caller: Agent) -> TaskOut:
    task = service.update(session, principal=caller, task_id=task_id, changes=body.changes())
    return TaskOut.of(task, now=utcnow())


@router.post("/{task_id}/complete", summary="Mark a task done (a call with its outcome)")
def complete_task(task_id: TaskId, body: CompleteIn, session: Db, caller: Agent) -> TaskOut:
    task = service.complete(session, principal=caller, task_id=task_id, outcome=body.outcome, note=body.note)
    return TaskOut.of(task, now=utcnow())


@router.post("/{task_id}/reopen", summary="Open a done or cancelled task again")
def reopen_task(task_id: TaskId, session: Db, caller: Agent) -> TaskOut:
    return TaskOut.of(service.reopen(session, principal=caller, task_id=task_id), now=utcnow())


@router.post("/{task_id}/cancel", summary="Cancel an open task")
def cancel_task(task_id: TaskId, session: Db, caller: Agent) -> TaskOut:
    return TaskOut.of(service.cancel(session, principal=caller, task_id=task_id), now=utcnow())
