"""Custom fields of deals: set on create (required ones enforced) and edit through the deals API, read on every
answer, filtered on the list, exported as CSV under the sales scope rule, and on the customer timeline."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.factories import make_store, make_user
from tests.fields.helpers import ACTOR, shop_fields
from tests.sales.deals.support import customer
from xuyen import audit
from xuyen.auth.models import Role, User
from xuyen.customers.timeline import read_timeline
from xuyen.fields import service as field_service
from xuyen.fields.models import CustomFieldValue
from xuyen.sales.deals.models import Deal


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_a_deal_is_opened_with_its_custom_fields_and_edited(session: Session, agent: Browser) -> None:
    shop_fields(session, entity="deal")
    profile = customer(session)
    created = agent.request("POST", "/deals", json={
        "title": "Đồng phục", "profile_id": profile, "value": 5_000_000,
        "custom_fields": {"tier": "vang", "likes": ["tui"], "joined": "2026-12-01"}})
    assert created.status_code == 201, created.text
    deal = created.json()
    assert deal["custom_fields"] == {"note": None, "spend": None, "joined": "2026-12-01", "tier": "vang",
                                     "likes": ["tui"]}
    edited = agent.request("PATCH", f"/deals/{deal['id']}", json={"title": "Đồng phục 2027",
                                                                  "custom_fields": {"spend": 2.5, "likes": []}})
    assert edited.status_code == 200, edited.text
    assert edited.json()["custom_fields"]["spend"] == 2.5 and edited.json()["custom_fields"]["likes"] == []
    listed = agent.request("GET", "/deals").json()["items"]
    assert listed[0]["custom_fields"]["tier"] == "vang"
    items = [item for item in read_timeline(session, profile_ids=[profile], cursor=None, limit=50).items
             if item.kind == "deal_field"]
    assert [item.title for item in items] == ["Đồng phục 2027 · Chi tiêu dự kiến, Sở thích",
                                              "Đồng phục 2027 · Ngày tham gia, Hạng, Sở thích"]
    assert items[0].data["deal_id"] == deal["id"]


def test_bad_values_and_missing_required_fields_save_nothing(session: Session, agent: Browser) -> None:
    shop_fields(session, entity="deal")
    field_service.define_field(session, entity="deal", label_vi="Hình thức thanh toán", kind="choice",
                               key="thanh_toan", required=True, actor=ACTOR,
                               options=[field_service.OptionSpec("tien_mat", "Tiền mặt"),
                                        field_service.OptionSpec("chuyen_khoan", "Chuyển khoản")])
    profile = customer(session)
    missing = agent.request("POST", "/deals", json={"title": "A", "profile_id": profile})
    assert assert_problem(missing, 422, "invalid_custom_fields")["details"]["fields"] == {
        "thanh_toan": "Hình thức thanh toán (thanh_toan) is required"}
    bad = agent.request("POST", "/deals", json={"title": "A", "profile_id": profile, "custom_fields": {
        "thanh_toan": "the_tin_dung", "spend": "1.500.000", "mau": "đỏ"}})
    assert set(assert_problem(bad, 422, "invalid_custom_fields")["details"]["fields"]) == {
        "thanh_toan", "spend", "mau"}
    session.rollback()
    assert session.scalars(select(Deal)).all() == [] and session.scalars(select(CustomFieldValue)).all() == []
    deal = agent.request("POST", "/deals", json={"title": "A", "profile_id": profile,
                                                 "custom_fields": {"thanh_toan": "tien_mat"}}).json()
    refused = agent.request("PATCH", f"/deals/{deal['id']}", json={"title": "B", "custom_fields": {
        "thanh_toan": None}})
    assert_problem(refused, 422, "invalid_custom_fields")
    assert agent.request("GET", f"/deals/{deal['id']}").json()["title"] == "A"


def test_the_deals_list_filters_and_exports_within_the_scope(
        session: Session, owner: Browser, browser_for: Callable[[User], Browser]) -> None:
    shop_fields(session, entity="deal")
    profile = customer(session)
    hanoi, saigon = make_store(session, code="HN"), make_store(session, code="SG")
    made = {}
    for title, store, spend in (("Hà Nội", hanoi, 1_500_000), ("Sài Gòn", saigon, 9_000_000),
                                ("Hà Nội 2", hanoi, None)):
        answer = owner.request("POST", "/deals", json={"title": title, "profile_id": profile, "store_id": store.id,
                                                       "custom_fields": {"spend": spend, "tier": "bac"}})
        assert answer.status_code == 201, answer.text
        made[title] = answer.json()["id"]
    found = owner.request("GET", "/deals", params=[("field", "spend:between:1000000..2000000")]).json()
    assert [deal["id"] for deal in found["items"]] == [made["Hà Nội"]] and found["total"] == 1
    unset = owner.request("GET", "/deals", params={"field": "spend:is_set:no"}).json()
    assert [deal["id"] for deal in unset["items"]] == [made["Hà Nội 2"]]
    assert_problem(owner.request("GET", "/deals?field=tier:between:1..2"), 422, "invalid_condition")
    assert_problem(owner.request("GET", "/deals?field=colour:any_of:do"), 422, "unknown_field")
    branch = browser_for(make_user(session, role=Role.manager, store=hanoi))
    header, *rows = _rows(branch.request("GET", "/deals/export.csv").content)
    assert header[0] == "deal_id" and header[-5:] == ["Ghi chú (note)", "Chi tiêu dự kiến (spend)",
                                                      "Ngày tham gia (joined)", "Hạng (tier)", "Sở thích (likes)"]
    assert sorted(row[1] for row in rows) == ["Hà Nội", "Hà Nội 2"]
    by_title = {row[1]: row for row in rows}
    assert by_title["Hà Nội"][-4] == "1.500.000" and by_title["Hà Nội"][-2] == "bac"
    filtered = _rows(owner.request("GET", "/deals/export.csv?field=spend:between:5000000..").content)
    assert [row[1] for row in filtered[1:]] == ["Sài Gòn"]
    agent = browser_for(make_user(session, store=hanoi))
    assert_problem(agent.request("GET", "/deals/export.csv"), 403, "role_required")
    session.rollback()
    assert session.scalar(select(audit.AuditEntry.detail).where(audit.AuditEntry.action == "deals.exported"))
