"""Completed tasks in the event log: a call as Segment-style ``Call Logged``, anything else as ``Task Completed``,
so journeys and analytics see them (helper: no commit)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from xuyen.events.service import record_on_profile
from xuyen.sales.tasks.models import Task, TaskKind

SOURCE_NAME = "Bán hàng · Công việc"
CALL_LOGGED = "Call Logged"
TASK_COMPLETED = "Task Completed"


def record_completion(session: Session, *, task: Task) -> bool:
    """Record the completed ``task`` in the event log; whether it was (a customer with no identifier is not)."""
    if task.done_at is None:
        return False
    properties = {"task_id": task.id, "kind": task.kind.value, "title": task.title, "deal_id": task.deal_id,
                  "owner_id": task.owner_id, "outcome": task.outcome.value if task.outcome else None,
                  "note": task.outcome_note}
    return record_on_profile(session, source_name=SOURCE_NAME,
                              event=CALL_LOGGED if task.kind is TaskKind.call else TASK_COMPLETED,
                              message_id=f"sales-task:{task.id}:done:{task.done_at.isoformat()}",
                              profile_id=task.profile_id, at=task.done_at, properties=properties)
