"""The demo shop's tasks: overdue ones, today's calls, coming ones, and logged calls on the event log."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.demo import customers
from xuyen.demo.service import load_demo
from xuyen.events.models import Event
from xuyen.sales.tasks.models import Task, TaskStatus


@pytest.mark.slow
def test_the_demo_has_overdue_tasks_todays_calls_and_logged_outcomes(session: Session,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", 20)
    load_demo(session, seed=2026)
    session.rollback()
    now = utcnow()
    open_tasks = list(session.scalars(select(Task).where(Task.status == TaskStatus.open)))
    assert sum(task.due_at < now for task in open_tasks) >= 5
    assert sum(task.due_at >= now for task in open_tasks) >= 10
    done = list(session.scalars(select(Task).where(Task.status == TaskStatus.done)))
    assert len(done) == 12 and all(task.outcome is not None for task in done)
    logged = session.scalar(select(func.count()).select_from(Event).where(Event.event == "Call Logged"))
    assert logged == 12
