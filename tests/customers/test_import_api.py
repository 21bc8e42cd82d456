"""The customer import API: upload (202, then a worker imports), preview, progress, the report as JSON and CSV,
and the refusals: not signed in, not a manager, too large, not a spreadsheet, an unknown mapping field."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.customers.import_files import HEADER, ROWS, csv_bytes, excel_rows, xlsx_bytes
from tests.factories import PASSWORD, make_user
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.config import get_settings
from xuyen.customers.importing.models import CustomerImport
from xuyen.events.models import Event
from xuyen.worker import Worker

BrowserFor = Callable[[User], Browser]
CSV_FILE = ("khach.csv", csv_bytes([HEADER, *ROWS], delimiter=";"), "text/csv")


@pytest.fixture
def manager(session: Session, browser_for: BrowserFor) -> Browser:
    return browser_for(make_user(session, role=Role.manager, locale="en"))


def _count(session: Session, model: type) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_upload_answers_202_at_once_and_a_worker_imports_the_list(manager: Browser, engine: Engine,
                                                                  session: Session) -> None:
    response = manager.request("POST", "/customer-imports", files={"file": CSV_FILE},
                               data={"map": ["STT=trait:stt"]})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["status"], body["format"], body["encoding"], body["delimiter"]) == ("queued", "csv", "utf-8", ";")
    assert body["mapping"]["Số điện thoại"] == "phone" and body["mapping"]["STT"] == "trait:stt"
    assert _count(session, Event) == 0
    Worker(engine=engine).run_until_idle()
    done = manager.request("GET", f"/customer-imports/{body['id']}").json()
    assert (done["status"], done["percent"], done["rows_imported"], done["rows_rejected"]) == ("done", 100, 3, 1)
    assert [row["id"] for row in manager.request("GET", "/customer-imports").json()] == [body["id"]]
    report = manager.request("GET", f"/customer-imports/{body['id']}/report").json()
    assert [line["row"] for line in report] == [3, 4, 5]
    assert report[1]["reasons"][0] == {
        "code": "no_identifier", "column": None,
        "message": "No phone number, e-mail or customer code: the row cannot become a customer and was not imported."}
    vietnamese = manager.request("GET", f"/customer-imports/{body['id']}/report?lang=vi").json()
    assert vietnamese[1]["reasons"][0]["message"].startswith("Không có số điện thoại")


def test_the_report_downloads_as_a_csv_excel_opens(manager: Browser, engine: Engine) -> None:
    imported = manager.request("POST", "/customer-imports", files={"file": CSV_FILE}).json()
    Worker(engine=engine).run_until_idle()
    response = manager.request("GET", f"/customer-imports/{imported['id']}/report.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="import-' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Row", "Result", "Reasons", *HEADER]
    assert rows[2][:2] == ["4", "Not imported"] and rows[2][4] == "Lê Văn Cường"


def test_preview_shows_how_the_file_reads_and_stores_nothing(manager: Browser, session: Session) -> None:
    data = xlsx_bytes(excel_rows(), title="Khách VIP")
    response = manager.request("POST", "/customer-imports/preview", files={"file": ("vip.xlsx", data)},
                               data={"mapping": json.dumps({"Nhận SMS": "consent:sms:care"})})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["format"], body["sheet"], body["header_row"], body["has_identifier"]) == (
        "xlsx", "Khách hàng", 3, True)
    assert [(c["letter"], c["header"], c["field"]) for c in body["columns"]][:3] == [
        ("A", "Mã KH", "external_id"), ("B", "Họ tên", "name"), ("C", "SĐT", "phone")]
    assert body["mapping"]["Nhận SMS"] == "consent:sms:care"
    assert body["rows"][0] == {"row": 4, "cells": ["KH001", "Nguyễn Văn An", "1681234567", "an.nguyen@gmail.com",
                                                   "01/02/1990", "1"]}
    assert _count(session, CustomerImport) == 0


def test_a_draft_is_started_with_a_mapping(manager: Browser, engine: Engine) -> None:
    data = csv_bytes([["Khách", "Liên lạc"], ["Hà", "0912345678"]])
    draft = manager.request("POST", "/customer-imports", files={"file": ("k.csv", data)},
                            data={"start": "false"}).json()
    assert draft["status"] == "draft"
    refused = manager.request("POST", f"/customer-imports/{draft['id']}/start", json={})
    assert_problem(refused, 422, "no_identifier_column")
    started = manager.request("POST", f"/customer-imports/{draft['id']}/start",
                              json={"mapping": {"Liên lạc": "phone"}})
    assert started.status_code == 202 and started.json()["status"] == "queued"
    assert_problem(manager.request("POST", f"/customer-imports/{draft['id']}/start", json={}), 409,
                   "import_not_startable")
    Worker(engine=engine).run_until_idle()
    assert manager.request("GET", f"/customer-imports/{draft['id']}").json()["rows_imported"] == 1


def test_api_keys_of_managers_import_and_the_import_records_who(session: Session, client: TestClient) -> None:
    _row, key = create_api_key(session, name="CRM sync", role=Role.manager)
    response = client.post(f"{API}/customer-imports", files={"file": CSV_FILE}, headers=bearer(key))
    assert response.status_code == 202, response.text
    assert response.json()["created_by"] == "CRM sync"


def test_signed_out_callers_and_agents_are_refused(client: TestClient, session: Session,
                                                   browser_for: BrowserFor) -> None:
    assert_problem(client.post(f"{API}/customer-imports", files={"file": CSV_FILE}), 401, "not_authenticated")
    assert_problem(client.get(f"{API}/customer-imports"), 401, "not_authenticated")
    agent = browser_for(make_user(session, role=Role.agent))
    assert_problem(agent.request("POST", "/customer-imports", files={"file": CSV_FILE}), 403, "role_required")
    assert_problem(agent.request("GET", "/customer-imports/1/report"), 403, "role_required")
    assert _count(session, CustomerImport) == 0


@pytest.mark.parametrize(("name", "data", "code"), [
    ("anh.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not_a_spreadsheet"),
    ("khach.xlsx", b"PK\x03\x04 broken", "unreadable_excel"),
    ("khach.csv", csv_bytes([["Họ tên", "Ngày sinh"], ["An", "01/01/1990"]]), "no_identifier_column"),
])
def test_files_that_cannot_be_imported_are_refused_and_nothing_is_stored(manager: Browser, session: Session,
                                                                       name: str, data: bytes, code: str) -> None:
    body = assert_problem(manager.request("POST", "/customer-imports", files={"file": (name, data)}), 422, code)
    assert body["detail"].endswith(".")
    assert _count(session, CustomerImport) == 0


def test_an_unknown_mapping_field_is_refused_with_the_valid_fields(manager: Browser, session: Session) -> None:
    response = manager.request("POST", "/customer-imports", files={"file": CSV_FILE},
                               data={"map": ["Số điện thoại=mobile"]})
    body = assert_problem(response, 422, "unknown_field")
    assert "external_id" in body["details"]["fields"] and "trait:NAME" in body["detail"]
    assert_problem(manager.request("POST", "/customer-imports", files={"file": CSV_FILE},
                                   data={"mapping": "[1, 2]"}), 400, "bad_mapping")
    assert _count(session, CustomerImport) == 0


def test_files_over_the_limit_get_413(monkeypatch: pytest.MonkeyPatch, settings, engine: Engine,  # type: ignore[no-untyped-def]
                                      session: Session) -> None:
    from xuyen.app import create_app

    monkeypatch.setenv("XUYEN_CUSTOMER_IMPORT_MAX_BYTES", "2000")
    get_settings.cache_clear()
    small = settings.model_copy(update={"customer_import_max_bytes": 2000})
    user = make_user(session, role=Role.manager)
    with TestClient(create_app(small, engine=engine)) as client:
        csrf = client.post(f"{API}/auth/session", json={"email": user.email, "password": PASSWORD}
                           ).json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
        just_over = csv_bytes([["SĐT"], *[["0912345678"]] * 200])  # about 2.4 kB: the form fits, the file not
        body = assert_problem(client.post(f"{API}/customer-imports", files={"file": ("k.csv", just_over)},
                                          headers=headers), 413, "file_too_large")
        assert "Split the list" in body["detail"]
        huge = b"0912345678\r\n" * 10_000  # 120 kB: refused by the body limit before it is read
        assert_problem(client.post(f"{API}/customer-imports", files={"file": ("k.csv", huge)}, headers=headers),
                       413, "payload_too_large")
    assert _count(session, CustomerImport) == 0
