"""The demo shop's scheduled report: every Monday at 08:00 the owner receives the inbox dashboard's tables for the
past week (sent once a mailbox is connected; until then each run says there is no mailbox)."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from xuyen.analytics import inbox, schedules  # noqa: F401  (inbox registers the tables the report sends)
from xuyen.auth.models import Role
from xuyen.demo.registry import DemoContext, demo_step

STEP = "báo cáo định kỳ"


@demo_step(STEP, order=116)
def add_report_schedule(session: Session, rng: random.Random, context: DemoContext) -> None:
    """A weekly report of the inbox to the owner."""
    owner = next((user for user in context.users.values() if user.role == Role.owner), None)
    if owner is None:
        return
    value = schedules.ScheduleIn(name="Báo cáo chăm sóc khách hàng hằng tuần", dashboard="inbox",
                                 period="last_7_days", frequency="weekly", weekday="0", hour="8",
                                 user_ids=[str(owner.id)])
    schedules.add_schedule(session, value=value, timezone=owner.timezone, locale="vi", actor="demo")
