"""Tasks on the pages: my tasks grouped overdue / today / coming up in my time zone, a manager's owner filter, the
quick "done" with a call's outcome, the customer 360 panel and its form (bad input answered with the reason), the
reminders' count in the header, and the call's outcome on the timeline."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_store, make_user
from tests.sales.tasks.conftest import as_principal, make_customer
from tests.ui.helpers import csrf_token, sign_in
from xuyen.auth.models import Role, User
from xuyen.clock import to_local, utcnow
from xuyen.sales.tasks import reminders, service
from xuyen.sales.tasks.models import Task, TaskKind, TaskStatus


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    client.headers["accept"] = "text/html"
    client.follow_redirects = False
    return client


def _section(html: str, name: str) -> str:
    found = re.search(rf'id="tasks-{name}".*?</section>', html, re.S)
    assert found, name
    return found.group(0)


def _sign_in(browser: TestClient, user: User) -> str:
    assert sign_in(browser, user.email, PASSWORD).status_code == 303
    return csrf_token(browser.get("/tasks").text)


def test_my_tasks_come_overdue_first_then_today_then_later(session: Session, engine: Engine,
                                                           browser: TestClient) -> None:
    lan = make_user(session, role=Role.agent, name="Trần Thị Lan")
    other = make_user(session, role=Role.agent)
    customer = make_customer(session, engine, name="Lê Văn Bình")
    now = utcnow()
    principal = as_principal(lan)
    service.create(session, principal=principal, profile_id=customer, title="Gọi trễ hẹn",
                   due_at=now - timedelta(hours=3))
    local_now = to_local(now, "Asia/Ho_Chi_Minh")
    later_today = now + timedelta(minutes=5) if local_now.hour < 23 else now - timedelta(minutes=1)
    service.create(session, principal=principal, profile_id=customer, title="Gọi trong ngày",
                   due_at=later_today)
    next_week = now + timedelta(days=7)
    service.create(session, principal=principal, profile_id=customer, title="Hẹn tuần sau", due_at=next_week,
                   kind=TaskKind.meeting)
    service.create(session, principal=as_principal(other), profile_id=customer, title="Việc của người khác",
                   due_at=now + timedelta(days=1))
    _sign_in(browser, lan)
    html = browser.get("/tasks").text
    assert "Gọi trễ hẹn" in _section(html, "overdue")
    assert "Hẹn tuần sau" in _section(html, "upcoming")
    assert to_local(next_week, "Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M") in _section(html, "upcoming")
    assert "Việc của người khác" not in html
    assert "Lê Văn Bình" in html and 'href="/tasks"' in html  # the customer's name; the nav entry


def test_a_manager_sees_the_branch_and_filters_by_owner(session: Session, engine: Engine,
                                                        browser: TestClient) -> None:
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    lan = make_user(session, role=Role.agent, store=hanoi, name="Trần Thị Lan")
    minh = make_user(session, role=Role.agent, store=hanoi, name="Phạm Văn Minh")
    binh = make_user(session, role=Role.agent, store=saigon)
    manager = make_user(session, role=Role.manager, store=hanoi)
    customer = make_customer(session, engine)
    due = utcnow() + timedelta(days=2)
    for user, title in ((lan, "Việc của Lan"), (minh, "Việc của Minh"), (binh, "Việc ở Sài Gòn")):
        service.create(session, principal=as_principal(user), profile_id=customer, title=title, due_at=due)
    _sign_in(browser, manager)
    html = browser.get("/tasks").text
    assert "Việc của Lan" in html and "Việc của Minh" in html and "Việc ở Sài Gòn" not in html
    filtered = browser.get("/tasks", params={"owner": minh.id}).text
    assert "Việc của Minh" in filtered and "Việc của Lan" not in filtered


def test_quick_done_logs_the_call_and_the_timeline_shows_it(session: Session, engine: Engine,
                                                            browser: TestClient) -> None:
    lan = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    task = service.create(session, principal=as_principal(lan), profile_id=customer, title="Gọi chốt đơn",
                          due_at=utcnow() + timedelta(hours=1))
    token = _sign_in(browser, lan)
    refused = browser.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "note": "?"})
    assert refused.status_code == 303 and refused.headers["location"] == "/tasks?error=outcome_required"
    assert "Cho biết kết quả cuộc gọi." in browser.get(refused.headers["location"]).text
    done = browser.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "outcome": "reached",
                                                            "note": "Khách đồng ý mua 2 bộ",
                                                            "back": f"/customers/{customer}#tasks"})
    assert done.status_code == 303 and done.headers["location"] == f"/customers/{customer}#tasks"
    page = browser.get(f"/customers/{customer}").text
    assert "Đã ghi cuộc gọi: Gọi chốt đơn (đã liên lạc được)" in page
    assert "Khách đồng ý mua 2 bộ" in page
    forged = browser.post(f"/tasks/{task.id}/reopen", data={"csrf_token": "wrong"})
    assert forged.status_code == 403


def test_the_customer_panel_adds_a_task_and_answers_bad_input(session: Session, engine: Engine,
                                                               browser: TestClient) -> None:
    lan = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    token = _sign_in(browser, lan)
    page = browser.get(f"/customers/{customer}").text
    assert 'id="tasks"' in page and "Khách hàng này không có công việc nào đang mở." in page
    form = {"csrf_token": token, "customer_id": str(customer), "kind": "call", "title": "Gọi tư vấn",
            "due": "2030-01-02T09:30", "remind_minutes": "60", "owner_id": str(lan.id), "notes": ""}
    added = browser.post("/tasks/new", data=form)
    assert added.status_code == 303 and added.headers["location"] == f"/customers/{customer}#tasks"
    task = session.scalars(select(Task)).one()
    assert task.due_at.isoformat() == "2030-01-02T02:30:00+00:00"  # 09:30 in Hà Nội
    assert task.remind_at is not None and task.remind_at.isoformat() == "2030-01-02T01:30:00+00:00"
    assert "Gọi tư vấn" in browser.get(f"/customers/{customer}").text
    bad = browser.post("/tasks/new", data=form | {"title": "  "})
    assert bad.status_code == 422 and "Đặt tên cho công việc, tối đa 200 ký tự." in bad.text
    assert 'value="2030-01-02T09:30"' in bad.text
    no_due = browser.post("/tasks/new", data=form | {"due": "ngày mai"})
    assert no_due.status_code == 422 and "Chọn thời hạn của công việc." in no_due.text
    unknown = browser.post("/tasks/new", data=form | {"customer_id": "999999"})
    assert unknown.status_code == 422
    session.rollback()
    assert session.scalars(select(Task.status)).all() == [TaskStatus.open]


def test_the_header_counts_unread_reminders(session: Session, engine: Engine, browser: TestClient) -> None:
    lan = make_user(session, role=Role.agent)
    customer = make_customer(session, engine)
    service.create(session, principal=as_principal(lan), profile_id=customer, title="Gọi ngay",
                   due_at=utcnow() + timedelta(minutes=10))
    token = _sign_in(browser, lan)
    assert 'header-link__count' not in browser.get("/tasks").text
    reminders.run(session)
    session.commit()
    html = browser.get("/tasks").text
    assert ('<a class="header-link header-link--active" href="/tasks/reminders">Nhắc việc '
            '<span class="header-link__count">1</span></a>') in html
    listed = browser.get("/tasks/reminders").text
    assert "Gọi ngay" in listed and "Chưa đọc" in listed
    assert browser.post("/tasks/reminders/read", data={"csrf_token": token}).status_code == 303
    assert 'header-link__count' not in browser.get("/tasks").text
