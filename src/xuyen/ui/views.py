"""What each page shows, read through the domains' service functions (reads only, never a commit)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from xuyen import jobs
from xuyen.auth import service as auth_service
from xuyen.auth.models import User
from xuyen.events import service as events_service
from xuyen.events.models import Event, QuarantinedEvent, Source
from xuyen.jobs import Job
from xuyen.stores import service as stores_service
from xuyen.stores.models import Store

LATEST_JOBS = 50
LATEST_QUARANTINED = 50
LATEST_EVENTS = 50


@dataclass(frozen=True)
class StoreRow:
    """A store with how many staff and sources belong to it."""

    store: Store
    staff_count: int
    source_count: int


@dataclass(frozen=True)
class Overview:
    """The numbers on the overview page."""

    stores: list[StoreRow]
    source_count: int
    sources_by_channel: list[tuple[str, int]]
    staff_count: int
    jobs_by_status: dict[str, int]


@dataclass(frozen=True)
class SourceRow:
    """A source, the name of its store (if it has one), and how many events and quarantined calls it sent."""

    source: Source
    store_name: str | None
    event_count: int = 0
    quarantined_count: int = 0


@dataclass(frozen=True)
class SourcePage:
    """One source with its latest quarantined calls and latest events."""

    row: SourceRow
    quarantined: list[QuarantinedEvent]
    events: list[Event]


@dataclass(frozen=True)
class StaffRow:
    """A staff member and the name of their store, if they have one."""

    member: User
    store_name: str | None


@dataclass(frozen=True)
class JobRow:
    """A job and the last line of its last error."""

    job: Job
    error_line: str


@dataclass(frozen=True)
class JobsPage:
    """The numbers and rows of the jobs page."""

    by_status: dict[str, int]
    latest: list[JobRow]


def store_rows(session: Session) -> list[StoreRow]:
    """Every store with its staff and source counts."""
    staff = Counter(member.store_id for member in auth_service.list_users(session))
    sources = Counter(source.store_id for source in events_service.list_sources(session))
    return [StoreRow(store=store, staff_count=staff[store.id], source_count=sources[store.id])
            for store in stores_service.list_all(session)]


def overview(session: Session, *, store_id: int | None) -> Overview:
    """Stores, sources by channel, jobs, and the staff of ``store_id`` (None: every store), counted."""
    sources = events_service.list_sources(session)
    by_channel = Counter(str(source.channel) for source in sources)
    return Overview(
        stores=store_rows(session),
        source_count=len(sources),
        sources_by_channel=sorted(by_channel.items(), key=lambda item: (-item[1], item[0])),
        staff_count=len(auth_service.list_users(session, store_id=store_id)),
        jobs_by_status=jobs.count_by_status(session),
    )


def _store_names(session: Session) -> dict[int, str]:
    return {store.id: store.name for store in stores_service.list_all(session)}


def source_rows(session: Session) -> list[SourceRow]:
    """Every source with the name of its store and its event and quarantine counts."""
    names = _store_names(session)
    events = events_service.count_events_by_source(session)
    quarantined = events_service.count_quarantined_by_source(session)
    return [SourceRow(source=source, store_name=names.get(source.store_id) if source.store_id else None,
                      event_count=events.get(source.id, 0), quarantined_count=quarantined.get(source.id, 0))
            for source in events_service.list_sources(session)]


def source_page(session: Session, *, source_id: int) -> SourcePage:
    """The source with ``source_id``, its counts, latest quarantined calls and latest events."""
    source = events_service.get_source(session, source_id=source_id)
    store_name = _store_names(session).get(source.store_id) if source.store_id else None
    row = SourceRow(source=source, store_name=store_name,
                    event_count=events_service.count_events_by_source(session, source_id=source.id).get(source.id, 0),
                    quarantined_count=events_service.count_quarantined_by_source(
                        session, source_id=source.id).get(source.id, 0))
    return SourcePage(
        row=row,
        quarantined=events_service.list_quarantined(session, source_id=source.id, limit=LATEST_QUARANTINED),
        events=events_service.list_events(session, source_id=source.id, limit=LATEST_EVENTS),
    )


def staff_rows(session: Session, *, store_id: int | None) -> list[StaffRow]:
    """The staff of ``store_id`` (None: every store), with the names of their stores."""
    names = _store_names(session)
    members = auth_service.list_users(session, store_id=store_id)
    return [StaffRow(member=member, store_name=names.get(member.store_id) if member.store_id else None)
            for member in members]


def last_line(text: str | None) -> str:
    """The last non-empty line of an error text (the exception itself, after the traceback)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def jobs_page(session: Session) -> JobsPage:
    """Job counts by status and the latest jobs."""
    latest = jobs.list_jobs(session, limit=LATEST_JOBS)
    return JobsPage(by_status=jobs.count_by_status(session),
                    latest=[JobRow(job=row, error_line=last_line(row.last_error)) for row in latest])
