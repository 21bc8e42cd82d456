"""Reminders: due reminders reach the owner once (the bell and an e-mail through the shop's mailbox, tested against
a real SMTP server), however often the job runs and when two workers race; overdue tasks are announced once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests import shop_mailbox
from tests.channels.test_email import SmtpServer
from tests.factories import make_user
from tests.sales.tasks.conftest import NOW, as_principal, make_customer
from tests.shop_mailbox import connect_mailbox
from xuyen.auth.models import Role
from xuyen.db import session_factory
from xuyen.jobs import Job, add_job, periodic_specs
from xuyen.outbox import OutboxEvent
from xuyen.sales.tasks import reminders, service
from xuyen.sales.tasks.models import CallOutcome, Task, TaskReminder
from xuyen.worker import Worker

smtp = shop_mailbox.smtp  # the fixture

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

DUE = NOW + timedelta(hours=1)


def _counts(session: Session) -> tuple[int, int, int]:
    session.rollback()
    return (session.scalar(select(func.count()).select_from(TaskReminder)) or 0,
            session.scalar(select(func.count()).select_from(Job).where(Job.name == reminders.EMAIL_JOB)) or 0,
            session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == "task.overdue"))
            or 0)


def test_a_due_reminder_reaches_the_owner_once_in_the_app_and_by_mail(session: Session, engine: Engine,
                                                                       smtp: SmtpServer) -> None:
    lan = make_user(session, role=Role.agent, name="Trần Thị Lan", email="lan@shop.vn")
    customer = make_customer(session, engine, name="Phạm Minh Châu")
    connect_mailbox(session, smtp.port)
    task = service.create(session, principal=as_principal(lan), profile_id=customer, title="Gọi chốt đơn áo dài",
                          due_at=DUE, notes="Khách hỏi size M")
    assert reminders.run(session, now=DUE - timedelta(minutes=31)) == reminders.RunResult(0, 0)
    session.commit()
    assert reminders.run(session, now=DUE - timedelta(minutes=29)) == reminders.RunResult(1, 0)
    session.commit()
    assert reminders.run(session, now=DUE - timedelta(minutes=20)) == reminders.RunResult(0, 0)
    session.commit()
    assert _counts(session)[:2] == (1, 1)
    assert reminders.unread_count(session, user_id=lan.id) == 1
    (reminder, reminded) = reminders.list_reminders(session, user_id=lan.id)[0]
    assert reminded.id == task.id

    assert reminders.send_reminder_email(session, reminder_id=reminder.id, base_url="https://crm.shop.vn") == "sent"
    session.commit()
    assert reminders.send_reminder_email(session, reminder_id=reminder.id, base_url="https://crm.shop.vn") == "sent"
    (arrived,) = smtp.recorder.arrived
    assert arrived.rcpt_tos == ["lan@shop.vn"]
    mail = arrived.parsed()
    assert mail["Subject"] == "Nhắc việc: Gọi chốt đơn áo dài lúc 10:00 07/12/2026"
    body = mail.get_content()
    assert "Phạm Minh Châu" in body and "Khách hỏi size M" in body and "https://crm.shop.vn/tasks" in body
    assert reminders.mark_all_read(session, user_id=lan.id) == 1
    assert reminders.unread_count(session, user_id=lan.id) == 0


def test_without_a_mailbox_the_reminder_stays_in_the_app(session: Session, engine: Engine) -> None:
    lan = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    service.create(session, principal=as_principal(lan), profile_id=customer, title="Gọi", due_at=DUE)
    reminders.run(session, now=DUE)
    session.commit()
    reminder_id = session.scalars(select(TaskReminder.id)).one()
    assert reminders.send_reminder_email(session, reminder_id=reminder_id, base_url="") == "no_mailbox"


def _run_job_twice(session: Session, engine: Engine) -> None:
    """Queue the periodic job twice, as two schedules would, and let a worker run them."""
    assert reminders.REMIND_JOB in {spec.name for spec in periodic_specs()}
    for _ in range(2):
        add_job(session, name=reminders.REMIND_JOB)
        session.commit()
        Worker(engine=engine).run_until_idle()


def test_the_periodic_job_reminds_and_announces_overdue_once(session: Session, engine: Engine) -> None:
    lan = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    principal = as_principal(lan)
    late = service.create(session, principal=principal, profile_id=customer, title="Gọi trễ",
                          due_at=NOW - timedelta(days=400), remind=False)
    done = service.create(session, principal=principal, profile_id=customer, title="Đã gọi",
                          due_at=NOW - timedelta(days=400))
    service.complete(session, principal=principal, task_id=done.id, outcome=CallOutcome.reached)
    _run_job_twice(session, engine)
    assert _counts(session) == (0, 0, 1)
    overdue = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "task.overdue")).one()
    assert overdue.payload["task_id"] == late.id
    moved = service.update(session, principal=principal, task_id=late.id, changes={"due_at": NOW - timedelta(days=399)})
    assert moved.overdue_at is None
    _run_job_twice(session, engine)
    assert _counts(session) == (0, 0, 2)


def test_two_workers_racing_remind_once(session: Session, engine: Engine) -> None:
    lan = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    for number in range(5):
        service.create(session, principal=as_principal(lan), profile_id=customer, title=f"Gọi {number}",
                       due_at=DUE)
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def one_worker() -> None:
        with session_factory(engine)() as own:
            try:
                start.wait()
                reminders.run(own, now=DUE + timedelta(minutes=1))
                own.commit()
            except BaseException as exc:  # reported by the test below
                failures.append(exc)

    threads = [threading.Thread(target=one_worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert _counts(session) == (5, 5, 5)


def test_a_stale_claim_loses_and_a_reminder_row_is_unique(session: Session, engine: Engine) -> None:
    lan = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    task = service.create(session, principal=as_principal(lan), profile_id=customer, title="Gọi", due_at=DUE)
    assert task.remind_at is not None
    remind_at, task_id = task.remind_at, task.id
    assert reminders._claim(session, Task.reminded_at, task_id=task_id, guard=Task.remind_at == remind_at, now=DUE)
    session.commit()
    assert not reminders._claim(session, Task.reminded_at, task_id=task_id, guard=Task.remind_at == remind_at,
                                now=DUE)
    assert reminders._add_reminder(session, task_id=task_id, user_id=lan.id, remind_at=remind_at)
    assert not reminders._add_reminder(session, task_id=task_id, user_id=lan.id, remind_at=remind_at)
    session.commit()
    assert _counts(session)[:2] == (1, 1)
