"""Imports through the worker on both databases: customers in the identity graph, the report, no duplicate
events on a re-run or a retried batch, nothing written for a file that cannot be read."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from tests.customers.import_files import HEADER, ROWS, csv_bytes, excel_rows, xlsx_bytes
from xuyen.config import get_settings
from xuyen.customers.importing import processing, service
from xuyen.customers.importing.models import (
    CustomerImport,
    CustomerImportBatch,
    CustomerImportFile,
    ImportStatus,
)
from xuyen.customers.importing.rows import content_key
from xuyen.events.models import Event
from xuyen.identity import service as identity_service
from xuyen.jobs import Job, JobStatus
from xuyen.worker import Worker

CLERK = service.Actor(name="Nguyễn Thị Lan")


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_CUSTOMER_IMPORT_BATCH_ROWS", "2")
    get_settings.cache_clear()


def _upload(session: Session, data: bytes, name: str = "khach.csv", **options: object) -> int:
    return service.upload(session, data=data, file_name=name, actor=CLERK, **options).id  # type: ignore[arg-type]


def _state(session: Session, import_id: int) -> CustomerImport:
    session.rollback()
    session.expire_all()
    return service.get_import(session, import_id=import_id)


def _events(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def _phones(session: Session, value: str) -> list[str]:
    session.rollback()
    view = identity_service.lookup_profile(session, type="phone", value=value)
    return sorted(row.value for row in view.identifiers if row.type == "phone")


def test_a_clerks_csv_becomes_customers_with_10_digit_numbers_and_a_report(engine: Engine, session: Session) -> None:
    import_id = _upload(session, csv_bytes([HEADER, *ROWS], delimiter=";", title="DANH SÁCH KHÁCH HÀNG"))
    assert _state(session, import_id).status == ImportStatus.queued
    Worker(engine=engine).run_until_idle()
    done = _state(session, import_id)
    assert done.status == ImportStatus.done
    assert (done.rows_total, done.rows_imported, done.rows_rejected, done.rows_flagged) == (4, 3, 1, 2)
    assert done.rows_done == 4 and done.events_stored == 6  # three identify + three Consent Updated
    # 0168 123 4567 is the old number of +84 38 123 4567; the two numbers in one cell are one customer
    assert _phones(session, "0381234567") == ["+84381234567"]
    assert _phones(session, "0987654321") == ["+84912345678", "+84987654321"]
    lines = {line.row_number: line for line in service.report(session, import_id=import_id, locale="en")}
    assert sorted(lines) == [5, 6, 7]
    assert [reason["code"] for reason in lines[5].reasons] == ["not_an_email", "bad_date"]
    assert lines[5].reasons[0]["message"] == ("“binh@@gmail” is not an e-mail address (an e-mail address has "
                                              "exactly one @); the e-mail was left out.")
    assert lines[6].status == "rejected" and lines[6].reasons[0]["code"] == "no_identifier"
    assert lines[7].status == "flagged" and lines[7].reasons[0]["code"] == "phone_possible_not_valid"
    assert lines[6].raw == {"STT": "3", "Họ và tên": "Lê Văn Cường"}
    vietnamese = service.report(session, import_id=import_id, locale="vi")[1].reasons[0]["message"]
    assert vietnamese == ("Không có số điện thoại, email hay mã khách hàng: dòng này không thể thành khách hàng, "
                          "không được nhập.")


def test_the_calls_are_the_tracking_apis_identify_and_consent_calls(engine: Engine, session: Session) -> None:
    import_id = _upload(session, csv_bytes([HEADER, *ROWS]))
    Worker(engine=engine).run_until_idle()
    session.rollback()
    imported = service.get_import(session, import_id=import_id)
    key = content_key(sha256=imported.sha256, mapping=imported.mapping)
    identify = session.scalars(select(Event).where(Event.message_id == f"import-{key}-row-2-identify")).one()
    assert identify.traits == {"name": "Nguyễn Văn An", "phone": "0168 123 4567", "email": "an.nguyen@gmail.com",
                               "birthday": "1990-02-01", "gender": "male"}
    assert identify.context == {"import": {"id": import_id, "row": 2, "file": "khach.csv"}}
    assert identify.anonymous_id and identify.user_id is None and identify.profile_id is not None
    consents = session.scalars(select(Event).where(Event.event == "Consent Updated").order_by(Event.id)).all()
    assert [(c.properties["channel"], c.properties["purpose"], c.properties["granted"]) for c in consents] == [
        ("any", "marketing", True), ("any", "marketing", True), ("any", "marketing", False)]
    assert consents[0].properties["proof"] == f"import {import_id} of khach.csv, row 2"
    assert consents[0].profile_id == identify.profile_id
    source = service.get_import(session, import_id=import_id).source_id
    assert {event.source_id for event in consents} == {source}


def test_an_excel_list_with_customer_codes_float_phones_and_serial_dates(engine: Engine, session: Session) -> None:
    import_id = _upload(session, xlsx_bytes(excel_rows(), title="Khách VIP"), name="vip.xlsx")
    Worker(engine=engine).run_until_idle()
    done = _state(session, import_id)
    assert (done.format, done.header_row, done.rows_imported, done.rows_flagged) == ("xlsx", 3, 3, 1)
    session.rollback()
    view = identity_service.lookup_profile(session, type="user_id", value="KH001")
    assert {(row.type, row.value) for row in view.identifiers} == {
        ("user_id", "KH001"), ("phone", "+84381234567"), ("email", "an.nguyen@gmail.com")}
    binh = session.scalars(select(Event).where(Event.user_id == "KH002", Event.type == "identify")).one()
    assert binh.traits["phone"] == "0912345678" and binh.traits["birthday"] == "1990-05-07"
    sms = session.scalars(select(Event).where(Event.user_id == "KH002", Event.type == "track")).one()
    assert sms.properties["channel"] == "sms" and sms.properties["granted"] is False
    [line] = service.report(session, import_id=import_id, locale="en")
    assert line.row_number == 6 and [r["code"] for r in line.reasons] == ["not_an_email", "bad_date"]


def test_duplicate_rows_are_skipped_and_shared_identifiers_flagged(engine: Engine, session: Session) -> None:
    rows = [["SĐT", "Họ tên"], ["0912345678", "An"], ["0912345678", "An"], ["0912 345 678", "Anh An"]]
    import_id = _upload(session, csv_bytes(rows))
    Worker(engine=engine).run_until_idle()
    lines = service.report(session, import_id=import_id, locale="en")
    assert [(line.row_number, line.status, line.reasons[0]["message"]) for line in lines] == [
        (3, "rejected", "The same as row 2; skipped."),
        (4, "flagged", "Same phone number +84912345678 as row 2: the two rows become one customer.")]


def test_a_dry_run_writes_the_report_and_no_event_then_runs_for_real(engine: Engine, session: Session) -> None:
    import_id = _upload(session, csv_bytes([HEADER, *ROWS]), dry_run=True)
    Worker(engine=engine).run_until_idle()
    checked = _state(session, import_id)
    assert (checked.status, checked.dry_run, checked.rows_imported, checked.rows_rejected) == (
        ImportStatus.done, True, 3, 1)
    assert _events(session) == 0 and checked.source_id is None
    service.start(session, import_id=import_id)
    Worker(engine=engine).run_until_idle()
    assert _state(session, import_id).events_stored == 6 and _events(session) == 6


def test_batches_commit_progress_one_by_one_and_a_retried_batch_adds_nothing_twice(
        engine: Engine, session: Session, small_batches: None) -> None:
    rows = [["SĐT"], *[[f"09123456{n:02d}"] for n in range(5)]]
    import_id = _upload(session, csv_bytes(rows))
    worker = Worker(engine=engine)
    worker.run_once()  # prepares: three batches of at most two rows
    prepared = _state(session, import_id)
    assert (prepared.status, prepared.batches_total, prepared.rows_done) == (ImportStatus.running, 3, 0)
    worker.run_once()  # batch 1
    assert (_state(session, import_id).rows_done, _events(session)) == (2, 2)
    # a worker that crashes inside batch 2 leaves nothing behind: its transaction is never committed
    processing.ingest_batch(session, import_id=import_id, number=2, queue_next=True)
    session.rollback()
    assert (_state(session, import_id).rows_done, _events(session)) == (2, 2)
    worker.run_until_idle()
    done = _state(session, import_id)
    assert (done.status, done.rows_done, done.rows_imported, done.batches_done, _events(session)) == (
        ImportStatus.done, 5, 5, 3, 5)
    # the same batch delivered again, or the whole import prepared and ingested again: no second event
    processing.ingest_batch(session, import_id=import_id, number=2, queue_next=False)
    session.commit()
    session.execute(update(CustomerImport).where(CustomerImport.id == import_id).values(status=ImportStatus.queued))
    session.commit()
    service.run_in_process(session, import_id=import_id)
    assert _events(session) == 5
    assert _state(session, import_id).events_stored == 0  # counted again from the re-run: nothing new


def test_a_dead_batch_job_shows_the_import_failed_and_retry_carries_on(
        engine: Engine, session: Session, small_batches: None) -> None:
    import_id = _upload(session, csv_bytes([["SĐT"], ["0912345601"], ["0912345602"], ["0912345603"]]))
    worker = Worker(engine=engine)
    worker.run_once()
    worker.run_once()
    session.rollback()
    job_id = _state(session, import_id).job_id  # batch 2's job, not run yet: the worker gives up on it
    session.execute(update(Job).where(Job.id == job_id).values(status=JobStatus.dead,
                                                               last_error="Traceback …\nOperationalError: gone"))
    session.commit()
    failed = service.get_view(session, import_id=import_id)
    assert failed.status == ImportStatus.failed
    assert failed.error == ("The import stopped after 2 of 3 rows: OperationalError: gone. Retry it to carry on "
                            "from there.")
    service.retry(session, import_id=import_id)
    worker.run_until_idle()
    assert _state(session, import_id).status == ImportStatus.done and _events(session) == 3
    assert session.scalar(select(func.count()).select_from(CustomerImportBatch)) == 0


def test_a_file_that_cannot_be_read_in_full_fails_the_import_before_any_row_is_written(
        engine: Engine, session: Session) -> None:
    import_id = _upload(session, xlsx_bytes(excel_rows()), name="vip.xlsx")
    # the header could be read at upload, but the workbook is damaged further on
    session.execute(update(CustomerImportFile).where(CustomerImportFile.import_id == import_id).values(
        content=b"PK\x03\x04 damaged"))
    session.commit()
    Worker(engine=engine).run_until_idle()
    failed = _state(session, import_id)
    assert failed.status == ImportStatus.failed and failed.error is not None and "save it again" in failed.error
    assert _events(session) == 0 and failed.rows_imported == 0


def test_the_same_file_imported_twice_stores_its_calls_once(engine: Engine, session: Session) -> None:
    first = _upload(session, csv_bytes([HEADER, *ROWS]))
    Worker(engine=engine).run_until_idle()
    session.rollback()
    stored = session.scalar(select(func.count()).select_from(Event))
    assert stored
    second = _upload(session, csv_bytes([HEADER, *ROWS]))
    Worker(engine=engine).run_until_idle()
    session.rollback()
    assert second != first and service.get_view(session, import_id=second).status.value == "done"
    assert session.scalar(select(func.count()).select_from(Event)) == stored
