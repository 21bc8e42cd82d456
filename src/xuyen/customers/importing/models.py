"""Customer import tables: the import with its progress, the uploaded file, the report's rows, and the
prepared batches waiting to be ingested."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xuyen.clock import utcnow
from xuyen.db import Base, BigId, JSONType, UTCDateTime


class ImportStatus(enum.StrEnum):
    """draft: uploaded, the mapping not confirmed yet; queued → running → done, or failed."""

    draft = "draft"
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class IssueStatus(enum.StrEnum):
    """rejected: the row was not imported; flagged: imported without its bad cells, or worth a look."""

    rejected = "rejected"
    flagged = "flagged"


class CustomerImport(Base):
    """One uploaded customer list: how it was read and mapped, where its events go, and how far it got.

    ``rows_done`` counts the rows dealt with so far (imported or rejected) out of ``rows_total``; the
    file is ingested in batches, each committed with the progress it adds.
    """

    __tablename__ = "customer_imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(32))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    sheet: Mapped[str | None] = mapped_column(String(200))
    header_row: Mapped[int] = mapped_column(Integer, default=1)
    headers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    mapping: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    status: Mapped[ImportStatus] = mapped_column(
        Enum(ImportStatus, native_enum=False, length=16, validate_strings=True), default=ImportStatus.draft)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_flagged: Mapped[int] = mapped_column(Integer, default=0)
    events_stored: Mapped[int] = mapped_column(Integer, default=0)
    batches_total: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[int | None] = mapped_column(BigId)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_customer_imports_created_at", "created_at"),)


class CustomerImportFile(Base):
    """The uploaded file's bytes, kept in the database so a worker on any host can read them."""

    __tablename__ = "customer_import_files"

    import_id: Mapped[int] = mapped_column(ForeignKey("customer_imports.id", ondelete="CASCADE"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class CustomerImportIssue(Base):
    """A row of the validation report: a rejected or flagged row, its reasons and the row as it was."""

    __tablename__ = "customer_import_issues"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("customer_imports.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[IssueStatus] = mapped_column(Enum(IssueStatus, native_enum=False, length=16))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    raw: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)

    __table_args__ = (Index("ix_customer_import_issues_import_row", "import_id", "row_number"),)


class CustomerImportBatch(Base):
    """The calls of up to one batch of rows, prepared from the file and waiting to be ingested; deleted in the
    transaction that ingests them."""

    __tablename__ = "customer_import_batches"

    import_id: Mapped[int] = mapped_column(ForeignKey("customer_imports.id", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    calls: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
