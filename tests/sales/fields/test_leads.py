"""Custom fields of leads: set on capture (API values, and raw form fields named like a lead field), read and
changed through the leads API, filtered, exported as CSV under the sales scope rule, on the customer timeline, and
handed over when two leads merge."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.factories import make_store, make_user
from tests.fields.helpers import ACTOR, shop_fields
from xuyen import audit
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.clock import utcnow
from xuyen.customers.models import CustomerProfile
from xuyen.customers.service import refresh_customers
from xuyen.customers.timeline import read_timeline
from xuyen.fields import service as field_service
from xuyen.fields.filters import Condition
from xuyen.fields.models import CustomFieldChange, CustomFieldValue
from xuyen.outbox import DomainEvent, OutboxEvent
from xuyen.sales.custom_fields import customers_by_lead
from xuyen.sales.leads import handlers, service
from xuyen.sales.leads.models import Lead, SourceKind


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_lead_is_captured_with_its_custom_fields_and_changed_later(session: Session, agent: Browser) -> None:
    shop_fields(session, entity="lead")
    created = agent.request("POST", "/leads", json={
        "name": "Lê Minh", "phone": "0912000111", "owner_id": agent.user_id,
        "custom_fields": {"spend": 15000000, "tier": "vang", "likes": ["giay", "ao"], "joined": "2026-12-25"}})
    assert created.status_code == 201, created.text
    lead = created.json()["lead"]
    assert lead["custom_fields"] == {"note": None, "spend": 15000000, "joined": "2026-12-25", "tier": "vang",
                                     "likes": ["ao", "giay"]}
    changed = agent.request("PATCH", f"/leads/{lead['id']}", json={"status": "contacted",
                                                                   "custom_fields": {"tier": "bac", "note": "Gọi lại"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["custom_fields"]["tier"] == "bac" and changed.json()["status"] == "contacted"
    read = agent.request("GET", f"/leads/{lead['id']}").json()
    assert read["custom_fields"]["note"] == "Gọi lại" and read["capture_list"]
    listed = agent.request("GET", "/leads").json()
    assert listed[0]["custom_fields"]["spend"] == 15000000
    session.rollback()
    topics = [row.payload["changes"] for row in session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic == "field.values_changed", OutboxEvent.aggregate_type == "lead")
        .order_by(OutboxEvent.id))]
    assert topics[-1] == {"tier": {"before": "vang", "after": "bac"}, "note": {"before": None, "after": "Gọi lại"}}


def test_bad_values_refuse_the_capture_or_the_change_and_write_nothing(session: Session, agent: Browser) -> None:
    shop_fields(session, entity="lead")
    refused = agent.request("POST", "/leads", json={"phone": "0912000222", "custom_fields": {
        "spend": "nhiều", "colour": "đỏ", "tier": "dong"}})
    body = assert_problem(refused, 422, "invalid_custom_fields")
    assert set(body["details"]["fields"]) == {"spend", "colour", "tier"}
    assert "'colour' is not a field of the lead" in body["detail"]
    session.rollback()
    assert session.scalars(select(Lead)).all() == [] and session.scalars(select(CustomFieldValue)).all() == []
    lead = agent.request("POST", "/leads", json={"phone": "0912000222", "owner_id": agent.user_id,
                                                 "custom_fields": {"tier": "vang"}}).json()["lead"]
    refused = agent.request("PATCH", f"/leads/{lead['id']}", json={"status": "qualified", "custom_fields": {
        "tier": "bac", "joined": "25/12/2026"}})
    assert assert_problem(refused, 422, "invalid_custom_fields")["details"]["fields"] == {
        "joined": "Ngày tham gia (joined) expects a date as yyyy-mm-dd, e.g. 2026-12-25"}
    after = agent.request("GET", f"/leads/{lead['id']}").json()
    assert after["status"] == "new" and after["custom_fields"]["tier"] == "vang"
    assert agent.request("PATCH", f"/leads/{lead['id']}", json={"custom_fields": "vang"}).status_code == 422


def test_required_lead_fields_do_not_block_a_capture(session: Session, agent: Browser) -> None:
    field_service.define_field(session, entity="lead", label_vi="Ngân sách", kind="number", key="ngan_sach",
                               required=True, actor=ACTOR)
    created = agent.request("POST", "/leads", json={"phone": "0912000333", "owner_id": agent.user_id})
    assert created.status_code == 201, created.text
    lead_id = created.json()["lead"]["id"]
    cleared = agent.request("PATCH", f"/leads/{lead_id}", json={"custom_fields": {"ngan_sach": None}})
    assert assert_problem(cleared, 422, "invalid_custom_fields")["details"]["fields"] == {
        "ngan_sach": "Ngân sách (ngan_sach) is required"}


def test_raw_form_fields_named_like_a_lead_field_are_set_when_they_fit(session: Session) -> None:
    shop_fields(session, entity="lead")
    done = service.capture(session, source=SourceKind.form, phone="0912000444",
                           fields={"spend": "1.500.000", "joined": "không nhớ", "tier": "vang", "loi_nhan": "Chào"})
    values = service.lead_values(session, lead_ids=[done.lead.id])[done.lead.id]
    assert values["spend"] == 1500000 and values["tier"] == "vang" and values["joined"] is None
    assert done.capture.fields == {"spend": "1.500.000", "joined": "không nhớ", "tier": "vang", "loi_nhan": "Chào"}
    change = session.scalar(select(CustomFieldChange).where(CustomFieldChange.entity == "lead"))
    assert change is not None and change.actor == "capture:form"


def test_the_leads_list_filters_on_custom_fields(session: Session, manager: Browser) -> None:
    shop_fields(session, entity="lead")
    ids = []
    for phone, spend, likes in (("0913000001", 9, ["ao"]), ("0913000002", 100, ["giay"]),
                                ("0913000003", 1000, ["ao", "tui"])):
        ids.append(manager.request("POST", "/leads", json={"phone": phone, "custom_fields": {
            "spend": spend, "likes": likes}}).json()["lead"]["id"])
    found = manager.request("GET", "/leads", params=[("field", "spend:between:10.."), ("field", "likes:any_of:ao")])
    assert [lead["id"] for lead in found.json()] == [ids[2]]
    assert [lead["id"] for lead in manager.request("GET", "/leads?field=spend:equals:9").json()] == [ids[0]]
    assert_problem(manager.request("GET", "/leads?field=spend:contains:9"), 422, "invalid_condition")
    assert_problem(manager.request("GET", "/leads?field=colour:equals:do"), 422, "unknown_field")
    assert_problem(manager.request("GET", "/leads?field=spend"), 422, "invalid_condition")
    assert manager.request("GET", "/leads", params=[("field", "spend:equals:1")] * 11).status_code == 422
    assert_problem(manager.request("GET", "/leads", params={"field": "note:contains:" + "a" * 600}), 422,
                   "invalid_condition")
    customer_field = manager.request("GET", "/customers?field=spend:equals:9")  # customers have no such field
    assert_problem(customer_field, 422, "unknown_field")


def test_the_leads_export_has_a_column_per_field_and_keeps_to_the_scope(
        session: Session, client: TestClient, browser_for: Callable[[User], Browser]) -> None:
    shop_fields(session, entity="lead")
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    _row, key = create_api_key(session, name="ETL", role=Role.agent)
    for phone, store, spend in (("0914000001", hanoi, 1500000), ("0914000002", saigon, 2500000.5)):
        captured = client.post(f"{API}/leads", headers=bearer(key), json={
            "name": "Khách Hà Nội" if store is hanoi else "Khách Sài Gòn", "phone": phone, "store_id": store.id,
            "custom_fields": {"spend": spend, "likes": ["tui", "ao"], "joined": "2026-01-05"}})
        assert captured.status_code == 201, captured.text
    branch = browser_for(make_user(session, role=Role.manager, store=hanoi))
    response = branch.request("GET", "/leads/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header, *rows = _rows(response.content)
    assert header[-5:] == ["Ghi chú (note)", "Chi tiêu dự kiến (spend)", "Ngày tham gia (joined)", "Hạng (tier)",
                           "Sở thích (likes)"]
    assert len(rows) == 1 and rows[0][2] == "Khách Hà Nội"
    assert rows[0][-5:] == ["", "1.500.000", "05/01/2026", "", "ao; tui"]
    boss = browser_for(make_user(session, role=Role.owner))
    filtered = _rows(boss.request("GET", "/leads/export.csv?field=spend:between:2000000..").content)
    assert [row[2] for row in filtered[1:]] == ["Khách Sài Gòn"] and filtered[1][-4] == "2.500.000,5"
    assert browser_for(make_user(session, store=hanoi)).request("GET", "/leads/export.csv").status_code == 403
    session.rollback()
    assert session.scalar(select(audit.AuditEntry.action).where(audit.AuditEntry.action == "leads.exported"))


def test_lead_field_changes_are_on_the_customer_timeline_and_follow_a_merge(session: Session) -> None:
    shop_fields(session, entity="lead")
    first = service.capture(session, source=SourceKind.api, phone="0915000001", custom_values={"tier": "vang"},
                            actor=ACTOR).lead
    second = service.capture(session, source=SourceKind.api, phone="0915000002",
                             custom_values={"tier": "bac", "spend": 5}, actor=ACTOR).lead
    page = read_timeline(session, profile_ids=[first.profile_id], cursor=None, limit=20)
    items = [item for item in page.items if item.kind == "lead_field"]
    assert len(items) == 1 and items[0].title == "Lead · Hạng" and items[0].data["lead_id"] == first.id
    assert items[0].data["changes"] == {"tier": {"before": None, "after": "vang"}}
    handlers.follow_merge(session, DomainEvent(id=1, topic="profile.merged", aggregate_type="profile",
                                               aggregate_id=str(first.profile_id), created_at=utcnow(), payload={
                                                   "survivor_id": first.profile_id,
                                                   "absorbed_id": second.profile_id}))
    session.commit()
    assert session.get(Lead, second.id) is None
    assert service.lead_values(session, lead_ids=[first.id])[first.id]["tier"] == "vang"  # the survivor's wins
    assert service.lead_values(session, lead_ids=[first.id])[first.id]["spend"] == 5
    assert session.scalars(select(CustomFieldValue).where(CustomFieldValue.entity_id == second.id,
                                                          CustomFieldValue.entity == "lead")).all() == []
    assert session.scalar(select(CustomFieldChange.entity_id).where(
        CustomFieldChange.changes.is_not(None), CustomFieldChange.entity == "lead",
        CustomFieldChange.actor == ACTOR).order_by(CustomFieldChange.id.desc())) == first.id


def test_customers_are_found_by_a_condition_on_their_leads_fields(session: Session) -> None:
    shop_fields(session, entity="lead")
    rich = service.capture(session, source=SourceKind.api, phone="0918000001", custom_values={"spend": 50_000_000},
                           actor=ACTOR).lead
    service.capture(session, source=SourceKind.api, phone="0918000002", custom_values={"spend": 1_000_000},
                    actor=ACTOR)
    clause = customers_by_lead(session, condition=Condition("spend", "between", ("10.000.000", None)),
                               profile_column=CustomerProfile.profile_id, form=True)
    refresh_customers(session, profile_ids=[rich.profile_id])
    session.commit()
    assert list(session.scalars(select(CustomerProfile.profile_id).where(clause))) == [rich.profile_id]


def test_an_imported_list_fills_lead_fields_from_columns_named_like_them(session: Session, manager: Browser) -> None:
    shop_fields(session, entity="lead")
    data = ("\n".join(["Họ tên,Số điện thoại,Chi tiêu dự kiến,tier,Ghi chú",
                       "Phạm Thu,0919000001,\"1.500.000\",vang,Gọi buổi sáng",
                       "Đỗ Hải,0919000002,không rõ,dong,"]) + "\n").encode("utf-8-sig")
    report = manager.request("POST", "/leads/import", files={"file": ("leads.csv", data, "text/csv")}).json()
    assert report["new_leads"] == 2 and report["errors"] == []
    session.rollback()
    by_phone = {lead.phone: lead.id for lead in session.scalars(select(Lead))}
    values = service.lead_values(session, lead_ids=list(by_phone.values()))
    assert values[by_phone["+84919000001"]]["spend"] == 1500000 and values[by_phone["+84919000001"]]["tier"] == "vang"
    assert values[by_phone["+84919000002"]]["spend"] is None and values[by_phone["+84919000002"]]["tier"] is None
    # "Ghi chú" is the import's own note column, kept in the raw fields as "note": the lead field of that key
    assert values[by_phone["+84919000001"]]["note"] == "Gọi buổi sáng"


def test_deleting_an_archived_field_removes_its_values(session: Session, manager: Browser, agent: Browser) -> None:
    fields = shop_fields(session, entity="lead")
    lead = service.capture(session, source=SourceKind.api, phone="0919100001", custom_values={
        "tier": "vang", "likes": ["ao", "tui"], "spend": 3}, actor=ACTOR).lead
    tier, likes = fields["tier"].id, fields["likes"].id
    assert_problem(manager.request("DELETE", f"/fields/{likes}"), 409, "field_not_archived")
    assert manager.request("POST", f"/fields/{likes}/archive").status_code == 200
    assert_problem(agent.request("DELETE", f"/fields/{likes}"), 403, "role_required")
    assert manager.request("DELETE", f"/fields/{likes}").status_code == 204
    assert_problem(manager.request("DELETE", f"/fields/{likes}"), 404, "field_not_found")
    session.rollback()
    remaining = session.scalars(select(CustomFieldValue.field_id).where(CustomFieldValue.entity_id == lead.id,
                                                                        CustomFieldValue.entity == "lead")).all()
    assert likes not in remaining and tier in remaining
    assert "likes" not in service.lead_values(session, lead_ids=[lead.id])[lead.id]
    assert session.scalar(select(audit.AuditEntry.detail).where(audit.AuditEntry.action == "field.deleted")) == {
        "entity": "lead", "key": "likes", "values": 2}
