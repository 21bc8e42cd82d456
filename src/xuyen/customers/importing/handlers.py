"""The import's jobs: prepare the file, then ingest it one batch per job.

Each job's work commits together with the job (the worker's transaction), so a batch and the progress it
adds take effect together or not at all; a failed batch is retried with backoff and continues exactly
where the last committed batch ended. A file that cannot be read fails the import without retrying.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from xuyen.customers.importing import processing
from xuyen.jobs import job


@job(processing.PREPARE_JOB, max_attempts=5)
def prepare_import(session: Session, payload: dict[str, Any]) -> None:
    """Read and check the import's file, write its report and batches, queue the first batch."""
    processing.prepare(session, import_id=int(payload["import_id"]), queue_next=True)


@job(processing.BATCH_JOB, max_attempts=8)
def ingest_import_batch(session: Session, payload: dict[str, Any]) -> None:
    """Ingest one batch of the import's rows and queue the next one."""
    processing.ingest_batch(session, import_id=int(payload["import_id"]), number=int(payload["number"]),
                            queue_next=True)
