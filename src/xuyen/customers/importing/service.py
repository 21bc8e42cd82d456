"""Customer import services: upload, preview, start, retry, run in-process, and read imports and their reports.

Uploading stores the file and queues the import's jobs; the worker prepares it (reads and checks every
row) and ingests it batch by batch (see ``processing``). ``run_in_process`` does the same work in the
calling process, committing per batch, for the CLI.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.config import get_settings
from xuyen.customers.importing import processing
from xuyen.customers.importing.mapping import require_identifier, resolve_mapping, valid_fields
from xuyen.customers.importing.models import (
    CustomerImport,
    CustomerImportFile,
    CustomerImportIssue,
    ImportStatus,
)
from xuyen.customers.importing.reading import Table, cell_text, column_letter
from xuyen.customers.importing.reasons import describe, language
from xuyen.errors import Conflict, NotFound, PayloadTooLarge
from xuyen.events import service as events_service
from xuyen.events.models import ChannelType, Source
from xuyen.jobs import Job, JobStatus

DEFAULT_SOURCE_NAME = "Nhập danh sách khách hàng"
PREVIEW_ROWS = 10
SAMPLES = 3
INGEST_ATTEMPTS = 4
MAX_FILE_NAME = 255

Progress = Callable[[CustomerImport], None]


@dataclass(frozen=True)
class Actor:
    """Who started an import: a staff user (their id and name), an API key or the command line (a name only)."""

    name: str
    user_id: int | None = None


@dataclass(frozen=True)
class ColumnPreview:
    """One column of a file: its letter, header, the field it is mapped to and a few sample values."""

    index: int
    letter: str
    header: str
    field: str
    samples: list[str]


@dataclass(frozen=True)
class Preview:
    """How a file reads: format, encoding, delimiter, sheet, where the header is, its columns and first rows."""

    file_name: str
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    header_row: int
    columns: list[ColumnPreview]
    rows: list[tuple[int, list[str]]]
    mapping: dict[str, str]
    has_identifier: bool
    fields: list[str]


@dataclass(frozen=True)
class ImportView:
    """An import with its status as it stands, counting a job that ended in the dead letters as failed."""

    customer_import: CustomerImport
    status: ImportStatus
    error: str | None

    @property
    def percent(self) -> int:
        """How much of the file is done, 0 to 100."""
        total = self.customer_import.rows_total
        if self.status == ImportStatus.done:
            return 100
        return int(self.customer_import.rows_done * 100 / total) if total else 0


@dataclass(frozen=True)
class ReportLine:
    """A row of the report with its reasons in words, in the reader's language."""

    row_number: int
    status: str
    reasons: list[dict[str, str | None]]
    raw: dict[str, str]


def _clean_file_name(file_name: str | None) -> str:
    base = os.path.basename((file_name or "").replace("\\", "/")).strip()
    return (base or "customers.csv")[:MAX_FILE_NAME]


def _check_size(data: bytes) -> None:
    limit = get_settings().customer_import_max_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is {len(data) / 1_048_576:.1f} MB; the most an import takes is "
                              f"{limit / 1_048_576:.0f} MB. Split the list into smaller files and import each.",
                              code="file_too_large", details={"limit_bytes": limit})


def _preview(table: Table, *, file_name: str, mapping: dict[str, str]) -> Preview:
    rows = []
    for number, cells in table.rows():
        rows.append((number, [cell_text(cells[i]) if i < len(cells) else "" for i in range(len(table.headers))]))
        if len(rows) >= PREVIEW_ROWS:
            break
    columns = [ColumnPreview(index=i, letter=column_letter(i), header=header, field=mapping[header],
                             samples=[values[i] for _, values in rows if values[i]][:SAMPLES])
               for i, header in enumerate(table.headers)]
    try:
        require_identifier(mapping)
        has_identifier = True
    except Exception:
        has_identifier = False
    return Preview(file_name=file_name, format=table.format, encoding=table.encoding, delimiter=table.delimiter,
                   sheet=table.sheet, sheets=table.sheets, header_row=table.header_row, columns=columns, rows=rows,
                   mapping=mapping, has_identifier=has_identifier, fields=valid_fields())


def preview_file(*, data: bytes, file_name: str, sheet: str | None = None,
                 mapping: dict[str, str] | None = None) -> Preview:
    """How a file would be read and mapped (nothing is stored); refuses what cannot be read."""
    _check_size(data)
    name = _clean_file_name(file_name)
    table = processing.read_file(data, file_name=name, sheet=sheet)
    return _preview(table, file_name=name, mapping=resolve_mapping(table.headers, mapping))


def preview_import(session: Session, *, import_id: int, mapping: dict[str, str] | None = None) -> Preview:
    """How an uploaded import's file reads, with its current mapping (or ``mapping`` applied to the guess)."""
    customer_import = get_import(session, import_id=import_id)
    content = session.scalar(select(CustomerImportFile.content).where(CustomerImportFile.import_id == import_id))
    table = processing.read_file(content or b"", file_name=customer_import.file_name, sheet=customer_import.sheet)
    chosen = resolve_mapping(table.headers, mapping) if mapping is not None else customer_import.mapping
    return _preview(table, file_name=customer_import.file_name, mapping=chosen)


def upload(session: Session, *, data: bytes, file_name: str | None, actor: Actor, sheet: str | None = None,
           mapping: dict[str, str] | None = None, source_id: int | None = None, dry_run: bool = False,
           start: bool = True, in_process: bool = False) -> CustomerImport:
    """Store an uploaded file as an import; with ``start`` queue it at once (``in_process``: the caller runs it).

    The file must be readable and its mapping must have an identifier column before anything is stored.
    """
    _check_size(data)
    name = _clean_file_name(file_name)
    table = processing.read_file(data, file_name=name, sheet=sheet)
    chosen = resolve_mapping(table.headers, mapping)
    if start:
        require_identifier(chosen)
    customer_import = CustomerImport(
        file_name=name, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), format=table.format,
        encoding=table.encoding, delimiter=table.delimiter, sheet=table.sheet, header_row=table.header_row,
        headers=table.headers, mapping=chosen, status=ImportStatus.draft, dry_run=dry_run,
        created_by=actor.name[:200], created_by_id=actor.user_id, created_at=utcnow())
    session.add(customer_import)
    session.flush()
    session.add(CustomerImportFile(import_id=customer_import.id, content=data))
    if start:
        _queue(session, customer_import, source_id=source_id, dry_run=dry_run, in_process=in_process)
    session.commit()
    return customer_import


def start(session: Session, *, import_id: int, mapping: dict[str, str] | None = None, source_id: int | None = None,
          dry_run: bool = False, in_process: bool = False) -> CustomerImport:
    """Start a draft import (or a dry run's import for real) with ``mapping`` applied to the guessed one."""
    customer_import = _locked(session, import_id)
    restartable = customer_import.status == ImportStatus.draft or (
        customer_import.status == ImportStatus.done and customer_import.dry_run)
    if not restartable:
        raise Conflict(f"Import {import_id} is {customer_import.status.value}; only a draft or a finished dry run "
                       "can be started.", code="import_not_startable")
    if mapping is not None:
        customer_import.mapping = resolve_mapping(customer_import.headers, mapping)
    require_identifier(customer_import.mapping)
    _queue(session, customer_import, source_id=source_id, dry_run=dry_run, in_process=in_process)
    session.commit()
    return customer_import


def retry(session: Session, *, import_id: int, in_process: bool = False) -> CustomerImport:
    """Carry on with a failed import after its last committed batch (or prepare it again if it never was);
    ``in_process``: the caller runs it instead of the worker."""
    customer_import = _locked(session, import_id)
    current = view(session, customer_import)
    if current.status != ImportStatus.failed:
        raise Conflict(f"Import {import_id} is {current.status.value}; only a failed import can be retried.",
                       code="import_not_failed")
    number = processing.next_batch(session, import_id=import_id)
    customer_import.error = None
    customer_import.finished_at = None
    customer_import.job_id = None
    if number is not None and customer_import.batches_total:
        customer_import.status = ImportStatus.running
        if not in_process:
            processing.queue_batch(session, customer_import, number=number)
    else:
        customer_import.status = ImportStatus.queued
        if not in_process:
            processing.queue_prepare(session, customer_import=customer_import)
    session.commit()
    return customer_import


def _locked(session: Session, import_id: int) -> CustomerImport:
    customer_import = session.get(CustomerImport, import_id, with_for_update=True)
    if customer_import is None:
        raise NotFound(f"There is no customer import {import_id}.", code="import_not_found")
    return customer_import


def _queue(session: Session, customer_import: CustomerImport, *, source_id: int | None, dry_run: bool,
           in_process: bool) -> None:
    customer_import.dry_run = dry_run
    customer_import.source_id = None if dry_run else _source(session, source_id=source_id).id
    customer_import.status = ImportStatus.queued
    customer_import.error = None
    customer_import.started_at = customer_import.finished_at = None
    if not in_process:
        processing.queue_prepare(session, customer_import=customer_import)


def _source(session: Session, *, source_id: int | None) -> Source:
    """The chosen source, or the import source (created on first use)."""
    if source_id is not None:
        return events_service.get_source(session, source_id=source_id)
    for source in events_service.list_sources(session):
        if source.name == DEFAULT_SOURCE_NAME and source.channel == ChannelType.api and source.is_active:
            return source
    source, _key = events_service.add_source(session, name=DEFAULT_SOURCE_NAME, channel=ChannelType.api)
    return source


def run_in_process(session: Session, *, import_id: int, progress: Progress | None = None) -> CustomerImport:
    """Prepare a queued import and ingest its batches here, committing the preparation and then each batch."""
    customer_import = get_import(session, import_id=import_id)
    if customer_import.status == ImportStatus.queued:
        processing.prepare(session, import_id=import_id, queue_next=False)
        session.commit()
        if progress:
            progress(customer_import)
    while customer_import.status == ImportStatus.running:
        number = processing.next_batch(session, import_id=import_id)
        if number is None:
            processing.finish(customer_import)
            session.commit()
            break
        _ingest_with_retries(session, import_id=import_id, number=number)
        if progress:
            progress(customer_import)
    return customer_import


def _ingest_with_retries(session: Session, *, import_id: int, number: int) -> None:
    for attempt in range(1, INGEST_ATTEMPTS + 1):
        try:
            processing.ingest_batch(session, import_id=import_id, number=number, queue_next=False)
            session.commit()
            return
        except (IntegrityError, OperationalError):
            # a concurrent request created the same identifier or locked the same profiles: all rolled back
            session.rollback()
            if attempt == INGEST_ATTEMPTS:
                raise


# Reading -------------------------------------------------------------------------------------------------


def get_import(session: Session, *, import_id: int) -> CustomerImport:
    """The import with ``import_id``."""
    customer_import = session.get(CustomerImport, import_id)
    if customer_import is None:
        raise NotFound(f"There is no customer import {import_id}.", code="import_not_found")
    return customer_import


def view(session: Session, customer_import: CustomerImport) -> ImportView:
    """The import's status as it stands: queued or running with its job in the dead letters means failed."""
    status, error = customer_import.status, customer_import.error
    if status in (ImportStatus.queued, ImportStatus.running) and customer_import.job_id is not None:
        job_row = session.get(Job, customer_import.job_id)
        if job_row is not None and job_row.status == JobStatus.dead:
            last = [line for line in (job_row.last_error or "").splitlines() if line.strip()]
            status = ImportStatus.failed
            error = (f"The import stopped after {customer_import.rows_done} of {customer_import.rows_total} rows: "
                     f"{last[-1] if last else 'its job failed'}. Retry it to carry on from there.")
    return ImportView(customer_import=customer_import, status=status, error=error)


def get_view(session: Session, *, import_id: int) -> ImportView:
    """``view`` of the import with ``import_id``."""
    return view(session, get_import(session, import_id=import_id))


def list_views(session: Session, *, limit: int = 50, since: datetime | None = None) -> list[ImportView]:
    """The newest imports first, with their statuses as they stand."""
    query = select(CustomerImport).order_by(CustomerImport.id.desc()).limit(limit)
    if since is not None:
        query = query.where(CustomerImport.created_at >= since)
    return [view(session, row) for row in session.scalars(query)]


def list_issues(session: Session, *, import_id: int, limit: int | None = None) -> list[CustomerImportIssue]:
    """The import's rejected and flagged rows, by row number."""
    get_import(session, import_id=import_id)
    query = (select(CustomerImportIssue).where(CustomerImportIssue.import_id == import_id)
             .order_by(CustomerImportIssue.row_number, CustomerImportIssue.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def report(session: Session, *, import_id: int, locale: str, limit: int | None = None) -> list[ReportLine]:
    """The report's rows with their reasons in words, in ``locale`` (vi or en)."""
    lang = language(locale)
    return [ReportLine(row_number=issue.row_number, status=issue.status.value, raw=issue.raw,
                       reasons=[{"code": reason["code"], "column": reason.get("column"),
                                 "message": describe(reason["code"], reason.get("params") or {}, lang)}
                                for reason in issue.reasons])
            for issue in list_issues(session, import_id=import_id, limit=limit)]


REPORT_HEADINGS = {"vi": ("Dòng", "Kết quả", "Lý do"), "en": ("Row", "Result", "Reasons")}
STATUS_WORDS = {"vi": {"rejected": "Không nhập", "flagged": "Đã nhập, cần xem lại"},
                "en": {"rejected": "Not imported", "flagged": "Imported, please check"}}


def report_csv(session: Session, *, import_id: int, locale: str) -> bytes:
    """The report as a CSV file Excel opens as it is (UTF-8 with a byte-order mark): the row number, the result,
    the reasons, then the row's cells under the file's own headers, so rows can be fixed and imported again."""
    lang = language(locale)
    customer_import = get_import(session, import_id=import_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*REPORT_HEADINGS[lang], *customer_import.headers])
    for line in report(session, import_id=import_id, locale=lang):
        reasons = " ".join(str(reason["message"]) for reason in line.reasons)
        writer.writerow([line.row_number, STATUS_WORDS[lang][line.status], reasons,
                         *(line.raw.get(header, "") for header in customer_import.headers)])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
