"""The custom fields API, and custom fields through the customers API: read, write, filter, export."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser, agent, assert_problem, manager  # noqa: F401
from tests.fields.helpers import ACTOR, customers, shop_fields
from xuyen.fields import service
from xuyen.fields.models import CustomFieldValue

TIER = {"entity": "customer", "label_vi": "Hạng", "label_en": "Tier", "kind": "choice",
        "options": [{"key": "bac", "label_vi": "Bạc"}, {"key": "vang", "label_vi": "Vàng"}]}


def test_managers_define_change_reorder_and_archive_fields(manager: Browser, agent: Browser) -> None:  # noqa: F811
    created = manager.request("POST", "/fields", json=TIER)
    assert created.status_code == 201, created.text
    field = created.json()
    assert field["key"] == "hang" and [o["key"] for o in field["options"]] == ["bac", "vang"]
    assert_problem(manager.request("POST", "/fields", json=TIER), 409, "duplicate_field")
    assert_problem(agent.request("POST", "/fields", json={**TIER, "key": "other"}), 403, "role_required")
    spend = manager.request("POST", "/fields", json={"entity": "customer", "label_vi": "Chi tiêu", "kind": "number",
                                                     "key": "spend"}).json()
    changed = manager.request("PATCH", f"/fields/{field['id']}", json={
        "label_en": "Member tier", "required": True,
        "options": [{"key": "vang", "label_vi": "Vàng"}, {"key": "kim", "label_vi": "Kim cương"}]})
    assert changed.status_code == 200, changed.text
    assert [(o["key"], o["retired"]) for o in changed.json()["options"]] == [
        ("vang", False), ("kim", False), ("bac", True)]
    order = manager.request("POST", "/fields/order", json={"entity": "customer", "keys": ["spend", "hang"]})
    assert [f["key"] for f in order.json()] == ["spend", "hang"]
    assert manager.request("POST", f"/fields/{spend['id']}/archive").json()["archived"] is True
    assert [f["key"] for f in agent.request("GET", "/fields?entity=customer").json()] == ["hang"]
    assert len(agent.request("GET", "/fields?entity=customer&archived=true").json()) == 2
    assert manager.request("PATCH", f"/fields/{spend['id']}", json={"archived": False}).json()["archived"] is False
    assert_problem(manager.request("PATCH", "/fields/999", json={"required": False}), 404, "field_not_found")
    assert_problem(manager.request("POST", "/fields", json={**TIER, "key": "x", "kind": "colour"}), 422,
                   "unknown_kind")
    assert_problem(manager.request("POST", "/fields", json={**TIER, "key": "x", "entity": "order"}), 422,
                   "unknown_entity")


def test_a_customers_custom_fields_are_read_and_written_by_key(session: Session, agent: Browser) -> None:  # noqa: F811
    shop_fields(session)
    [customer] = customers(session, 1)
    saved = agent.request("PATCH", f"/customers/{customer}", json={"custom_fields": {
        "spend": 1500000, "joined": "2026-12-25", "tier": "vang", "likes": ["giay", "ao"], "note": "Khách VIP"}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["custom_fields"] == {"note": "Khách VIP", "spend": 1500000, "joined": "2026-12-25",
                                             "tier": "vang", "likes": ["ao", "giay"]}
    read = agent.request("GET", f"/customers/{customer}").json()
    assert read["custom_fields"]["likes"] == ["ao", "giay"]
    assert "traits" in read and "consents" in read


def test_bad_values_through_the_api_save_nothing(session: Session, agent: Browser) -> None:  # noqa: F811
    shop_fields(session)
    [customer] = customers(session, 1)
    refused = agent.request("PATCH", f"/customers/{customer}", json={"custom_fields": {
        "note": "ổn", "spend": "1.500.000", "joined": "25/12/2026", "colour": "đỏ", "likes": ["xe"]}})
    body = assert_problem(refused, 422, "invalid_custom_fields")
    assert "Chi tiêu dự kiến (spend)" in body["detail"]
    session.rollback()
    assert session.scalars(select(CustomFieldValue)).all() == []
    assert_problem(agent.request("PATCH", "/customers/999999", json={"custom_fields": {}}), 404,
                   "customer_not_found")


def test_the_customer_search_filters_on_custom_fields(session: Session, agent: Browser) -> None:  # noqa: F811
    shop_fields(session)
    first, second, third = customers(session, 3)
    for customer, spend, likes in ((first, 9, ["ao"]), (second, 100, ["giay"]), (third, 1000, ["ao", "tui"])):
        service.set_values(session, entity="customer", entity_id=customer, form=False, actor=ACTOR,
                           values={"spend": spend, "likes": likes})
    found = agent.request("GET", "/customers", params=[("field", "spend:between:10.."), ("field", "likes:any_of:ao"),
                                                       ("custom_fields", "true")])
    assert found.status_code == 200, found.text
    assert [row["profile_id"] for row in found.json()] == [third]
    assert found.json()[0]["custom_fields"]["spend"] == 1000
    plain = agent.request("GET", "/customers").json()
    assert len(plain) == 3 and plain[0]["custom_fields"] is None
    assert_problem(agent.request("GET", "/customers", params={"field": "spend:contains:1"}), 422,
                   "invalid_condition")
    assert_problem(agent.request("GET", "/customers", params={"field": "colour:equals:x"}), 422, "unknown_field")


def test_the_customer_csv_has_a_column_per_custom_field(session: Session, manager: Browser,  # noqa: F811
                                                        agent: Browser) -> None:  # noqa: F811
    shop_fields(session)
    first, second = customers(session, 2)
    service.set_values(session, entity="customer", entity_id=first, form=True, actor=ACTOR, values={
        "spend": "1.500.000,5", "joined": "05/01/2026", "likes": ["ao", "tui"], "tier": "vang"})
    exported = manager.request("GET", "/customers/export.csv", params={"field": "tier:equals:vang"})
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [int(row["profile_id"]) for row in rows] == [first]
    assert rows[0]["Chi tiêu dự kiến (spend)"] == "1.500.000,5"
    assert rows[0]["Ngày tham gia (joined)"] == "05/01/2026"
    assert rows[0]["Sở thích (likes)"] == "ao; tui"
    everyone = manager.request("GET", "/customers/export.csv")
    assert len(list(csv.DictReader(io.StringIO(everyone.content.decode("utf-8-sig"))))) == 2
    assert_problem(agent.request("GET", "/customers/export.csv"), 403, "role_required")
    assert second
