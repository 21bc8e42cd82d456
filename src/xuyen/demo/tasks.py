"""The demo shop's sales tasks: the staff's calls, meetings and follow-ups with customers, some overdue, today's
calls still to make, coming ones, and calls already made with their outcomes on the customers' timelines."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.auth.models import Role, User
from xuyen.clock import utcnow
from xuyen.demo.registry import DemoContext, demo_step
from xuyen.identity.models import Profile, ProfileIdentifier
from xuyen.sales.tasks import journal
from xuyen.sales.tasks.models import CallOutcome, Task, TaskKind, TaskStatus
from xuyen.sales.tasks.service import DEFAULT_REMIND_BEFORE

STEP = "công việc bán hàng"
CALL_TITLES = ("Gọi tư vấn bộ sưu tập mới", "Gọi xác nhận size áo dài", "Gọi lại báo giá may đo",
               "Gọi chúc mừng sinh nhật, tặng mã giảm giá", "Gọi hỏi thăm sau khi mua", "Gọi nhắc đơn chưa thanh toán")
OTHER_TITLES = ((TaskKind.meeting, "Hẹn thử đồ tại cửa hàng"), (TaskKind.follow_up, "Gửi ảnh mẫu vải qua Zalo"),
                (TaskKind.follow_up, "Gửi báo giá đồng phục công ty"), (TaskKind.other, "Chuẩn bị quà tri ân"))
NOTES = ("Khách thích màu pastel", "Khách hỏi giá sỉ cho 20 bộ", "", "Khách bận buổi sáng, gọi sau 14h", "")
OUTCOME_NOTES = {CallOutcome.reached: ("Khách đồng ý ghé cửa hàng cuối tuần", "Khách chốt 2 bộ, đã lên đơn"),
                 CallOutcome.no_answer: ("Không nghe máy, gọi lại sau", ""),
                 CallOutcome.busy: ("Máy bận", ""),
                 CallOutcome.wrong_number: ("Số không đúng, cần xác minh lại", ""),
                 CallOutcome.call_back_later: ("Khách hẹn gọi lại sau 17h", "Khách đang đi công tác")}
OVERDUE, TODAY, UPCOMING, LOGGED = 6, 8, 8, 12


@demo_step(STEP, order=94)
def add_tasks(session: Session, rng: random.Random, context: DemoContext) -> None:
    """Tasks for the sales staff on customers who gave a phone number: overdue ones, today's calls, coming ones,
    and calls made over the past week with their outcomes (logged in the event log, so the timeline shows them)."""
    staff = [user for user in context.users.values() if user.role in (Role.agent, Role.manager)]
    customers = list(session.scalars(
        select(ProfileIdentifier.profile_id).join(Profile, Profile.id == ProfileIdentifier.profile_id)
        .where(ProfileIdentifier.type == "phone", Profile.merged_into_id.is_(None))
        .order_by(ProfileIdentifier.profile_id).distinct()))
    if not staff or not customers:
        return
    now = utcnow().replace(second=0, microsecond=0)
    plans = ([now - timedelta(hours=rng.randint(2, 72)) for _ in range(OVERDUE)]
             + [now + timedelta(minutes=rng.randint(20, 8 * 60)) for _ in range(TODAY)]
             + [now + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 8)) for _ in range(UPCOMING)])
    for due_at in plans:
        kind, title = (TaskKind.call, rng.choice(CALL_TITLES)) if rng.random() < 0.7 else rng.choice(OTHER_TITLES)
        _add(session, rng, staff=staff, customers=customers, kind=kind, title=title, due_at=due_at, now=now)
    for _ in range(LOGGED):
        due_at = now - timedelta(hours=rng.randint(3, 7 * 24))
        task = _add(session, rng, staff=staff, customers=customers, kind=TaskKind.call,
                    title=rng.choice(CALL_TITLES), due_at=due_at, now=now)
        outcome = rng.choice(list(CallOutcome))
        task.status, task.outcome, task.outcome_note = TaskStatus.done, outcome, rng.choice(OUTCOME_NOTES[outcome])
        task.done_at = due_at + timedelta(minutes=rng.randint(0, 90))
        session.flush()
        journal.record_completion(session, task=task)
    context.extra[STEP] = {"overdue": OVERDUE, "today": TODAY, "upcoming": UPCOMING, "logged_calls": LOGGED}


def _add(session: Session, rng: random.Random, *, staff: list[User], customers: list[int], kind: TaskKind,
         title: str, due_at: datetime, now: datetime) -> Task:
    owner = rng.choice(staff)
    task = Task(kind=kind, title=title, notes=rng.choice(NOTES), profile_id=rng.choice(customers),
                owner_id=owner.id, store_id=owner.store_id, created_by_id=owner.id, created_by=f"user:{owner.id}",
                due_at=due_at, remind_at=due_at - DEFAULT_REMIND_BEFORE,
                status=TaskStatus.open, outcome_note="", created_at=due_at - timedelta(days=2),
                updated_at=now)
    session.add(task)
    session.flush()
    return task
