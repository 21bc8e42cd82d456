"""Scheduled reports: a manager chooses a dashboard, a period, how often and at which local hour, and who receives
it; a periodic job finds the schedules that are due and queues one send per run, which e-mails the dashboard's
tables (one Excel workbook per table, and the figures in the message itself) through the shop's mailbox.

Exactly once: a run is a row unique per schedule and due time (``run_key``), made only by the caller that moved
the schedule's ``next_run_at`` on (a guarded update), and its send is a job with a dedupe key; the addresses a run
was sent to are recorded one by one, so a retried send skips them.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xuyen.analytics import tables
from xuyen.analytics.filters import Filters, business_timezone
from xuyen.analytics.schedule_models import ReportRun, ReportSchedule
from xuyen.auth.models import Role, User
from xuyen.channels.base import Attachment, AttachmentKind, ContactIdentifier, OutboundMessage, SendFailed
from xuyen.clock import utcnow
from xuyen.db import is_postgres
from xuyen.errors import NotFound, ValidationFailed
from xuyen.i18n import N_
from xuyen.inbox import connections
from xuyen.jobs import add_job_once

DUE_JOB = "analytics.reports.due"
SEND_JOB = "analytics.reports.send"
PERIODS = ("last_7_days", "last_30_days", "previous_month")
FREQUENCIES = ("daily", "weekly", "monthly")
MAX_RECIPIENTS = 20
MAX_TABLE_ROWS_IN_BODY = 50
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
STAFF_ROLES = (Role.manager, Role.owner)


@dataclass(frozen=True)
class ScheduleIn:
    """A schedule as a form gives it (text values, checked by ``check``)."""

    name: str
    dashboard: str
    period: str
    frequency: str
    hour: str
    weekday: str = ""
    month_day: str = ""
    user_ids: Sequence[str] = ()
    emails: str = ""


@dataclass(frozen=True)
class Checked:
    """A schedule's checked values."""

    name: str
    dashboard: str
    period: str
    frequency: str
    hour: int
    weekday: int | None
    month_day: int | None
    user_ids: list[int]
    emails: list[str]


class ScheduleInvalid(ValidationFailed):
    """A schedule that cannot be saved; ``problems`` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("The report schedule is not valid: " + "; ".join(problems.values()),
                         code="invalid_report_schedule", details={"problems": problems})


# Checking ------------------------------------------------------------------------------------------------


def _number(value: str, low: int, high: int) -> int | None:
    text = value.strip()
    return int(text) if text.isdigit() and low <= int(text) <= high else None


def _emails(text: str, problems: dict[str, str]) -> list[str]:
    found: list[str] = []
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        address = item.lower()
        if len(address) > 254 or not EMAIL.match(address):
            problems["emails"] = N_("Write each e-mail address in full, e.g. an@shop.vn, separated by commas.")
            return []
        if address not in found:
            found.append(address)
    return found


def _users(session: Session, values: Sequence[str], problems: dict[str, str]) -> list[int]:
    ids = sorted({int(value) for value in values if value.strip().isdigit() and len(value) < 10})
    if len(ids) != len({value for value in values if value.strip()}):
        problems["user_ids"] = N_("Choose recipients from the list of staff.")
        return []
    if ids:
        staff = set(session.scalars(select(User.id).where(User.id.in_(ids), User.is_active.is_(True),
                                                          User.role.in_(STAFF_ROLES))))
        if staff != set(ids):
            problems["user_ids"] = N_("Reports go to active managers and owners only.")
            return []
    return ids


def check(session: Session, value: ScheduleIn) -> Checked:
    """The schedule's values checked; ``ScheduleInvalid`` naming every wrong field."""
    problems: dict[str, str] = {}
    name = " ".join(value.name.split())
    if not 1 <= len(name) <= 200:
        problems["name"] = N_("A schedule's name has 1 to 200 characters.")
    if not tables.exportable_names(value.dashboard):
        problems["dashboard"] = N_("Choose a dashboard that has tables to send.")
    if value.period not in PERIODS:
        problems["period"] = N_("Choose a period from the list.")
    if value.frequency not in FREQUENCIES:
        problems["frequency"] = N_("Choose how often: every day, week or month.")
    hour = _number(value.hour, 0, 23)
    if hour is None:
        problems["hour"] = N_("The hour is a whole number from 0 to 23.")
    weekday = _number(value.weekday, 0, 6) if value.frequency == "weekly" else None
    if value.frequency == "weekly" and weekday is None:
        problems["weekday"] = N_("Choose the day of the week.")
    month_day = _number(value.month_day, 1, 31) if value.frequency == "monthly" else None
    if value.frequency == "monthly" and month_day is None:
        problems["month_day"] = N_("The day of the month is a whole number from 1 to 31.")
    emails = _emails(value.emails, problems)
    user_ids = _users(session, value.user_ids, problems)
    if not problems and not emails and not user_ids:
        problems["recipients"] = N_("Choose at least one recipient.")
    if len(emails) + len(user_ids) > MAX_RECIPIENTS:
        problems["recipients"] = N_("A report goes to at most 20 recipients.")
    if problems:
        raise ScheduleInvalid(problems)
    return Checked(name=name, dashboard=value.dashboard, period=value.period, frequency=value.frequency,
                   hour=cast(int, hour), weekday=weekday, month_day=month_day, user_ids=user_ids, emails=emails)


def check_timezone(name: str) -> str:
    """A known IANA time zone name, else ``ValidationFailed``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown time zone {name[:64]!r}.", code="invalid_report_schedule") from None
    return name


# When a schedule is due ----------------------------------------------------------------------------------


def _at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """``hour`` o'clock on ``day`` in ``zone`` as a UTC moment (an hour skipped by a clock change falls an hour
    later; an hour that happens twice is its first time)."""
    local = datetime.combine(day, time(hour), tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC"))


def _matches(day: date, *, frequency: str, weekday: int | None, month_day: int | None) -> bool:
    if frequency == "weekly":
        return day.weekday() == weekday
    if frequency == "monthly":
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day == min(month_day or 1, last)
    return True


def next_due(*, frequency: str, hour: int, timezone: str, after: datetime, weekday: int | None = None,
             month_day: int | None = None) -> datetime:
    """The first moment strictly after ``after`` when the schedule is due, in UTC."""
    zone = ZoneInfo(timezone)
    day = after.astimezone(zone).date()
    for offset in range(0, 63):
        candidate = day + timedelta(days=offset)
        if _matches(candidate, frequency=frequency, weekday=weekday, month_day=month_day):
            moment = _at(candidate, hour, zone)
            if moment > after:
                return moment
    raise ValueError("no due time within two months")  # unreachable: every month has a matching day


def report_filters(*, period: str, due_at: datetime, timezone: str | None = None) -> Filters:
    """The dashboard filters of a run due at ``due_at``: the whole local days before the due day (the last 7 or 30
    days), or the calendar month before the due day's month, in the shop's time zone."""
    zone = timezone or business_timezone()
    due_day = due_at.astimezone(ZoneInfo(zone)).date()
    if period == "previous_month":
        last = due_day.replace(day=1) - timedelta(days=1)
        return Filters(first=last.replace(day=1), last=last, timezone=zone)
    days = 7 if period == "last_7_days" else 30
    return Filters(first=due_day - timedelta(days=days), last=due_day - timedelta(days=1), timezone=zone)


# Writing -------------------------------------------------------------------------------------------------


def _apply(row: ReportSchedule, checked: Checked, *, now: datetime) -> None:
    row.name, row.dashboard, row.period, row.frequency = checked.name, checked.dashboard, checked.period, \
        checked.frequency
    row.hour, row.weekday, row.month_day = checked.hour, checked.weekday, checked.month_day
    row.user_ids, row.emails = checked.user_ids, checked.emails
    row.next_run_at = next_due(frequency=row.frequency, hour=row.hour, timezone=row.timezone, after=now,
                               weekday=row.weekday, month_day=row.month_day)


def add_schedule(session: Session, *, value: ScheduleIn, timezone: str, locale: str, actor: str,
                 now: datetime | None = None) -> ReportSchedule:
    """Add a new schedule (its hours in ``timezone``, its e-mail in ``locale``) (helper: no commit)."""
    checked = check(session, value)
    row = ReportSchedule(timezone=check_timezone(timezone), locale=locale if locale in ("vi", "en") else "vi",
                         active=True, created_by=actor[:200])
    _apply(row, checked, now=now or utcnow())
    session.add(row)
    session.flush()
    return row


def create_schedule(session: Session, *, value: ScheduleIn, timezone: str, locale: str, actor: str,
                    now: datetime | None = None) -> ReportSchedule:
    """Save a new schedule (its hours in ``timezone``, its e-mail in ``locale``) and commit."""
    row = add_schedule(session, value=value, timezone=timezone, locale=locale, actor=actor, now=now)
    session.commit()
    return row


def get_schedule(session: Session, *, schedule_id: int) -> ReportSchedule:
    """The schedule with ``schedule_id``; NotFound when there is none."""
    row = session.get(ReportSchedule, schedule_id)
    if row is None:
        raise NotFound(f"There is no report schedule {schedule_id}.", code="report_schedule_not_found")
    return row


def update_schedule(session: Session, *, schedule_id: int, value: ScheduleIn,
                    now: datetime | None = None) -> ReportSchedule:
    """Change a schedule (its next run is worked out again) and commit; nothing changes when a value is wrong."""
    row = get_schedule(session, schedule_id=schedule_id)
    checked = check(session, value)
    _apply(row, checked, now=now or utcnow())
    session.commit()
    return row


def set_active(session: Session, *, schedule_id: int, active: bool, now: datetime | None = None) -> ReportSchedule:
    """Pause or resume a schedule (resumed, it runs at its next due time from now) and commit."""
    row = get_schedule(session, schedule_id=schedule_id)
    if active and not row.active:
        row.next_run_at = next_due(frequency=row.frequency, hour=row.hour, timezone=row.timezone,
                                   after=now or utcnow(), weekday=row.weekday, month_day=row.month_day)
    row.active = active
    session.commit()
    return row


def delete_schedule(session: Session, *, schedule_id: int) -> None:
    """Delete a schedule and its runs, and commit."""
    get_schedule(session, schedule_id=schedule_id)
    session.execute(delete(ReportRun).where(ReportRun.schedule_id == schedule_id))
    session.execute(delete(ReportSchedule).where(ReportSchedule.id == schedule_id))
    session.commit()


def list_schedules(session: Session) -> list[ReportSchedule]:
    """Every schedule, by name."""
    return list(session.scalars(select(ReportSchedule).order_by(ReportSchedule.name, ReportSchedule.id)))


def recent_runs(session: Session, *, schedule_ids: Sequence[int], per_schedule: int = 5) -> dict[int, list[ReportRun]]:
    """The latest runs of each schedule, newest first."""
    found: dict[int, list[ReportRun]] = {}
    if not schedule_ids:
        return found
    for run in session.scalars(select(ReportRun).where(ReportRun.schedule_id.in_(list(schedule_ids)))
                               .order_by(ReportRun.due_at.desc(), ReportRun.id.desc()).limit(500)):
        runs = found.setdefault(run.schedule_id, [])
        if len(runs) < per_schedule:
            runs.append(run)
    return found


# The periodic job ----------------------------------------------------------------------------------------

_RUNS = cast(Table, ReportRun.__table__)


def queue_due(session: Session, *, now: datetime | None = None, limit: int = 200) -> int:
    """Queue one send for every schedule whose time has come, once per due time (helper: no commit)."""
    moment = now or utcnow()
    due = session.execute(select(ReportSchedule.id, ReportSchedule.next_run_at).where(
        ReportSchedule.active.is_(True), ReportSchedule.next_run_at <= moment)
        .order_by(ReportSchedule.next_run_at, ReportSchedule.id).limit(limit)).all()
    queued = 0
    for schedule_id, due_at in due:
        row = session.get(ReportSchedule, schedule_id)
        if row is None:
            continue
        following = next_due(frequency=row.frequency, hour=row.hour, timezone=row.timezone, after=moment,
                             weekday=row.weekday, month_day=row.month_day)
        claimed = session.execute(update(ReportSchedule).where(
            ReportSchedule.id == schedule_id, ReportSchedule.next_run_at == due_at, ReportSchedule.active.is_(True))
            .values(next_run_at=following).execution_options(synchronize_session=False))
        if not getattr(claimed, "rowcount", 0):
            continue
        session.expire(row)
        if _add_run(session, schedule_id=schedule_id, due_at=due_at):
            queued += 1
    return queued


def _add_run(session: Session, *, schedule_id: int, due_at: datetime) -> bool:
    insert = postgresql.insert if is_postgres(session) else sqlite.insert
    run_id = session.scalar(insert(_RUNS).values(
        schedule_id=schedule_id, run_key=f"{schedule_id}:{due_at.isoformat()}", due_at=due_at, status="queued",
        detail="", delivered=[], created_at=utcnow()).on_conflict_do_nothing(index_elements=["run_key"])
        .returning(_RUNS.c.id))
    if run_id is None:
        return False
    add_job_once(session, name=SEND_JOB, dedupe_key=f"{SEND_JOB}:{run_id}", payload={"run_id": run_id})
    return True


# The e-mail ----------------------------------------------------------------------------------------------

_TEXTS: dict[str, dict[str, str]] = {
    "vi": {"subject": "Báo cáo {name}: {first} – {last}",
           "lead": "Báo cáo \"{name}\" cho các ngày {first} – {last}. Bảng số liệu ở dưới và trong tệp Excel đính kèm.",
           "more": "… và {count} dòng nữa trong tệp đính kèm.", "link": "Mở bảng điều khiển: {link}"},
    "en": {"subject": "Report {name}: {first} – {last}",
           "lead": "The report \"{name}\" for {first} – {last}. The figures are below and in the attached Excel files.",
           "more": "… and {count} more rows in the attachment.", "link": "Open the dashboard: {link}"},
}


@dataclass(frozen=True)
class Report:
    """A run's content: its subject, plain text, HTML and attached files."""

    subject: str
    text: str
    html: str
    files: list[tuple[str, bytes]]


def _cell(value: tables.Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def build_report(session: Session, *, schedule: ReportSchedule, filters: Filters, base_url: str) -> Report:
    """The dashboard's tables for ``filters``: in the message as text and HTML, and attached as Excel files."""
    texts = _TEXTS.get(schedule.locale, _TEXTS["vi"])
    values = {"name": schedule.name, "first": filters.first.strftime("%d/%m/%Y"),
              "last": filters.last.strftime("%d/%m/%Y")}
    link = f"{base_url}/analytics/{schedule.dashboard}?from={filters.first.isoformat()}&to={filters.last.isoformat()}"
    text_parts = [texts["lead"].format(**values), ""]
    html_parts = [f"<p>{escape(texts['lead'].format(**values))}</p>"]
    files: list[tuple[str, bytes]] = []
    for name in tables.exportable_names(schedule.dashboard):
        table = tables.build(session, dashboard=schedule.dashboard, name=name, filters=filters,
                             locale=schedule.locale)
        files.append((f"{schedule.dashboard}-{name}-{filters.first.isoformat()}-{filters.last.isoformat()}.xlsx",
                      tables.to_xlsx(table)))
        shown = list(table.rows)[:MAX_TABLE_ROWS_IN_BODY]
        text_parts += [table.title, " | ".join(table.columns),
                       *[" | ".join(_cell(cell) for cell in row) for row in shown]]
        html_parts.append(f"<h3>{escape(table.title)}</h3><table border=\"1\" cellpadding=\"4\" "
                          "style=\"border-collapse:collapse\"><tr>"
                          + "".join(f"<th>{escape(column)}</th>" for column in table.columns) + "</tr>"
                          + "".join("<tr>" + "".join(f"<td>{escape(_cell(cell))}</td>" for cell in row) + "</tr>"
                                    for row in shown) + "</table>")
        if len(table.rows) > len(shown):
            more = texts["more"].format(count=len(table.rows) - len(shown))
            text_parts.append(more)
            html_parts.append(f"<p>{escape(more)}</p>")
        text_parts.append("")
    text_parts.append(texts["link"].format(link=link))
    html_parts.append(f"<p><a href=\"{escape(link)}\">{escape(texts['link'].format(link=link))}</a></p>")
    return Report(subject=texts["subject"].format(**values), text="\n".join(text_parts) + "\n",
                  html="".join(html_parts), files=files)


def recipients(session: Session, schedule: ReportSchedule) -> list[str]:
    """The addresses a schedule's report goes to: its active staff users' and its own, each once."""
    found: list[str] = []
    if schedule.user_ids:
        for email in session.scalars(select(User.email).where(User.id.in_(schedule.user_ids),
                                                              User.is_active.is_(True)).order_by(User.id)):
            if email and email.lower() not in found:
                found.append(email.lower())
    return found + [address for address in schedule.emails if address not in found]



def _record(run: ReportRun, status: str, detail: str) -> str:
    run.status, run.detail = status, detail[:1000]
    if status == "sent":
        run.sent_at = utcnow()
    return status


def send_run(session: Session, *, run_id: int, base_url: str) -> str:
    """Send one run's report to each recipient not sent to yet, and record how it went; each delivery is
    committed as it happens, so a retry after a failure mails only those left. A retryable failure raises."""
    run = session.get(ReportRun, run_id)
    if run is None or run.status != "queued":
        return run.status if run is not None else "gone"
    schedule = session.get(ReportSchedule, run.schedule_id)
    if schedule is None:
        return _record(run, "skipped", "The schedule is gone.")
    channel = connections.staff_mailbox(session)
    if channel is None:
        return _record(run, "no_mailbox", "No e-mail channel is connected: connect a mailbox to send reports.")
    if connections.is_sandbox(channel):
        return _record(run, "sandbox", f"The mailbox {channel.name} is a sandbox: nothing is sent.")
    addresses = recipients(session, schedule)
    if not addresses:
        return _record(run, "skipped", "The schedule has no recipient left.")
    report = build_report(session, schedule=schedule, filters=report_filters(period=schedule.period,
                                                                            due_at=run.due_at), base_url=base_url)
    attachments = tuple(Attachment(kind=AttachmentKind.FILE, name=name, content=content,
                                   mime_type=tables.XLSX_MEDIA_TYPE.split(";")[0]) for name, content in report.files)
    adapter = connections.build_adapter(channel)
    try:
        for address in addresses:
            if address in run.delivered:
                continue
            adapter.send(OutboundMessage(idempotency_key=f"{SEND_JOB}:{run.id}:{address}",
                                         to=ContactIdentifier("email", address), subject=report.subject,
                                         text=report.text, html=report.html, attachments=attachments))
            run.delivered = [*run.delivered, address]
            session.commit()
    except SendFailed as exc:
        if exc.retryable:
            raise
        return _record(run, "failed", f"{exc.code}: {exc}")
    finally:
        adapter.close()
    return _record(run, "sent", f"{channel.name}: {len(run.delivered)}")


def describe(schedule: ReportSchedule) -> Mapping[str, Any]:
    """A schedule's timing as plain values for the page."""
    return {"frequency": schedule.frequency, "weekday": schedule.weekday, "month_day": schedule.month_day,
            "hour": schedule.hour, "timezone": schedule.timezone}
