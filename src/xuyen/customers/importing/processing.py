"""Preparing and ingesting an import, as helpers that never commit: the worker's jobs and the CLI's loop
commit them (one transaction to prepare, then one per batch).

Preparing reads the whole file before any row is written: an unreadable file fails the import with nothing
ingested. It writes the report's rows and the batches of calls; each batch is then ingested through the
tracking API's own path (``parse_item`` and ``add_events``), so imported rows are resolved, deduplicated on
their messageId and announced exactly as a tracking request's calls are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xuyen.clock import to_local, utcnow
from xuyen.config import get_settings
from xuyen.customers.importing.mapping import header_score
from xuyen.customers.importing.models import (
    CustomerImport,
    CustomerImportBatch,
    CustomerImportFile,
    CustomerImportIssue,
    ImportStatus,
    IssueStatus,
)
from xuyen.customers.importing.reading import Table, read_table
from xuyen.customers.importing.rows import ImportContext, RowResult, content_key, convert_row
from xuyen.errors import XuyenError
from xuyen.events import service as events_service
from xuyen.events.segment import InvalidItem, ValidEvent, parse_item
from xuyen.jobs import add_job

PREPARE_JOB = "customers.import.prepare"
BATCH_JOB = "customers.import.batch"


@dataclass
class _Prepared:
    """What preparing found, before it is written."""

    issues: list[RowResult] = field(default_factory=list)
    accepted: list[RowResult] = field(default_factory=list)
    total: int = 0


def read_file(data: bytes, *, file_name: str, sheet: str | None) -> Table:
    """The file's table with its header row found among the first rows."""
    return read_table(data, file_name=file_name, sheet=sheet, header_score=header_score)


def queue_prepare(session: Session, *, customer_import: CustomerImport) -> None:
    """Queue the job that prepares the import (helper: the caller commits)."""
    job_row = add_job(session, name=PREPARE_JOB, payload={"import_id": customer_import.id},
                      ordering_key=f"customer-import:{customer_import.id}", sequence=0)
    customer_import.job_id = job_row.id


def prepare(session: Session, *, import_id: int, queue_next: bool) -> CustomerImport | None:
    """Read and check every row, write the report and the batches; the import fails cleanly when the file
    cannot be read (helper: the caller commits). With ``queue_next`` the first batch's job is queued."""
    customer_import = session.get(CustomerImport, import_id)
    if customer_import is None or customer_import.status not in (ImportStatus.queued, ImportStatus.running):
        return customer_import
    _clear(session, import_id=import_id)
    try:
        prepared = _read_rows(session, customer_import)
    except XuyenError as exc:
        fail(customer_import, exc.message)
        return customer_import
    _write(session, customer_import, prepared)
    if customer_import.dry_run or not customer_import.batches_total:
        finish(customer_import)
    elif queue_next:
        queue_batch(session, customer_import, number=1)
    return customer_import


def _clear(session: Session, *, import_id: int) -> None:
    """Forget an earlier preparation of the same import (a retried job starts over cleanly)."""
    session.execute(delete(CustomerImportIssue).where(CustomerImportIssue.import_id == import_id))
    session.execute(delete(CustomerImportBatch).where(CustomerImportBatch.import_id == import_id))


def _read_rows(session: Session, customer_import: CustomerImport) -> _Prepared:
    content = session.scalar(select(CustomerImportFile.content).where(
        CustomerImportFile.import_id == customer_import.id))
    table = read_file(content or b"", file_name=customer_import.file_name, sheet=customer_import.sheet)
    context = ImportContext(import_id=customer_import.id, file_name=customer_import.file_name,
                            today=to_local(utcnow(), get_settings().default_timezone).date(),
                            content_key=content_key(sha256=customer_import.sha256, mapping=customer_import.mapping))
    prepared = _Prepared()
    checker = _DuplicateChecker()
    for number, cells in table.rows():
        prepared.total += 1
        result = convert_row(context=context, headers=table.headers, mapping=customer_import.mapping, row=number,
                             cells=cells)
        if not result.rejected:
            checker.check(result)
        if not result.rejected:
            _check_calls(result)
        if result.reasons:
            prepared.issues.append(result)
        if not result.rejected:
            prepared.accepted.append(result)
    return prepared


class _DuplicateChecker:
    """Rows the same as an earlier row (skipped), and rows sharing an identifier with an earlier one (flagged)."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self.identifiers: dict[tuple[str, str], int] = {}

    def check(self, result: RowResult) -> None:
        digest = hashlib.sha256(repr(sorted(result.raw.items())).encode()).hexdigest()
        if digest in self.rows:
            result.rejected = True
            result.note("duplicate_row", row=self.rows[digest])
            return
        self.rows[digest] = result.row
        for kind, value in dict.fromkeys(result.identifiers):
            first = self.identifiers.setdefault((kind, value), result.row)
            if first != result.row:
                result.note("duplicate_identifier", kind=kind, value=value, row=first)


def _parsed(calls: list[dict[str, Any]]) -> Iterator[ValidEvent | InvalidItem]:
    settings = get_settings()
    received_at = utcnow()
    for position, call in enumerate(calls):
        yield parse_item(call, position=position, call=None, received_at=received_at,
                         max_bytes=settings.ingest_max_event_bytes)


def _check_calls(result: RowResult) -> None:
    """Reject a row whose calls the tracking API would not store (a cell so long the call is too large)."""
    for item in _parsed(result.calls):
        if isinstance(item, InvalidItem):
            result.rejected = True
            result.calls = []
            result.note("not_stored", detail=item.detail)
            return


def _write(session: Session, customer_import: CustomerImport, prepared: _Prepared) -> None:
    for result in prepared.issues:
        session.add(CustomerImportIssue(
            import_id=customer_import.id, row_number=result.row, reasons=result.reasons, raw=result.raw,
            status=IssueStatus.rejected if result.rejected else IssueStatus.flagged))
    size = get_settings().customer_import_batch_rows
    batches = [prepared.accepted[start:start + size] for start in range(0, len(prepared.accepted), size)]
    if not customer_import.dry_run:
        for number, rows in enumerate(batches, start=1):
            session.add(CustomerImportBatch(import_id=customer_import.id, number=number, rows=len(rows),
                                            calls=[call for row in rows for call in row.calls]))
    rejected = sum(1 for result in prepared.issues if result.rejected)
    customer_import.status = ImportStatus.running
    customer_import.started_at = customer_import.started_at or utcnow()
    customer_import.rows_total = prepared.total
    customer_import.rows_rejected = rejected
    customer_import.rows_flagged = len(prepared.issues) - rejected
    customer_import.rows_done = rejected
    customer_import.rows_imported = 0
    customer_import.events_stored = 0
    customer_import.batches_total = 0 if customer_import.dry_run else len(batches)
    customer_import.batches_done = 0
    if customer_import.dry_run:  # nothing is written: the rows that would be imported are counted as done
        customer_import.rows_imported = len(prepared.accepted)
        customer_import.rows_done = prepared.total
    session.flush()


def queue_batch(session: Session, customer_import: CustomerImport, *, number: int) -> None:
    """Queue the job that ingests batch ``number`` (helper: the caller commits)."""
    job_row = add_job(session, name=BATCH_JOB, payload={"import_id": customer_import.id, "number": number},
                      ordering_key=f"customer-import:{customer_import.id}", sequence=number)
    customer_import.job_id = job_row.id


def next_batch(session: Session, *, import_id: int) -> int | None:
    """The number of the import's next batch waiting to be ingested, if any."""
    return session.scalar(select(CustomerImportBatch.number).where(CustomerImportBatch.import_id == import_id)
                          .order_by(CustomerImportBatch.number).limit(1))


def ingest_batch(session: Session, *, import_id: int, number: int, queue_next: bool) -> CustomerImport | None:
    """Ingest one prepared batch and count its rows done, in the caller's transaction (helper: no commit).

    A batch already ingested is gone, so running this twice for the same batch does nothing the second
    time; the calls' deterministic messageIds would make a second ingestion store nothing anyway.
    """
    customer_import = session.get(CustomerImport, import_id)
    batch = session.get(CustomerImportBatch, (import_id, number), with_for_update=True)
    if customer_import is None or batch is None or customer_import.status != ImportStatus.running:
        return customer_import
    source = events_service.get_source(session, source_id=customer_import.source_id or 0)
    received_at = utcnow()
    result = events_service.add_events(session, source=source, items=list(_parsed(batch.calls)),
                                       request_id=f"customer-import-{import_id}-batch-{number}",
                                       received_at=received_at)
    customer_import.events_stored += result.stored
    customer_import.rows_imported += batch.rows
    customer_import.rows_done += batch.rows
    customer_import.batches_done += 1
    session.delete(batch)
    session.flush()
    following = next_batch(session, import_id=import_id)
    if following is None:
        finish(customer_import)
    elif queue_next:
        queue_batch(session, customer_import, number=following)
    return customer_import


def finish(customer_import: CustomerImport) -> None:
    """Mark the import done (helper: the caller commits)."""
    customer_import.status = ImportStatus.done
    customer_import.finished_at = utcnow()
    customer_import.error = None


def fail(customer_import: CustomerImport, message: str) -> None:
    """Mark the import failed with a message saying what to do (helper: the caller commits)."""
    customer_import.status = ImportStatus.failed
    customer_import.error = message
    customer_import.finished_at = utcnow()
