"""The stock API: customers' availability per store, staff levels, ledger, goods in, adjustments, transfers,
buffers; bad input and missing rights get clear 4xx answers and write nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, agent, assert_problem, manager  # noqa: F401
from tests.commerce.stock.checks import assert_consistent, level
from tests.commerce.stock.conftest import make_location, make_variants
from tests.factories import make_store, make_user
from xuyen import audit
from xuyen.auth.models import Role, User
from xuyen.commerce.catalogue.models import Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import service
from xuyen.commerce.stock.models import LocationKind
from xuyen.commerce.stock.service import StockLine
from xuyen.outbox import OutboxEvent


@pytest.fixture
def shop(session: Session) -> dict[str, int]:
    shirt, cap = make_variants(session, 2)
    warehouse = make_location(session, code="KHO", kind=LocationKind.warehouse, priority=10, province="Hồ Chí Minh",
                              latitude=10.85, longitude=106.77)
    da_nang = make_location(session, code="DN", pickup=True, province="Đà Nẵng", latitude=16.05, longitude=108.2)
    return {"shirt": shirt.id, "cap": cap.id, "warehouse": warehouse.id, "da_nang": da_nang.id}


def test_a_manager_receives_and_a_customer_sees_the_stock_by_store(client: TestClient, manager: Browser,  # noqa: F811
                                                                   session: Session, shop: dict[str, int]) -> None:
    response = manager.request("POST", "/stock/receipts", json={
        "location_id": shop["da_nang"], "lines": [{"variant_id": shop["shirt"], "quantity": 4}],
        "reference": "PN-1"})
    assert response.status_code == 201, response.text
    assert response.json()[0]["on_hand_delta"] == 4
    sku = manager.request("GET", f"/stock/levels?variant_id={shop['shirt']}").json()[0]["sku"]
    answer = client.get(f"{API}/stock/availability", params={"sku": sku, "province": "da nang"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(row["code"], row["available"], row["pickup"]) for row in body["locations"]] == [
        ("DN", 4, True), ("KHO", 0, False)]
    near_saigon = client.get(f"{API}/stock/availability", params={"sku": sku, "lat": 10.77, "lng": 106.7}).json()
    assert [row["code"] for row in near_saigon["locations"]] == ["KHO", "DN"]
    assert near_saigon["locations"][0]["distance_km"] < 20
    assert_problem(client.get(f"{API}/stock/availability", params={"sku": "KHONG-CO"}), 404, "variant_not_found")
    session.get(Variant, shop["shirt"]).is_active = False  # type: ignore[union-attr]
    session.commit()
    assert_problem(client.get(f"{API}/stock/availability", params={"sku": sku}), 404, "variant_not_found")
    assert client.get(f"{API}/stock/availability", params={"sku": sku, "lat": 500}).status_code == 422


def test_adjustments_counts_transfers_and_the_ledger(manager: Browser, session: Session,  # noqa: F811
                                                     shop: dict[str, int]) -> None:
    shirt, warehouse, da_nang = shop["shirt"], shop["warehouse"], shop["da_nang"]
    manager.request("POST", "/stock/receipts", json={"location_id": warehouse,
                                                     "lines": [{"variant_id": shirt, "quantity": 10}]})
    damaged = manager.request("POST", "/stock/adjustments", json={
        "location_id": warehouse, "variant_id": shirt, "delta": -2, "reason": "Hàng lỗi"})
    assert damaged.status_code == 201, damaged.text
    counted = manager.request("POST", "/stock/adjustments", json={
        "location_id": warehouse, "variant_id": shirt, "counted": 7})
    assert [row["kind"] for row in counted.json()] == ["count"]
    sent = manager.request("POST", "/stock/transfers", json={
        "from_location_id": warehouse, "to_location_id": da_nang, "lines": [{"variant_id": shirt, "quantity": 3}]})
    assert sent.status_code == 201 and sent.json()["status"] == "in_transit"
    arrived = manager.request("POST", f"/stock/transfers/{sent.json()['id']}/receive")
    assert arrived.json()["status"] == "received"
    assert level(session, shirt, da_nang) == (3, 0)
    kinds = [row["kind"] for row in manager.request("GET", f"/stock/ledger?variant_id={shirt}").json()]
    assert kinds == ["transfer_in", "transfer_out", "count", "adjustment", "receipt"]
    by_reference = manager.request("GET", f"/stock/ledger?reference=transfer:{sent.json()['id']}").json()
    assert len(by_reference) == 2
    assert_consistent(session)


def test_buffers_and_channel_availability(manager: Browser, agent: Browser, session: Session,  # noqa: F811
                                          shop: dict[str, int]) -> None:
    manager.request("POST", "/stock/receipts", json={"location_id": shop["warehouse"],
                                                     "lines": [{"variant_id": shop["shirt"], "quantity": 5}]})
    put = manager.request("PUT", "/stock/buffers", json={"channel": "shopee", "quantity": 2})
    assert put.status_code == 200, put.text
    assert agent.request("GET", f"/stock/available?channel=shopee&variant_id={shop['shirt']}").json() == {
        str(shop["shirt"]): 3}
    assert_problem(agent.request("PUT", "/stock/buffers", json={"channel": "shopee", "quantity": 1}), 403,
                   "role_required")
    assert manager.request("PUT", "/stock/buffers", json={"channel": "ebay", "quantity": 1}).status_code == 422
    assert manager.request("DELETE", f"/stock/buffers/{put.json()['id']}").status_code == 204
    assert manager.request("GET", "/stock/buffers").json() == []
    served = manager.request("PUT", "/stock/channels/web/locations", json={"location_ids": [shop["da_nang"]]})
    assert served.json() == {"channel": "web", "rule": "configured", "location_ids": [shop["da_nang"]]}
    back = manager.request("PUT", "/stock/channels/web/locations", json={"location_ids": []}).json()
    assert back["rule"] == "default" and set(back["location_ids"]) == {shop["warehouse"], shop["da_nang"]}


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    ("/stock/receipts", {"location_id": 1, "lines": []}, 422, "validation_failed"),
    ("/stock/receipts", {"location_id": 1, "lines": [{"variant_id": 1, "quantity": 0}]}, 422, "validation_failed"),
    ("/stock/receipts", {"location_id": 1, "lines": [{"variant_id": 1, "quantity": "nhiều"}]}, 422,
     "validation_failed"),
    ("/stock/receipts", {"location_id": 999, "lines": [{"variant_id": 1, "quantity": 1}]}, 404,
     "location_not_found"),
    ("/stock/adjustments", {"location_id": 1, "variant_id": 1, "delta": -1, "counted": 3}, 422,
     "validation_failed"),
    ("/stock/adjustments", {"location_id": 1, "variant_id": 1, "delta": -1}, 422, "invalid_reason"),
    ("/stock/transfers", {"from_location_id": 1, "to_location_id": 1,
                          "lines": [{"variant_id": 1, "quantity": 1}]}, 422, "invalid_transfer"),
])
def test_bad_input_is_refused_and_writes_nothing(manager: Browser, session: Session, shop: dict[str, int],  # noqa: F811
                                                 path: str, body: dict[str, object], status: int, code: str) -> None:
    body = {key: (shop["warehouse"] if value == 1 and key.endswith("location_id") else value)
            for key, value in body.items()}
    if "variant_id" in body:
        body["variant_id"] = shop["shirt"]
    assert_problem(manager.request("POST", path, json=body), status, code)
    assert manager.request("GET", "/stock/ledger").json() == []
    assert_consistent(session)


def test_oversized_and_short_requests(manager: Browser, session: Session, shop: dict[str, int]) -> None:  # noqa: F811
    many = [{"variant_id": shop["shirt"], "quantity": 1}] * 501
    assert manager.request("POST", "/stock/receipts", json={"location_id": shop["warehouse"],
                                                            "lines": many}).status_code == 422
    short = manager.request("POST", "/stock/transfers", json={
        "from_location_id": shop["warehouse"], "to_location_id": shop["da_nang"],
        "lines": [{"variant_id": shop["shirt"], "quantity": 1}]})
    body = assert_problem(short, 409, "out_of_stock")
    assert body["details"]["shortages"] == {str(shop["shirt"]): 0}
    assert manager.request("GET", "/stock/transfers").json() == []


def test_staff_need_to_sign_in_and_store_staff_stay_in_their_store(
        client: TestClient, session: Session, shop: dict[str, int],
        browser_for: Callable[[User], Browser]) -> None:
    assert_problem(client.get(f"{API}/stock/levels"), 401, "not_authenticated")
    store = make_store(session)
    own = make_location(session, store_id=store.id)
    clerk = browser_for(make_user(session, role=Role.manager, store=store))
    line = [{"variant_id": shop["shirt"], "quantity": 1}]
    assert clerk.request("POST", "/stock/receipts", json={"location_id": own.id, "lines": line}).status_code == 201
    refused = clerk.request("POST", "/stock/receipts", json={"location_id": shop["warehouse"], "lines": line})
    assert_problem(refused, 403, "location_out_of_scope")
    assert level(session, shop["shirt"], shop["warehouse"]) == (0, 0)


def test_locations_and_reservations(manager: Browser, agent: Browser, session: Session,  # noqa: F811
                                    shop: dict[str, int]) -> None:
    store = make_store(session, code="HUE1", province="Thừa Thiên Huế")
    made = manager.request("POST", "/stock/locations", json={"code": "hue1", "name": "Cửa hàng Huế", "kind": "store",
                                                             "store_id": store.id, "pickup": True})
    assert made.status_code == 201, made.text
    assert (made.json()["code"], made.json()["province"]) == ("HUE1", "Thừa Thiên Huế")
    assert_problem(manager.request("POST", "/stock/locations", json={"code": "HUE1", "name": "Lặp",
                                                                     "kind": "store"}), 409, "location_exists")
    assert_problem(agent.request("POST", "/stock/locations", json={"code": "X", "name": "X", "kind": "store"}),
                   403, "role_required")
    assert manager.request("POST", "/stock/locations", json={"code": "Y", "name": "Y", "kind": "depot"}
                           ).status_code == 422
    codes = [row["code"] for row in agent.request("GET", "/stock/locations").json()]
    assert codes[0] == "KHO" and "HUE1" in codes
    assert_problem(agent.request("GET", "/stock/locations/999999"), 404, "location_not_found")
    manager.request("POST", "/stock/receipts", json={"location_id": shop["warehouse"],
                                                     "lines": [{"variant_id": shop["shirt"], "quantity": 3}]})
    service.reserve(session, reference="SO-77", lines=[StockLine(shop["shirt"], 2)], channel=SalesChannel.web,
                    actor="web", expires_at=None)
    session.commit()
    held = agent.request("GET", "/stock/reservations?reference=SO-77").json()
    assert [(row["quantity"], row["status"], row["location_id"]) for row in held] == [(2, "active", shop["warehouse"])]
    assert agent.request("GET", "/stock/reservations?status=expired").json() == []
    assert agent.request("GET", "/stock/reservations?status=lost").status_code == 422
    levels = agent.request("GET", "/stock/levels?search=sku").json()
    assert [(row["on_hand"], row["reserved"], row["available"]) for row in levels] == [(3, 2, 1)]


def test_a_manager_changes_and_closes_a_location(manager: Browser, agent: Browser, session: Session,  # noqa: F811
                                                 shop: dict[str, int],
                                                 browser_for: Callable[[User], Browser]) -> None:
    for place, units in (("warehouse", 5), ("da_nang", 2)):
        manager.request("POST", "/stock/receipts", json={"location_id": shop[place],
                                                         "lines": [{"variant_id": shop["shirt"], "quantity": units}]})
    available = f"/stock/available?channel=web&variant_id={shop['shirt']}"
    assert agent.request("GET", available).json()[str(shop["shirt"])] == 7
    changed = manager.request("PATCH", f"/stock/locations/{shop['da_nang']}",
                              json={"name": "Cửa hàng Hải Châu", "priority": 5, "latitude": None, "longitude": None})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["priority"], body["latitude"], body["longitude"]) == ("Cửa hàng Hải Châu", 5, None, None)
    assert [row["code"] for row in agent.request("GET", "/stock/locations").json()][:2] == ["DN", "KHO"]

    session.rollback()
    events_before = _available_changed_count(session)
    closed = manager.request("PATCH", f"/stock/locations/{shop['warehouse']}", json={"is_active": False})
    assert closed.json()["is_active"] is False
    assert agent.request("GET", available).json()[str(shop["shirt"])] == 2  # only the open store's stock is offered
    session.rollback()
    assert _available_changed_count(session) == events_before + 1
    made = service.reserve(session, reference="SO-DN", lines=[StockLine(shop["shirt"], 2)], channel=SalesChannel.web,
                           actor="web", expires_at=None)
    assert [row.location_id for row in made] == [shop["da_nang"]]
    session.rollback()
    assert level(session, shop["shirt"], shop["warehouse"]) == (5, 0)  # closing keeps the stock where it is
    entries = [(entry.actor, entry.detail) for entry in audit.list_entries(
        session, subject_type="stock_location", subject_id=shop["warehouse"])]
    assert len(entries) == 1 and entries[0][1] == {"is_active": False}


def test_changing_a_location_refuses_bad_input_and_strangers(manager: Browser, agent: Browser,  # noqa: F811
                                                              session: Session, shop: dict[str, int],
                                                              browser_for: Callable[[User], Browser]) -> None:
    url = f"/stock/locations/{shop['da_nang']}"
    before = agent.request("GET", url).json()
    for body in ({"latitude": 16.0}, {"priority": -1}, {"priority": 10_001}, {"name": ""}, {"code": "NEW"},
                 {"latitude": 91, "longitude": 0}, {"name": "x" * 201}):
        assert manager.request("PATCH", url, json=body).status_code == 422, body
    assert_problem(manager.request("PATCH", "/stock/locations/999999", json={"priority": 1}), 404,
                   "location_not_found")
    assert_problem(agent.request("PATCH", url, json={"priority": 1}), 403, "role_required")
    store = make_store(session, code="HN1")
    own = make_location(session, code="HN", store_id=store.id)
    clerk = browser_for(make_user(session, role=Role.manager, store=store))
    assert_problem(clerk.request("PATCH", url, json={"is_active": False}), 403, "location_out_of_scope")
    assert clerk.request("PATCH", f"/stock/locations/{own.id}", json={"pickup": True}).json()["pickup"] is True
    session.rollback()
    assert agent.request("GET", url).json() == before
    assert audit.list_entries(session, subject_type="stock_location", subject_id=shop["da_nang"]) == []


def _available_changed_count(session: Session) -> int:
    return len(session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "stock.available_changed")).all())
