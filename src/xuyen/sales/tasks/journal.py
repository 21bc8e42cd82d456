"""Completed tasks in the event log: a call as Segment-style ``Call Logged``, anything else as ``Task Completed``,
so journeys and analytics see them (helper: no commit)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from xuyen.events.models import ChannelType
from xuyen.events.service import channel_call, internal_source_id, record_channel_calls
from xuyen.identity.graph import list_identifiers, resolve_profile_id
from xuyen.sales.tasks.models import Task, TaskKind

SOURCE_NAME = "Bán hàng · Công việc"
CALL_LOGGED = "Call Logged"
TASK_COMPLETED = "Task Completed"
PREFERRED_IDENTIFIERS = ("user_id", "phone", "email")


def _identifier_of(session: Session, profile_id: int) -> tuple[str, str, str | None] | None:
    """One identifier that names the customer in the event log, the strongest first; None when they have none."""
    found = list_identifiers(session, profile_id=resolve_profile_id(session, profile_id=profile_id))
    if not found:
        return None
    rank = {kind: index for index, kind in enumerate(PREFERRED_IDENTIFIERS)}
    best = min(found, key=lambda item: (rank.get(item.type, len(rank)), item.id))
    return best.type, best.value, best.scope or None


def record_completion(session: Session, *, task: Task) -> bool:
    """Record the completed ``task`` in the event log; whether it was (a customer with no identifier is not)."""
    identifier = _identifier_of(session, task.profile_id)
    if identifier is None or task.done_at is None:
        return False
    properties = {"task_id": task.id, "kind": task.kind.value, "title": task.title, "deal_id": task.deal_id,
                  "owner_id": task.owner_id, "outcome": task.outcome.value if task.outcome else None,
                  "note": task.outcome_note}
    call = channel_call(event=CALL_LOGGED if task.kind is TaskKind.call else TASK_COMPLETED,
                        message_id=f"sales-task:{task.id}:done:{task.done_at.isoformat()}",
                        identifiers=[identifier], timestamp=task.done_at, properties=properties)
    record_channel_calls(session, calls=[(internal_source_id(session, name=SOURCE_NAME, channel=ChannelType.api),
                                          call)])
    return True
