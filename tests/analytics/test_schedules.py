"""Scheduled reports: when a schedule is due in its own time zone (Hà Nội, and Berlin across a clock change), the
period a run covers, the checks on what a manager enters (nothing half-saved), the pages, and the e-mail that
reaches a real SMTP server once, with the inbox dashboard's figures attached, however often the jobs run."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests import api_client, shop_mailbox
from tests.analytics import inbox_data
from tests.api_client import Browser
from tests.channels.test_email import SmtpServer
from tests.factories import make_user
from tests.shop_mailbox import connect_mailbox
from xuyen.analytics import inbox, schedules  # noqa: F401  (inbox registers the tables sent)
from xuyen.analytics.schedule_models import ReportRun, ReportSchedule
from xuyen.auth.models import Role
from xuyen.clock import utcnow
from xuyen.jobs import Job, add_job, periodic_specs
from xuyen.worker import Worker

smtp = shop_mailbox.smtp  # the fixture

agent, manager = api_client.agent, api_client.manager
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

HANOI, BERLIN = "Asia/Ho_Chi_Minh", "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_weekly_daily_and_monthly_due_times_in_hanoi() -> None:
    monday_eight = dict(frequency="weekly", hour=8, timezone=HANOI, weekday=0)
    assert schedules.next_due(**monday_eight, after=utc(2026, 3, 2, 0, 30)) == utc(2026, 3, 2, 1)  # 07:30 local
    assert schedules.next_due(**monday_eight, after=utc(2026, 3, 2, 1)) == utc(2026, 3, 9, 1)  # just sent: next week
    assert schedules.next_due(frequency="daily", hour=8, timezone=HANOI, after=utc(2026, 3, 2, 2)) == utc(2026, 3, 3, 1)
    # 23:00 in Hà Nội is 16:00 UTC of the same day
    assert schedules.next_due(frequency="daily", hour=23, timezone=HANOI, after=utc(2026, 3, 2, 2)) \
        == utc(2026, 3, 2, 16)
    # the 31st of a short month is its last day
    assert schedules.next_due(frequency="monthly", hour=8, timezone=HANOI, month_day=31,
                              after=utc(2026, 2, 1, 0)) == utc(2026, 2, 28, 1)


def test_berlin_keeps_its_local_hour_across_the_clock_change() -> None:
    daily = dict(frequency="daily", hour=8, timezone=BERLIN)
    assert schedules.next_due(**daily, after=utc(2026, 3, 27, 8)) == utc(2026, 3, 28, 7)  # 08:00 CET
    assert schedules.next_due(**daily, after=utc(2026, 3, 28, 8)) == utc(2026, 3, 29, 6)  # 08:00 CEST
    # 02:00 does not exist on 29 March in Berlin: the run comes an hour later, at 03:00 CEST
    assert schedules.next_due(frequency="daily", hour=2, timezone=BERLIN, after=utc(2026, 3, 28, 12)) \
        == utc(2026, 3, 29, 1)


def test_a_run_covers_the_whole_days_before_its_due_day() -> None:
    due = utc(2026, 3, 9, 1)  # Monday 9 March, 08:00 in Hà Nội
    week = schedules.report_filters(period="last_7_days", due_at=due, timezone=HANOI)
    assert (week.first, week.last) == (date(2026, 3, 2), date(2026, 3, 8))
    month = schedules.report_filters(period="last_30_days", due_at=due, timezone=HANOI)
    assert (month.first, month.last, month.days) == (date(2026, 2, 7), date(2026, 3, 8), 30)
    previous = schedules.report_filters(period="previous_month", due_at=utc(2026, 2, 28, 18), timezone=HANOI)
    assert (previous.first, previous.last) == (date(2026, 2, 1), date(2026, 2, 28))  # already 1 March in Hà Nội


def _value(**changes: object) -> schedules.ScheduleIn:
    values: dict[str, object] = dict(name="Báo cáo CSKH hằng tuần", dashboard="inbox", period="last_7_days",
                                     frequency="weekly", hour="8", weekday="0", emails="chu@shop.vn")
    return schedules.ScheduleIn(**{**values, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": "  "}, "name"), ({"dashboard": "nope"}, "dashboard"), ({"period": "forever"}, "period"),
    ({"frequency": "hourly"}, "frequency"), ({"hour": "24"}, "hour"), ({"hour": "-1"}, "hour"),
    ({"weekday": "7"}, "weekday"), ({"frequency": "monthly", "month_day": "0"}, "month_day"),
    ({"emails": "chu@shop"}, "emails"), ({"emails": "a@b.vn; not an address"}, "emails"),
    ({"emails": ""}, "recipients"), ({"user_ids": ["abc"]}, "user_ids"), ({"user_ids": ["999999"]}, "user_ids"),
])
def test_wrong_values_are_named_and_nothing_is_saved(session: Session, changes: dict[str, object],
                                                     field: str) -> None:
    with pytest.raises(schedules.ScheduleInvalid) as raised:
        schedules.create_schedule(session, value=_value(**changes), timezone=HANOI, locale="vi", actor="test")
    assert field in raised.value.problems and raised.value.code == "invalid_report_schedule"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ReportSchedule)) == 0


def test_an_agent_is_no_recipient_and_a_manager_is(session: Session) -> None:
    worker = make_user(session, role=Role.agent)
    boss = make_user(session, role=Role.manager, email="quanly@shop.vn")
    with pytest.raises(schedules.ScheduleInvalid):
        schedules.create_schedule(session, value=_value(user_ids=[str(worker.id)]), timezone=HANOI, locale="vi",
                                  actor="test")
    session.rollback()
    made = schedules.create_schedule(session, value=_value(user_ids=[str(boss.id)], emails="Chu@Shop.vn, chu@shop.vn"),
                                     timezone=HANOI, locale="vi", actor="test", now=utc(2026, 3, 8, 0))
    assert made.emails == ["chu@shop.vn"] and made.next_run_at == utc(2026, 3, 9, 1)
    assert schedules.recipients(session, made) == ["quanly@shop.vn", "chu@shop.vn"]


def test_managers_create_edit_pause_and_delete_on_the_page(session: Session, manager: Browser,
                                                           agent: Browser) -> None:
    form = {"csrf_token": manager.csrf, "name": "Tồn kho", "dashboard": "inbox", "period": "last_30_days",
            "frequency": "monthly", "month_day": "1", "hour": "7", "emails": "kho@shop.vn"}
    assert manager.client.post("/analytics/schedules", data={**form, "csrf_token": "forged"}).status_code == 403
    refused = manager.client.post("/analytics/schedules", data={**form, "hour": "25", "emails": "kho"})
    assert refused.status_code == 422 and 'data-field="hour"' in refused.text and 'data-field="emails"' in refused.text
    assert session.scalar(select(func.count()).select_from(ReportSchedule)) == 0
    made = manager.client.post("/analytics/schedules", data=form, follow_redirects=False)
    assert made.status_code == 303
    session.rollback()
    row = session.scalars(select(ReportSchedule)).one()
    assert (row.frequency, row.month_day, row.hour, row.emails) == ("monthly", 1, 7, ["kho@shop.vn"])
    listing = manager.client.get("/analytics/schedules")
    assert listing.status_code == 200 and "Tồn kho" in listing.text
    changed = manager.client.post(f"/analytics/schedules/{row.id}", data={**form, "frequency": "daily"},
                                  follow_redirects=False)
    assert changed.status_code == 303
    assert manager.client.post(f"/analytics/schedules/{row.id}", data={**form, "period": "x"}).status_code == 422
    assert manager.client.post(f"/analytics/schedules/{row.id}/pause", data={"csrf_token": manager.csrf},
                               follow_redirects=False).status_code == 303
    session.rollback()
    row = session.get(ReportSchedule, row.id)  # type: ignore[assignment]
    assert row is not None and row.frequency == "daily" and row.period == "last_30_days" and not row.active
    assert agent.client.get("/analytics/schedules").status_code == 403
    assert agent.client.post(f"/analytics/schedules/{row.id}/delete", data={"csrf_token": agent.csrf}).status_code \
        == 403
    assert manager.client.get("/analytics/schedules/999999").status_code == 404
    assert manager.client.post(f"/analytics/schedules/{row.id}/delete", data={"csrf_token": manager.csrf},
                               follow_redirects=False).status_code == 303
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ReportSchedule)) == 0


def _run_jobs(engine: Engine) -> None:
    Worker(engine=engine, periodic=False).run_until_idle()


def test_a_due_report_reaches_each_recipient_once_with_the_figures(session: Session, engine: Engine,
                                                                   smtp: SmtpServer) -> None:
    inbox_data.build(session)
    boss = make_user(session, role=Role.manager, email="quanly@shop.vn")
    connect_mailbox(session, smtp.port)
    schedule = schedules.create_schedule(session, value=_value(user_ids=[str(boss.id)]), timezone=HANOI,
                                         locale="vi", actor="test", now=utc(2026, 3, 8, 0))
    assert schedules.queue_due(session, now=utc(2026, 3, 9, 0, 59)) == 0  # 07:59 in Hà Nội: not yet
    assert schedules.queue_due(session, now=utc(2026, 3, 9, 1, 2)) == 1
    session.commit()
    assert schedules.queue_due(session, now=utc(2026, 3, 9, 1, 3)) == 0  # the same due time is never queued twice
    session.commit()
    _run_jobs(engine)
    session.expire_all()
    run = session.scalars(select(ReportRun)).one()
    assert (run.status, run.due_at) == ("sent", utc(2026, 3, 9, 1))
    assert run.run_key == f"{schedule.id}:{run.due_at.isoformat()}"
    assert run.delivered == ["quanly@shop.vn", "chu@shop.vn"] and run.sent_at is not None
    assert sorted(address for item in smtp.recorder.arrived for address in item.rcpt_tos) == [
        "chu@shop.vn", "quanly@shop.vn"]
    mail = smtp.recorder.arrived[0].parsed()
    assert mail["Subject"] == "Báo cáo Báo cáo CSKH hằng tuần: 02/03/2026 – 08/03/2026"
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert set(files) == {"inbox-channels-2026-03-02-2026-03-08.xlsx", "inbox-hours-2026-03-02-2026-03-08.xlsx"}
    sheet = load_workbook(io.BytesIO(files["inbox-channels-2026-03-02-2026-03-08.xlsx"])).active
    assert sheet is not None
    zalo = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "zalo")
    assert zalo[1:] == (2, 2, 75.0, 120.0, 105.0, 150.0, 0.5, 4.0, 0.5, 2)
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "zalo | 2 | 2 | 75.0 | 120.0 | 105.0 | 150.0 | 0.5 | 4.0 | 0.5 | 2" in body.get_content()

    # the send job delivered again (a retry, a duplicate) sends nothing more
    add_job(session, name=schedules.SEND_JOB, payload={"run_id": run.id})
    session.commit()
    _run_jobs(engine)
    assert len(smtp.recorder.arrived) == 2


def test_the_periodic_job_run_twice_sends_once(session: Session, engine: Engine, smtp: SmtpServer) -> None:
    connect_mailbox(session, smtp.port)
    schedules.create_schedule(session, value=_value(frequency="daily"), timezone=HANOI, locale="vi", actor="test",
                              now=utcnow() - timedelta(days=1))  # due some time in the last day
    assert schedules.DUE_JOB in {spec.name for spec in periodic_specs()}
    for _ in range(2):
        add_job(session, name=schedules.DUE_JOB)
        session.commit()
        _run_jobs(engine)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ReportRun)) == 1
    assert session.scalar(select(func.count()).select_from(Job).where(Job.name == schedules.SEND_JOB)) == 1
    assert [item.rcpt_tos for item in smtp.recorder.arrived] == [["chu@shop.vn"]]
    assert session.scalars(select(ReportSchedule.next_run_at)).one() > utcnow()


def test_a_retry_after_a_partial_send_mails_only_those_left(session: Session, engine: Engine,
                                                            smtp: SmtpServer) -> None:
    inbox_data.build(session)
    connect_mailbox(session, smtp.port)
    schedule = schedules.create_schedule(session, value=_value(emails="a@shop.vn, b@shop.vn"), timezone=HANOI,
                                         locale="en", actor="test", now=utc(2026, 3, 8, 0))
    schedules.queue_due(session, now=utc(2026, 3, 9, 2))
    session.commit()
    run = session.scalars(select(ReportRun)).one()
    run.delivered = ["a@shop.vn"]  # a first attempt reached a@ and then failed
    session.commit()
    assert schedules.send_run(session, run_id=run.id, base_url="https://crm.shop.vn") == "sent"
    session.commit()
    assert [item.rcpt_tos for item in smtp.recorder.arrived] == [["b@shop.vn"]]
    mail = smtp.recorder.arrived[0].parsed()
    assert mail["Subject"] == f"Report {schedule.name}: 02/03/2026 – 08/03/2026"
    assert schedules.send_run(session, run_id=run.id, base_url="") == "sent"  # done runs are left alone
    assert len(smtp.recorder.arrived) == 1


def test_without_a_mailbox_the_run_says_so(session: Session, engine: Engine) -> None:
    schedules.create_schedule(session, value=_value(), timezone=HANOI, locale="vi", actor="test",
                              now=utc(2026, 3, 8, 0))
    schedules.queue_due(session, now=utc(2026, 3, 9, 2))
    session.commit()
    _run_jobs(engine)
    session.expire_all()
    assert session.scalars(select(ReportRun.status)).one() == "no_mailbox"
