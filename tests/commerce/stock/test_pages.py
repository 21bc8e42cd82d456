"""The stock pages: the grid, a variant's ledger, the goods-in / adjustment / transfer forms and the buffers."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api_client import Browser, agent, manager  # noqa: F401
from tests.commerce.stock.checks import assert_consistent, level
from tests.commerce.stock.conftest import make_location, make_variants
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.stock import locations
from xuyen.commerce.stock.models import LocationKind

HTML = {"Accept": "text/html"}


def get(browser: Browser, path: str) -> httpx.Response:
    return browser.client.get(path, headers=HTML, follow_redirects=False)


def post(browser: Browser, path: str, data: dict[str, object]) -> httpx.Response:
    return browser.client.post(path, data={"csrf_token": browser.csrf, **data}, headers=HTML,  # type: ignore[arg-type]
                               follow_redirects=False)


def test_a_manager_books_goods_in_adjusts_and_transfers_then_everyone_sees_the_grid(
        manager: Browser, agent: Browser, session: Session) -> None:  # noqa: F811
    shirt, = make_variants(session, name="Áo sơ mi")
    warehouse = make_location(session, code="KHO", kind=LocationKind.warehouse, priority=10)
    store = make_location(session, code="Q1")
    assert get(manager, "/stock/moves").status_code == 200
    booked = post(manager, "/stock/moves/receive", {"location_id": warehouse.id, "sku": shirt.sku, "quantity": "12",
                                                    "reference": "PN-9"})
    assert booked.status_code == 303, booked.text
    assert post(manager, "/stock/moves/adjust", {"location_id": warehouse.id, "sku": shirt.barcode, "mode": "delta",
                                                 "quantity": "-2", "reason": "Rách"}).status_code == 303
    assert post(manager, "/stock/moves/transfer", {"from_location_id": warehouse.id, "to_location_id": store.id,
                                                   "sku": shirt.sku, "quantity": "4"}).status_code == 303
    page = get(manager, "/stock/moves")
    assert "Nhận hàng" in page.text or "Book arrival" in page.text
    transfer_id = manager.request("GET", "/stock/transfers").json()[0]["id"]
    assert post(manager, f"/stock/transfers/{transfer_id}/receive", {}).status_code == 303
    assert level(session, shirt.id, store.id) == (4, 0)
    grid = get(agent, "/stock?q=sơ mi")
    assert grid.status_code == 200 and shirt.sku in grid.text and "Q1" in grid.text
    assert shirt.sku not in get(agent, "/stock?q=quần").text
    ledger = get(agent, f"/stock/variants/{shirt.id}")
    assert ledger.status_code == 200 and "PN-9" in ledger.text and "Rách" in ledger.text
    assert get(agent, "/stock/variants/999999").status_code == 404
    assert_consistent(session)


def test_the_forms_refuse_bad_input_and_write_nothing(manager: Browser, session: Session) -> None:  # noqa: F811
    shirt, = make_variants(session)
    warehouse = make_location(session, kind=LocationKind.warehouse)
    for data in ({"location_id": warehouse.id, "sku": shirt.sku, "quantity": "nhiều"},
                 {"location_id": warehouse.id, "sku": "KHONG-CO", "quantity": "1"},
                 {"location_id": "", "sku": shirt.sku, "quantity": "1"}):
        answer = post(manager, "/stock/moves/receive", data)
        assert 400 <= answer.status_code < 500 and 'role="alert"' in answer.text
    short = post(manager, "/stock/moves/adjust", {"location_id": warehouse.id, "sku": shirt.sku, "mode": "delta",
                                                  "quantity": "-1", "reason": "Mất"})
    assert short.status_code == 409
    assert manager.request("GET", "/stock/ledger").json() == []


def test_buffers_page_and_rights(manager: Browser, agent: Browser, client: TestClient,  # noqa: F811
                                 session: Session) -> None:
    shirt, = make_variants(session)
    assert post(manager, "/stock/buffers", {"channel": "shopee", "quantity": "2"}).status_code == 303
    assert post(manager, "/stock/buffers", {"channel": "lazada", "sku": shirt.sku, "quantity": "1"}).status_code == 303
    assert post(manager, "/stock/buffers", {"channel": "ebay", "quantity": "1"}).status_code == 400
    page = get(manager, "/stock/buffers")
    assert page.status_code == 200 and "Shopee" in page.text and shirt.sku in page.text
    buffer_id = manager.request("GET", "/stock/buffers").json()[0]["id"]
    assert post(manager, f"/stock/buffers/{buffer_id}/delete", {}).status_code == 303
    assert len(manager.request("GET", "/stock/buffers").json()) == 1
    assert get(agent, "/stock/buffers").status_code == 403
    assert post(agent, "/stock/moves/receive", {"sku": shirt.sku}).status_code == 403
    assert client.get("/stock", headers=HTML, follow_redirects=False).status_code == 303
    forged = manager.client.post("/stock/buffers", data={"csrf_token": "wrong", "channel": "web", "quantity": "1"},
                                 headers=HTML, follow_redirects=False)
    assert forged.status_code == 403


def test_a_manager_adds_changes_and_closes_locations_and_picks_where_a_channel_sells_from(
        manager: Browser, agent: Browser, session: Session) -> None:  # noqa: F811
    warehouse = make_location(session, code="KHO", kind=LocationKind.warehouse, priority=10)
    added = post(manager, "/stock/locations", {"code": "hn1", "name": "Cửa hàng Hoàn Kiếm", "kind": "store",
                                                "province": "Hà Nội", "latitude": "21,03", "longitude": "105.85",
                                                "priority": "50", "pickup": "on"})
    assert added.status_code == 303, added.text
    store = locations.get_by_code(session, code="HN1")
    assert (store.name, store.latitude, store.ships, store.pickup) == ("Cửa hàng Hoàn Kiếm", 21.03, False, True)
    listing = get(manager, "/stock/locations")
    assert listing.status_code == 200
    assert listing.text.index("KHO") < listing.text.index("HN1")  # allocation order: priority 10 before 50
    assert get(agent, "/stock/locations").status_code == 403

    edit = get(manager, f"/stock/locations/{store.id}")
    assert edit.status_code == 200 and 'value="Cửa hàng Hoàn Kiếm"' in edit.text
    closed = post(manager, f"/stock/locations/{store.id}", {"name": "Cửa hàng Hoàn Kiếm", "priority": "5",
                                                            "latitude": "", "longitude": "", "ships": "on"})
    assert closed.status_code == 303, closed.text
    session.rollback()
    assert (store.priority, store.latitude, store.ships, store.pickup, store.is_active) == (5, None, True, False,
                                                                                           False)
    assert 'role="status"' in get(manager, f"/stock/locations/{store.id}").text  # says it is closed

    chosen = post(manager, "/stock/locations/channels/shopee", {"location_id": [str(warehouse.id)]})
    assert chosen.status_code == 303
    session.rollback()
    assert locations.channel_locations(session, channel=SalesChannel.shopee) == ("configured", [warehouse.id])
    assert post(manager, "/stock/locations/channels/shopee", {}).status_code == 303
    session.rollback()
    assert locations.channel_locations(session, channel=SalesChannel.shopee)[0] == "default"


def test_the_location_forms_refuse_bad_input_and_write_nothing(manager: Browser, session: Session) -> None:  # noqa: F811
    store = make_location(session, code="Q1", latitude=10.77, longitude=106.7)
    for data in ({"code": "", "name": "X", "kind": "store", "priority": "1"},
                 {"code": "X", "name": "X", "kind": "kiosk", "priority": "1"},
                 {"code": "X", "name": "X", "kind": "store", "priority": "một"},
                 {"code": "X", "name": "X", "kind": "store", "priority": "1", "latitude": "10"},
                 {"code": "Q1", "name": "Lặp", "kind": "store", "priority": "1"}):
        answer = post(manager, "/stock/locations", data)
        assert 400 <= answer.status_code < 500 and 'role="alert"' in answer.text, data
    assert [place.code for place in locations.list_all(session)] == ["Q1"]
    for data in ({"name": "", "priority": "1"}, {"name": "Q1", "priority": "99999"},
                 {"name": "Q1", "priority": "1", "latitude": "200", "longitude": "0"}):
        answer = post(manager, f"/stock/locations/{store.id}", data)
        assert 400 <= answer.status_code < 500 and 'role="alert"' in answer.text, data
    session.rollback()
    assert (store.priority, store.latitude, store.is_active) == (100, 10.77, True)
    assert get(manager, "/stock/locations/999999").status_code == 404
    assert post(manager, "/stock/locations/999999", {"name": "X", "priority": "1"}).status_code == 404
    assert post(manager, "/stock/locations/channels/web", {"location_id": ["abc"]}).status_code == 400
    assert post(manager, "/stock/locations/channels/fax", {}).status_code == 422
    refused = manager.client.post(f"/stock/locations/{store.id}", data={"csrf_token": "wrong", "name": "X",
                                                                        "priority": "1"}, headers=HTML)
    assert refused.status_code == 403
