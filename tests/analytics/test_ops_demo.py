"""The demo shop tells its story on the inbox, journeys and stock dashboards, and schedules a weekly report to its
owner."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from xuyen.analytics import filters, inbox, journeys, stock
from xuyen.analytics.schedule_models import ReportSchedule
from xuyen.auth.models import Role, User
from xuyen.demo import customers
from xuyen.demo.service import load_demo
from xuyen.worker import Worker


@pytest.mark.timeout(900)
def test_the_demo_shop_fills_the_operations_dashboards(session: Session, engine: Engine,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(customers, "CUSTOMER_COUNT", 40)
    load_demo(session, seed=2026)
    Worker(engine=engine, periodic=False).run_until_idle()  # the inbox's events start the SLA clocks
    session.rollback()
    month = filters.parse()
    metrics = inbox.inbox_metrics(session, filters=month)
    assert metrics.messages > 0 and sum(1 for row in metrics.by_channel if row.messages) >= 2
    assert metrics.first_response.count > 0
    rows = journeys.journey_rows(session, filters=month)
    assert rows and any(row.results.enrolled for row in rows)
    assert any(row.listed for row in stock.out_of_stock(session))
    assert stock.sell_through(session, filters=month)
    owner = session.scalars(select(User).where(User.role == Role.owner)).first()
    schedule = session.scalars(select(ReportSchedule)).one()
    assert owner is not None and schedule.user_ids == [owner.id] and schedule.dashboard == "inbox"
    assert (schedule.frequency, schedule.weekday, schedule.hour) == ("weekly", 0, 8)
