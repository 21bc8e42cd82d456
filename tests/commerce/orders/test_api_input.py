"""The orders API refuses bad input clearly and writes nothing: unsigned callers, malformed bodies, unknown
orders, forbidden roles and stores."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem
from tests.factories import make_store, make_user
from xuyen.auth.models import Role, User
from xuyen.commerce.orders.models import Order

CART = {"lines": [{"sku": "AO-DEN-M", "quantity": 1}], "customer": {"phone": "0912345678"},
        "payments": [{"method": "cod"}]}


def _no_orders(session: Session) -> None:
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_signed_out_callers_are_refused(client: TestClient, session: Session) -> None:
    assert_problem(client.post(f"{API}/checkout", json=CART), 401, "not_authenticated")
    assert_problem(client.get(f"{API}/orders"), 401, "not_authenticated")
    _no_orders(session)


@pytest.mark.parametrize("body", [
    {**CART, "lines": []},
    {**CART, "lines": [{"sku": "AO-DEN-M", "quantity": 0}]},
    {**CART, "lines": [{"sku": "AO-DEN-M", "quantity": 1000}]},
    {**CART, "lines": [{"sku": "", "quantity": 1}]},
    {**CART, "payments": [{"method": "bitcoin"}]},
    {**CART, "payments": [{"method": "cash", "amount": -1}]},
    {**CART, "shipping_fee": -5},
    {**CART, "surprise": True},
    {**CART, "lines": [{"sku": "X" * 65, "quantity": 1}]},
    {**CART, "lines": [{"sku": f"S{i}", "quantity": 1} for i in range(101)]},
])
def test_malformed_checkouts_are_refused(agent: Browser, session: Session, body: dict[str, object]) -> None:
    assert_problem(agent.request("POST", "/checkout", json=body), 422, "validation_failed")
    _no_orders(session)


def test_an_unknown_order_is_404(agent: Browser) -> None:
    assert_problem(agent.request("GET", "/orders/999999"), 404, "order_not_found")
    assert_problem(agent.request("POST", "/orders/999999/cancel", json={"reason": "khách đổi ý"}), 404,
                   "order_not_found")


def test_only_managers_record_refunds_paid(agent: Browser) -> None:
    assert_problem(agent.request("POST", "/refunds/1/paid", json={}), 403, "role_required")


def test_staff_of_one_store_cannot_sell_in_another(session: Session,
                                                     browser_for: Callable[[User], Browser]) -> None:
    mine, other = make_store(session), make_store(session)
    clerk = browser_for(make_user(session, role=Role.agent, store=mine))
    body = {"store_id": other.id, "lines": [{"sku": "AO-DEN-M", "quantity": 1}], "payments": [{"method": "cash"}]}
    assert_problem(clerk.request("POST", "/pos/sales", json=body), 403, "other_store")
    _no_orders(session)


def test_an_empty_list_of_orders(agent: Browser) -> None:
    response = agent.request("GET", "/orders", params={"channel": "web", "since": "2026-11-01"})
    assert response.status_code == 200, response.text
    assert response.json() == {"total": 0, "orders": []}
    assert_problem(agent.request("GET", "/orders", params={"channel": "fax"}), 422, "validation_failed")
