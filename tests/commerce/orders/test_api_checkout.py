"""Checkout through the API: the answer is the order; out of stock is a 409 that says what is short and writes
nothing; two customers racing for the last unit on PostgreSQL: one order, one 409."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.commerce.orders.support import level, make_shop
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.commerce.orders import service


def _cart(sku: str, quantity: int, phone: str = "0912345678", method: str = "cod") -> dict[str, object]:
    return {"lines": [{"sku": sku, "quantity": quantity}], "customer": {"name": "Trần Văn Nam", "phone": phone},
            "payments": [{"method": method}], "shipping_fee": 25_000,
            "shipping_address": {"address": "5 Hàng Bài", "province": "Hà Nội"}}


def test_a_checkout_answers_the_order_and_moves_it_along(agent: Browser, session: Session) -> None:
    shop = make_shop(session)
    response = agent.request("POST", "/checkout", json=_cart("AO-DEN-M", 2))
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["status"], order["channel"], order["total"]) == ("placed", "web", 2 * 199_000 + 25_000)
    (line,) = order["lines"]
    assert (line["sku"], line["quantity"], line["total"]) == ("AO-DEN-M", 2, 398_000)
    assert line["vat_rate"] in ("8", "10") and line["net_amount"] + line["vat_amount"] == line["total"]
    assert order["history"][0]["to_status"] == "placed"
    moved = agent.request("POST", f"/orders/{order['id']}/status", json={"status": "shipped"})
    assert moved.status_code == 200 and moved.json()["status"] == "shipped"
    assert_problem(agent.request("POST", f"/orders/{order['id']}/status", json={"status": "fulfilling"}), 409,
                   "illegal_transition")
    listed = agent.request("GET", "/orders", params={"status": "shipped"}).json()
    assert [o["number"] for o in listed["orders"]] == [order["number"]]
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (8, 0)


def test_out_of_stock_is_a_409_with_the_shortages_and_writes_nothing(agent: Browser, session: Session) -> None:
    shop = make_shop(session, stock=1, hanoi_stock=0)
    body = assert_problem(agent.request("POST", "/checkout", json=_cart("SOMI-M", 2)), 409, "out_of_stock")
    assert body["details"]["shortages"] == {str(shop.variants["SOMI-M"]): 1}
    session.rollback()
    assert service.list_orders(session)[1] == 0
    assert level(session, variant_id=shop.variants["SOMI-M"], location_id=shop.warehouse) == (1, 0)


def test_an_unknown_sku_is_refused(agent: Browser, session: Session) -> None:
    make_shop(session)
    response = agent.request("POST", "/checkout", json=_cart("KHONG-CO", 1))
    assert response.status_code in (404, 422), response.text
    session.rollback()
    assert service.list_orders(session)[1] == 0


@pytest.mark.postgres_only
def test_two_customers_racing_for_the_last_unit_one_wins(client: TestClient, session: Session) -> None:
    shop = make_shop(session, stock=1, hanoi_stock=0)
    _row, key = auth_service.create_api_key(session, name="web shop", role=Role.agent)
    start = threading.Barrier(2)
    answers: list[int] = []
    lock = threading.Lock()

    def buy(phone: str) -> None:
        start.wait()
        response = client.post(f"{API}/checkout", json=_cart("AO-DEN-M", 1, phone=phone), headers=bearer(key))
        with lock:
            answers.append(response.status_code)

    threads = [threading.Thread(target=buy, args=(phone,)) for phone in ("0912000001", "0912000002")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 409]
    assert level(session, variant_id=shop.variants["AO-DEN-M"], location_id=shop.warehouse) == (1, 1)
    session.rollback()
    assert service.list_orders(session)[1] == 1
