"""The leads API: capture by API key or staff (idempotent with a key), list, read and update under the scope
rule, import of CSV and .xlsx lists (every row reported, re-import adds nothing), forms and rules for managers."""

from __future__ import annotations

import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.factories import make_store, make_user
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.sales.leads.models import Lead, LeadCapture


def test_an_api_key_captures_a_lead_once_per_key(session: Session, client: TestClient) -> None:
    _row, key = create_api_key(session, name="Landing page", role=Role.agent)
    body = {"name": "Lê Minh", "phone": "0912 000 111", "email": "minh@gmail.com", "campaign": "Tết",
            "utm": {"utm_source": "google", "utm_medium": "cpc"}, "fields": {"budget": "10tr"}}
    headers = {**bearer(key), "Idempotency-Key": "req-1"}
    first = client.post(f"{API}/leads", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(f"{API}/leads", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["repeated"] is True
    lead = first.json()["lead"]
    assert lead["phone"] == "+84912000111" and lead["labels"] == ["API"] and lead["status"] == "new"
    assert lead["quality"]["email_mx"] == "ok"
    assert session.scalar(select(func.count()).select_from(LeadCapture)) == 1
    read = client.get(f"{API}/leads/{lead['id']}", headers=bearer(key)).json()
    assert read["capture_list"][0]["utm"] == {"utm_source": "google", "utm_medium": "cpc"}
    assert read["capture_list"][0]["fields"] == {"budget": "10tr"}


def test_bad_input_is_refused(client: TestClient, session: Session) -> None:
    _row, key = create_api_key(session, name="ETL", role=Role.agent)
    assert client.post(f"{API}/leads", json={"phone": "0912000111"}).status_code == 401
    response = client.post(f"{API}/leads", json={"phone": "0912", "source": "fax"}, headers=bearer(key))
    assert response.status_code == 422
    response = client.post(f"{API}/leads", json={"phone": "0912", "extra": 1}, headers=bearer(key))
    assert response.status_code == 422
    assert_problem(client.get(f"{API}/leads/999", headers=bearer(key)), 404, "lead_not_found")


def test_staff_see_and_change_only_what_the_scope_rule_gives(
        session: Session, client: TestClient, browser_for: Callable[[User], Browser]) -> None:
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    agent, other = make_user(session, store=hanoi), make_user(session, store=saigon)
    _row, key = create_api_key(session, name="ETL", role=Role.agent)
    mine = client.post(f"{API}/leads", json={"phone": "0913000001", "owner_id": agent.id},
                       headers=bearer(key)).json()["lead"]
    theirs = client.post(f"{API}/leads", json={"phone": "0913000002", "store_id": saigon.id},
                         headers=bearer(key)).json()["lead"]
    browser = browser_for(agent)
    assert [lead["id"] for lead in browser.request("GET", "/leads").json()] == [mine["id"]]
    assert_problem(browser.request("GET", f"/leads/{theirs['id']}"), 404, "lead_not_found")
    assert_problem(browser.request("PATCH", f"/leads/{theirs['id']}", json={"status": "contacted"}), 404,
                   "lead_not_found")
    changed = browser.request("PATCH", f"/leads/{mine['id']}", json={"status": "qualified", "owner_id": other.id})
    assert changed.status_code == 200 and changed.json()["status"] == "qualified"
    assert changed.json()["owner_id"] == other.id
    assert_problem(browser.request("PATCH", f"/leads/{mine['id']}", json={"owner_id": 999}), 404,
                   "lead_not_found")  # no longer theirs to see
    boss = browser_for(make_user(session, role=Role.owner))
    assert_problem(boss.request("PATCH", f"/leads/{mine['id']}", json={"owner_id": 999}), 422, "unknown_owner")
    assert len(boss.request("GET", "/leads?status=qualified").json()) == 1
    assert len(boss.request("GET", "/leads?source=api").json()) == 2


def _csv(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8-sig")


def test_import_of_a_csv_reports_every_row_and_does_not_repeat(
        session: Session, browser_for: Callable[[User], Browser]) -> None:
    manager = browser_for(make_user(session, role=Role.manager))
    data = _csv(["STT,Họ tên,Số điện thoại,Email,Tỉnh,Sản phẩm quan tâm",
                 "1,Phạm Thu,0914000001,thu@gmail.com,Hà Nội,Máy lọc nước",
                 "2,Đỗ Hải,12,,Huế,",
                 "3,Không liên lạc,,,Huế,",
                 "4,Phạm Thu,+84914000001,,Hà Nội,Bình nước"])
    files = {"file": ("leads.csv", data, "text/csv")}
    report = manager.request("POST", "/leads/import", files=files, data={"campaign": "Hội chợ"}).json()
    assert report["rows"] == 4 and report["new_leads"] == 2 and report["existing_leads"] == 1
    assert report["errors"] == [{"row": 4, "message": "no phone and no e-mail: nothing to reach the person by"}]
    assert report["warnings"] == [{"row": 3, "message": "phone_invalid"}]
    again = manager.request("POST", "/leads/import", files=files).json()
    assert again["repeated"] == 3 and again["new_leads"] == 0
    assert session.scalar(select(func.count()).select_from(Lead)) == 2
    thu = session.scalar(select(Lead).where(Lead.phone == "+84914000001"))
    assert thu is not None and thu.campaign == "Hội chợ" and thu.labels == ["Import"] and thu.captures == 2


def test_import_of_an_xlsx_list(session: Session, browser_for: Callable[[User], Browser]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Họ và tên", "SĐT", "Chiến dịch"])
    sheet.append(["Vũ Lan", 915000001, "Ads 12"])  # Excel dropped the leading zero
    buffer = io.BytesIO()
    book.save(buffer)
    manager = browser_for(make_user(session, role=Role.manager))
    report = manager.request("POST", "/leads/import", files={"file": ("leads.xlsx", buffer.getvalue())}).json()
    assert report["new_leads"] == 1 and report["errors"] == []
    assert session.scalar(select(Lead.phone)) == "+84915000001"
    agent = browser_for(make_user(session))
    assert agent.request("POST", "/leads/import", files={"file": ("leads.xlsx", buffer.getvalue())}).status_code == 403


def test_managers_set_up_forms_and_rules(session: Session, browser_for: Callable[[User], Browser]) -> None:
    manager = browser_for(make_user(session, role=Role.manager))
    rep = make_user(session)
    form = manager.request("POST", "/lead-forms", json={
        "name": "Đăng ký tư vấn", "allowed_origins": ["Shop.vn/", "http://localhost:8080"], "labels": ["Tư vấn"]})
    assert form.status_code == 201, form.text
    assert form.json()["allowed_origins"] == ["https://shop.vn", "http://localhost:8080"]
    assert len(form.json()["key"]) >= 16
    assert_problem(manager.request("POST", "/lead-forms", json={"name": "x", "allowed_origins": ["ftp://a/b"]}),
                   422, "bad_origin")
    rule = manager.request("POST", "/lead-rules", json={"name": "Web", "source": "form", "assign_user_id": rep.id})
    assert rule.status_code == 201 and rule.json()["source"] == "form"
    assert_problem(manager.request("POST", "/lead-rules", json={"name": "nobody"}), 422, "rule_without_target")
    moved = manager.request("PATCH", f"/lead-rules/{rule.json()['id']}", json={"position": 5})
    assert moved.json()["position"] == 5 and moved.json()["assign_user_id"] == rep.id
    agent = browser_for(rep)
    assert agent.request("GET", "/lead-rules").status_code == 403
    assert manager.request("DELETE", f"/lead-rules/{rule.json()['id']}").status_code == 204
