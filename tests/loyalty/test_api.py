"""The loyalty API: balances and ledger, the POS's look-up, redemption and top-up with idempotency keys, the
programme's management for managers only; bad input and missing rights get a clear 4xx and write nothing."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.factories import make_user
from tests.loyalty.conftest import make_customer, standard_programme
from xuyen.auth.models import Role, User
from xuyen.auth.service import create_api_key
from xuyen.loyalty import service
from xuyen.loyalty.models import Posting


def _postings(session: Session) -> int:
    session.rollback()
    return int(session.scalar(select(func.count()).select_from(Posting)) or 0)


def test_the_till_finds_the_customer_tops_up_and_spends_once_per_key(
        session: Session, browser_for: Callable[[User], Browser]) -> None:
    standard_programme(session)
    lan = make_customer(session, phone="0912345678", card="LC-7788")
    till = browser_for(make_user(session, role=Role.agent))
    found = till.request("GET", "/loyalty/lookup", params={"phone": "+84 912 345 678"})
    assert found.status_code == 200, found.text
    assert found.json()["profile_id"] == lan and found.json()["tier"] == "member"
    assert till.request("GET", "/loyalty/lookup", params={"card": "lc7788"}).json()["profile_id"] == lan

    topped = till.request("POST", f"/loyalty/{lan}/top-ups", json={"amount": 500_000, "payment_method": "momo"},
                          headers={"Idempotency-Key": "NAP-0001"})
    assert topped.status_code == 201, topped.text
    body = {"account": "stored_value", "amount": 120_000}
    first = till.request("POST", f"/loyalty/{lan}/redemptions", json=body, headers={"Idempotency-Key": "HD-1"})
    again = till.request("POST", f"/loyalty/{lan}/redemptions", json=body, headers={"Idempotency-Key": "HD-1"})
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    other = till.request("POST", f"/loyalty/{lan}/redemptions", json={**body, "amount": 5},
                         headers={"Idempotency-Key": "HD-1"})
    assert_problem(other, 409, "idempotency_key_reused")
    short = till.request("POST", f"/loyalty/{lan}/redemptions", json={"account": "points", "amount": 1},
                         headers={"Idempotency-Key": "HD-2"})
    assert_problem(short, 409, "insufficient_balance")

    loyalty = till.request("GET", f"/loyalty/{lan}").json()
    assert (loyalty["stored_value"], loyalty["points"]) == (380_000, 0)
    assert [entry["kind"] for entry in loyalty["entries"]] == ["redeem", "top_up"]
    assert [entry["reference"] for entry in till.request("GET", f"/loyalty/{lan}/entries",
                                                         params={"limit": 1}).json()] == ["HD-1"]


def test_bad_requests_are_refused_and_write_nothing(session: Session,
                                                    browser_for: Callable[[User], Browser]) -> None:
    lan = make_customer(session)
    till = browser_for(make_user(session, role=Role.agent))
    key = {"Idempotency-Key": "K1"}
    cases = [
        ("POST", f"/loyalty/{lan}/redemptions", {"account": "points", "amount": -1}, key, 422),
        ("POST", f"/loyalty/{lan}/redemptions", {"account": "points", "amount": "12"}, key, 422),
        ("POST", f"/loyalty/{lan}/redemptions", {"account": "cash", "amount": 1}, key, 422),
        ("POST", f"/loyalty/{lan}/redemptions", {"account": "points", "amount": 1, "extra": 1}, key, 422),
        ("POST", f"/loyalty/{lan}/redemptions", {"account": "points", "amount": 1}, {}, 422),
        ("POST", f"/loyalty/{lan}/top-ups", {"amount": 10**13, "payment_method": "cash"}, key, 422),
        ("POST", f"/loyalty/{lan}/top-ups", {"amount": 1000, "payment_method": "Tiền mặt"}, key, 422),
        ("POST", f"/loyalty/{lan}/top-ups", {"amount": 1000, "payment_method": "cash"},
         {"Idempotency-Key": "x" * 201}, 422),
        ("POST", "/loyalty/987654/top-ups", {"amount": 1000, "payment_method": "cash"}, key, 404),
        ("GET", "/loyalty/0", None, {}, 422),
        ("GET", "/loyalty/lookup", None, {}, 422),
    ]
    for method, path, body, headers, status in cases:
        response = till.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (path, body, response.text)
    assert_problem(till.request("GET", "/loyalty/lookup", params={"phone": "0987000111"}), 404, "customer_not_found")
    assert _postings(session) == 0


def test_only_managers_change_the_programme_and_refund(session: Session, client: TestClient,
                                                       browser_for: Callable[[User], Browser]) -> None:
    lan = make_customer(session)
    agent = browser_for(make_user(session, role=Role.agent))
    manager = browser_for(make_user(session, role=Role.manager))
    tier = {"code": "gold", "name": "Vàng", "min_spend": 15_000_000}
    assert_problem(agent.request("POST", "/loyalty/tiers", json=tier), 403, "role_required")
    assert_problem(agent.request("PATCH", "/loyalty/settings", json={"point_value": 1000}), 403, "role_required")
    assert_problem(agent.request("POST", f"/loyalty/{lan}/refunds", json={"account": "points", "amount": 5},
                                 headers={"Idempotency-Key": "R1"}), 403, "role_required")
    assert_problem(client.get(f"{API}/loyalty/{lan}"), 401, "not_authenticated")

    created = manager.request("POST", "/loyalty/tiers", json=tier)
    assert created.status_code == 201, created.text
    assert_problem(manager.request("POST", "/loyalty/tiers", json={**tier, "code": "vang"}), 409,
                   "tier_threshold_taken")
    rule = manager.request("POST", "/loyalty/rules", json={"name": "Vàng x2", "multiplier_percent": 200,
                                                           "tier_code": "gold"})
    assert rule.status_code == 201, rule.text
    assert_problem(manager.request("POST", "/loyalty/rules", json={"name": "Sai", "multiplier_percent": 150,
                                                                   "channel": "fax"}), 422, "invalid_channel")
    assert_problem(manager.request("DELETE", f"/loyalty/tiers/{created.json()['id']}"), 409, "tier_in_use")
    changed = manager.request("PATCH", "/loyalty/settings", json={"point_value": 1000, "expiry_mode": "months",
                                                                  "expiry_months": 18})
    assert changed.status_code == 200 and changed.json()["expiry_months"] == 18
    assert_problem(manager.request("PATCH", "/loyalty/settings", json={"expiry_months": 0}), 422, "invalid_setting")
    assert agent.request("GET", "/loyalty/rules").json()[0]["tier_code"] == "gold"
    refunded = manager.request("POST", f"/loyalty/{lan}/refunds", json={"account": "points", "amount": 5},
                               headers={"Idempotency-Key": "R1"})
    assert refunded.status_code == 201, refunded.text
    assert service.balances(session, profile_id=lan).points == 5


def test_an_api_key_of_a_till_reads_and_spends(session: Session, client: TestClient) -> None:
    lan = make_customer(session)
    service.top_up(session, profile_id=lan, amount=50_000, reference="N1", actor="a", payment_method="cash")
    _row, key = create_api_key(session, name="POS Quận 1", role=Role.agent)
    spent = client.post(f"{API}/loyalty/{lan}/redemptions", json={"account": "stored_value", "amount": 50_000},
                        headers={**bearer(key), "Idempotency-Key": "POS1-0009"})
    assert spent.status_code == 201, spent.text
    assert client.get(f"{API}/loyalty/{lan}", headers=bearer(key)).json()["stored_value"] == 0
