"""Tasks on the customer timeline: each task once, when it was planned, or, once done, when it was done (a call
with its outcome and note)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from xuyen.customers.timeline import TimelineItem, timeline_provider
from xuyen.sales.tasks.models import Task, TaskStatus

MAX_TASK_ID = 2**31 - 1  # task ids are 32-bit; a timeline position may carry any 64-bit number


@timeline_provider("task")
def task_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
               limit: int) -> list[TimelineItem]:
    """The customers' tasks as timeline items, newest first."""
    at = func.coalesce(Task.done_at, Task.created_at)
    query = (select(Task, at).where(Task.profile_id.in_(profile_ids)).order_by(at.desc(), Task.id.desc())
             .limit(limit))
    if before is not None:
        moment, task_id = before[0], min(before[1], MAX_TASK_ID)
        query = query.where(or_(at < moment, and_(at == moment, Task.id < task_id)))
    return [TimelineItem(at=task.done_at or task.created_at, kind="task", seq=task.id, channel=None,
                         title=task.title,
                         data={"task_id": task.id, "task_kind": task.kind.value, "status": task.status.value,
                               "done": task.status is TaskStatus.done, "due_at": task.due_at,
                               "outcome": task.outcome.value if task.outcome else None,
                               "note": task.outcome_note, "deal_id": task.deal_id})
            for task, _at in session.execute(query)]
