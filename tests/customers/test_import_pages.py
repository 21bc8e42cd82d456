"""The import pages: upload a list, check the guessed fields, start, watch progress, read the report."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.customers.import_files import HEADER, ROWS, csv_bytes
from tests.ui.conftest import browser, shop  # noqa: F401  (fixtures of the page tests)
from tests.ui.helpers import Shop, csrf_token, sign_in
from xuyen.worker import Worker


def _selected(html: str, index: int) -> str:
    select = html.split(f'id="field-{index}"')[1].split("</select>")[0]
    found = re.search(r'<option value="([^"]*)" selected>', select)
    assert found, select
    return found.group(1)


def test_upload_map_start_and_read_the_report(browser: TestClient, shop: Shop, engine: Engine,  # noqa: F811
                                              session: Session) -> None:
    sign_in(browser, shop.hanoi_manager.email)
    listing = browser.get("/customers/imports")
    assert listing.status_code == 200
    assert '<a href="/customers/imports" aria-current="page">Nhập khách hàng</a>' in listing.text
    assert "Chưa nhập danh sách khách hàng nào." in listing.text
    data = csv_bytes([[*HEADER, "Ghi chú"], *[[*row, "khách quen"] for row in ROWS]], delimiter=";")
    uploaded = browser.post("/customers/imports", files={"file": ("khach.csv", data, "text/csv")},
                            data={"csrf_token": csrf_token(listing.text)})
    assert uploaded.status_code == 303
    page = browser.get(uploaded.headers["location"])
    assert page.status_code == 200
    text = page.text
    assert "Chờ kiểm tra các cột" in text and "CSV · utf-8" in text
    assert _selected(text, 1) == "name" and _selected(text, 2) == "phone"
    assert _selected(text, 6) == "consent:any:marketing" and _selected(text, 7) == "-"
    assert '<option value="trait:ghi_chu">Thuộc tính riêng: ghi_chu</option>' in text
    assert "0168 123 4567" in text  # the first rows are shown
    fields = ["-", "name", "phone", "email", "birthday", "gender", "consent:any:marketing", "trait:ghi_chu"]
    started = browser.post(uploaded.headers["location"] + "/start",
                           data={"csrf_token": csrf_token(text), "field": fields, "source_id": ""})
    assert started.status_code == 303
    running = browser.get(started.headers["location"]).text
    assert '<meta http-equiv="refresh" content="2">' in running and "Đang chờ" in running
    Worker(engine=engine).run_until_idle()
    done = browser.get(started.headers["location"]).text
    assert 'http-equiv="refresh"' not in done
    assert '<progress class="progress" max="100" value="100"' in done
    assert "Không có số điện thoại, email hay mã khách hàng" in done
    assert "/report.csv?lang=vi" in done
    report = browser.get(started.headers["location"].replace("/customers/imports/", "/api/v1/customer-imports/")
                         + "/report.csv?lang=vi")
    assert report.status_code == 200 and "Ghi chú" in report.content.decode("utf-8-sig").splitlines()[0]
    listing = browser.get("/customers/imports").text
    assert "khach.csv" in listing and "Hoàn tất" in listing


def test_a_file_that_is_not_a_spreadsheet_is_explained_on_the_page(browser: TestClient, shop: Shop) -> None:  # noqa: F811
    sign_in(browser, shop.hanoi_manager.email)
    listing = browser.get("/customers/imports")
    refused = browser.post("/customers/imports", files={"file": ("anh.png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png")},
                           data={"csrf_token": csrf_token(listing.text)})
    assert refused.status_code == 422
    assert "is not a CSV or Excel file we can read" in refused.text


def test_agents_neither_see_the_link_nor_the_page(browser: TestClient, shop: Shop) -> None:  # noqa: F811
    sign_in(browser, shop.hanoi_agent.email)
    assert 'href="/customers/imports"' not in browser.get("/").text
    assert browser.get("/customers/imports").status_code == 403
