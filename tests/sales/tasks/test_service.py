"""The tasks' service: defaults, bad input, completing a call with its outcome (outbox, event log, timeline),
reopening and cancelling, changing a task, and the scope rule on every read and write."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.factories import make_store, make_user
from tests.sales.tasks.conftest import NOW, as_principal, make_customer
from xuyen.auth.models import Role
from xuyen.customers.timeline import read_timeline
from xuyen.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from xuyen.events.models import Event
from xuyen.outbox import OutboxEvent
from xuyen.sales.tasks import service
from xuyen.sales.tasks.models import CallOutcome, TaskKind, TaskStatus
from xuyen.sales.tasks.service import TaskFilter

DUE = NOW + timedelta(hours=3)


def _topics(session: Session, task_id: int) -> list[str]:
    return list(session.scalars(select(OutboxEvent.topic).where(OutboxEvent.aggregate_type == "task",
                                                                OutboxEvent.aggregate_id == str(task_id))
                                .order_by(OutboxEvent.id)))


def test_a_new_task_is_the_callers_in_their_branch_reminded_half_an_hour_before(session: Session,
                                                                                engine: Engine) -> None:
    hanoi = make_store(session, code="HN")
    agent = make_user(session, role=Role.agent, store=hanoi)
    customer = make_customer(session, engine)
    task = service.create(session, principal=as_principal(agent), profile_id=customer, title="  Gọi lại   báo giá ",
                          due_at=DUE, deal_id=42)
    assert (task.owner_id, task.store_id, task.status, task.kind) == (agent.id, hanoi.id, TaskStatus.open,
                                                                      TaskKind.call)
    assert task.title == "Gọi lại báo giá"
    assert task.remind_at == DUE - timedelta(minutes=30)
    assert task.deal_id == 42
    assert _topics(session, task.id) == ["task.created"]
    quiet = service.create(session, principal=as_principal(agent), profile_id=customer, title="Gửi mẫu vải",
                           kind=TaskKind.follow_up, due_at=DUE, remind=False)
    assert quiet.remind_at is None


@pytest.mark.parametrize(("changes", "code"), [
    ({"title": "   "}, "invalid_title"),
    ({"title": "x" * 201}, "invalid_title"),
    ({"due_at": datetime(2026, 12, 7, 9, 0)}, "naive_time"),
    ({"remind_at": DUE + timedelta(minutes=1)}, "remind_after_due"),
    ({"notes": "x" * 5001}, "invalid_notes"),
    ({"owner_id": 999_999}, "invalid_owner"),
])
def test_bad_input_is_refused_with_its_reason(session: Session, engine: Engine, changes: dict[str, object],
                                              code: str) -> None:
    owner = make_user(session, role=Role.owner)
    customer = make_customer(session, engine)
    arguments: dict[str, object] = {"profile_id": customer, "title": "Gọi khách", "due_at": DUE} | changes
    with pytest.raises(ValidationFailed) as caught:
        service.create(session, principal=as_principal(owner), **arguments)  # type: ignore[arg-type]
    assert caught.value.code == code


def test_a_task_needs_a_customer_that_exists(session: Session) -> None:
    owner = make_user(session, role=Role.owner)
    with pytest.raises(NotFound) as caught:
        service.create(session, principal=as_principal(owner), profile_id=987_654, title="Gọi", due_at=DUE)
    assert caught.value.code == "customer_not_found"


def test_a_completed_call_keeps_its_outcome_and_reaches_outbox_event_log_and_timeline(session: Session,
                                                                                      engine: Engine) -> None:
    agent = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    task = service.create(session, principal=as_principal(agent), profile_id=customer, title="Gọi tư vấn",
                          due_at=DUE)
    with pytest.raises(ValidationFailed) as caught:
        service.complete(session, principal=as_principal(agent), task_id=task.id)
    assert caught.value.code == "outcome_required"
    done = service.complete(session, principal=as_principal(agent), task_id=task.id,
                            outcome=CallOutcome.call_back_later, note="Khách hẹn gọi lại chiều mai", at=NOW)
    assert (done.status, done.outcome, done.done_at) == (TaskStatus.done, CallOutcome.call_back_later, NOW)
    assert _topics(session, task.id) == ["task.created", "task.completed"]
    logged = session.scalars(select(Event).where(Event.event == "Call Logged")).one()
    assert logged.profile_id == customer
    assert logged.properties["outcome"] == "call_back_later"
    assert logged.properties["note"] == "Khách hẹn gọi lại chiều mai"
    page = read_timeline(session, profile_ids=[customer], cursor=None, limit=20)
    (item,) = [item for item in page.items if item.kind == "task"]
    assert (item.at, item.data["outcome"]) == (NOW, "call_back_later")
    assert item.data["note"] == "Khách hẹn gọi lại chiều mai"
    with pytest.raises(Conflict):
        service.complete(session, principal=as_principal(agent), task_id=task.id, outcome=CallOutcome.reached)


def test_other_tasks_complete_without_an_outcome_and_log_task_completed(session: Session, engine: Engine) -> None:
    agent = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    task = service.create(session, principal=as_principal(agent), profile_id=customer, title="Gặp ở cửa hàng",
                          kind=TaskKind.meeting, due_at=DUE)
    with pytest.raises(ValidationFailed) as caught:
        service.complete(session, principal=as_principal(agent), task_id=task.id, outcome=CallOutcome.reached)
    assert caught.value.code == "outcome_for_calls_only"
    service.complete(session, principal=as_principal(agent), task_id=task.id)
    assert session.scalars(select(Event.event).where(Event.profile_id == customer,
                                                     Event.event == "Task Completed")).one()


def test_reopen_and_cancel_follow_the_status(session: Session, engine: Engine) -> None:
    agent = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    principal = as_principal(agent)
    task = service.create(session, principal=principal, profile_id=customer, title="Gọi", due_at=DUE)
    with pytest.raises(Conflict):
        service.reopen(session, principal=principal, task_id=task.id)
    service.complete(session, principal=principal, task_id=task.id, outcome=CallOutcome.no_answer)
    reopened = service.reopen(session, principal=principal, task_id=task.id)
    assert (reopened.status, reopened.outcome, reopened.done_at) == (TaskStatus.open, None, None)
    assert service.cancel(session, principal=principal, task_id=task.id).status is TaskStatus.cancelled
    with pytest.raises(Conflict):
        service.cancel(session, principal=principal, task_id=task.id)
    with pytest.raises(Conflict):
        service.update(session, principal=principal, task_id=task.id, changes={"title": "Khác"})
    assert _topics(session, task.id) == ["task.created", "task.completed", "task.reopened", "task.cancelled"]


def test_moving_the_due_time_moves_the_reminder_and_allows_another(session: Session, engine: Engine) -> None:
    agent = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    principal = as_principal(agent)
    task = service.create(session, principal=principal, profile_id=customer, title="Gọi", due_at=DUE,
                          remind_at=DUE - timedelta(hours=1))
    task.reminded_at = task.overdue_at = NOW
    session.commit()
    later = DUE + timedelta(days=1)
    changed = service.update(session, principal=principal, task_id=task.id, changes={"due_at": later})
    assert changed.remind_at == later - timedelta(hours=1)
    assert (changed.reminded_at, changed.overdue_at) == (None, None)
    with pytest.raises(ValidationFailed):
        service.update(session, principal=principal, task_id=task.id, changes={"status": "done"})


def test_the_scope_rule_decides_who_sees_and_who_may_assign(session: Session, engine: Engine) -> None:
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    lan = make_user(session, role=Role.agent, store=hanoi)
    minh = make_user(session, role=Role.agent, store=hanoi)
    binh = make_user(session, role=Role.agent, store=saigon)
    hanoi_manager = make_user(session, role=Role.manager, store=hanoi)
    owner = make_user(session, role=Role.owner)
    customer = make_customer(session, engine)
    lans = service.create(session, principal=as_principal(lan), profile_id=customer, title="Gọi HN", due_at=DUE)
    binhs = service.create(session, principal=as_principal(owner), profile_id=customer, title="Gọi SG", due_at=DUE,
                           owner_id=binh.id)
    assert binhs.store_id == saigon.id
    with pytest.raises(PermissionDenied):
        service.create(session, principal=as_principal(lan), profile_id=customer, title="Cho SG", due_at=DUE,
                       owner_id=binh.id)
    everything = TaskFilter()
    assert [t.id for t in service.list_tasks(session, principal=as_principal(minh), where=everything)] == [lans.id]
    assert [t.id for t in service.list_tasks(session, principal=as_principal(hanoi_manager),
                                             where=everything)] == [lans.id]
    assert {t.id for t in service.list_tasks(session, principal=as_principal(owner), where=everything)} == {
        lans.id, binhs.id}
    with pytest.raises(NotFound):
        service.get(session, principal=as_principal(lan), task_id=binhs.id)
    with pytest.raises(NotFound):
        service.complete(session, principal=as_principal(lan), task_id=binhs.id, outcome=CallOutcome.reached)


def test_lists_narrow_to_mine_overdue_today_and_a_customer(session: Session, engine: Engine) -> None:
    owner = make_user(session, role=Role.owner)
    other = make_user(session, role=Role.agent)
    first, second = make_customer(session, engine), make_customer(session, engine)
    principal = as_principal(owner)
    late = service.create(session, principal=principal, profile_id=first, title="Quá hạn",
                          due_at=NOW - timedelta(hours=2))
    today = service.create(session, principal=principal, profile_id=first, title="Hôm nay",
                           due_at=NOW + timedelta(hours=10))
    tomorrow = service.create(session, principal=principal, profile_id=second, title="Mai",
                              due_at=NOW + timedelta(days=1))
    theirs = service.create(session, principal=principal, profile_id=second, title="Của người khác",
                            due_at=NOW + timedelta(hours=1), owner_id=other.id)

    def ids(**where: object) -> list[int]:
        found = service.list_tasks(session, principal=principal, where=TaskFilter(**where), now=NOW)  # type: ignore[arg-type]
        return [task.id for task in found]

    assert ids(overdue=True) == [late.id]
    assert ids(due_today=True) == [late.id, theirs.id, today.id]
    # "today" at 19:00 in Hà Nội is already tomorrow in Los Angeles
    assert ids(due_today=True, timezone="America/Los_Angeles") == [late.id, theirs.id]
    assert ids(mine=True) == [late.id, today.id, tomorrow.id]
    assert ids(profile_id=second) == [theirs.id, tomorrow.id]
    assert ids(owner_id=other.id) == [theirs.id]
