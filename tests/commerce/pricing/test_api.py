"""The pricing API: the quote for any channel (staff and API keys), bad requests refused clearly with nothing
written, and the management endpoints for managers and owners only."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.commerce.pricing.support import Shop
from tests.factories import make_store
from xuyen.auth import service as auth_service
from xuyen.auth.models import ApiKey, Role
from xuyen.commerce.pricing.models import PricingVersion, Promotion
from xuyen.outbox import OutboxEvent

CART = {"lines": [{"sku": "AO-1", "quantity": 2}, {"sku": "AO-2", "quantity": 1}],
        "at": "2026-11-20T10:00:00+07:00"}


def _quote(browser: Browser, **body: Any) -> dict[str, Any]:
    response = browser.request("POST", "/quote", json={"channel": "web", **CART, **body})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_the_same_cart_costs_the_same_on_every_channel(agent: Browser, manager: Browser, shop: Shop) -> None:
    made = manager.request("POST", "/pricing/promotions", json={"name": "Giảm 10%", "kind": "percent",
                                                                "params": {"percent": 10}})
    assert made.status_code == 201, made.text
    answers = {channel: _quote(agent, channel=channel) for channel in ("web", "pos", "chat", "shopee")}
    for answer in answers.values():
        answer.pop("channel")
    assert all(answer == answers["web"] for answer in answers.values())
    web = answers["web"]
    assert (web["subtotal"], web["discount_total"], web["total"]) == (747_000, 74_700, 672_300)
    assert web["lines"][0]["vat_rate"] == "8" and web["vat"][0]["rate"] == "8"
    assert web["discounts"] == [{"promotion_id": made.json()["id"], "name": "Giảm 10%", "code": None,
                                 "amount": 74_700}]
    assert sum(line["total"] for line in web["lines"]) == web["total"]


def test_a_store_code_an_api_key_and_a_coupon(client: TestClient, session: Session, manager: Browser,
                                              shop: Shop) -> None:
    store = make_store(session, code="HN01")
    manager.request("POST", "/pricing/overrides", json={"store_id": store.id, "kind": "fixed", "amount": 150_000,
                                                        "variant_id": shop.variants["AO-1"], "reason": "Xả hàng"})
    promotion = manager.request("POST", "/pricing/promotions", json={
        "name": "Mã giảm 20k", "kind": "fixed", "params": {"amount": 20_000}, "requires_coupon": True}).json()
    coupon = manager.request("POST", f"/pricing/promotions/{promotion['id']}/coupons",
                             json={"code": "giam20k", "max_uses": 10})
    assert coupon.status_code == 201 and coupon.json()["code"] == "GIAM20K"
    _, key = auth_service.create_api_key(session, name="Máy POS", role=Role.agent)
    response = client.post(f"{API}/quote", headers=bearer(key), json={
        "channel": "pos", "store_code": "hn01", "coupon_codes": ["GIAM20K"], **CART})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["store_id"] == store.id
    assert body["lines"][0]["unit_price"] == 150_000
    assert body["lines"][0]["adjustments"][0]["reason"] == "Xả hàng"
    assert body["coupons"] == [{"code": "GIAM20K", "accepted": True, "applied": True,
                                "promotion_id": promotion["id"], "reason": None, "message": None}]
    assert body["total"] == 2 * 150_000 + 349_000 - 20_000


def test_quotes_are_answered_while_a_writer_holds_the_database(client: TestClient, session: Session, engine: Engine,
                                                              db_url: str, shop: Shop) -> None:
    """A quote only reads, and so does finding its caller: on SQLite neither waits for the write lock another
    request holds; on PostgreSQL neither waits for the rows a price change holds (the key, the pricing version)."""
    _, key = auth_service.create_api_key(session, name="Máy POS", role=Role.agent)
    assert client.post(f"{API}/quote", headers=bearer(key), json={"channel": "pos", **CART}).status_code == 200
    holding, answered = threading.Event(), threading.Event()
    gave_up: list[bool] = []

    def writer() -> None:
        with engine.connect() as connection, connection.begin():  # on SQLite: BEGIN IMMEDIATE, the write lock
            connection.execute(update(PricingVersion).values(token=PricingVersion.token))
            connection.execute(select(ApiKey).with_for_update()).all()
            holding.set()
            gave_up.append(not answered.wait(timeout=30))

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(timeout=30)
    try:
        response = client.post(f"{API}/quote", headers=bearer(key), json={"channel": "pos", **CART})
    finally:
        answered.set()
        thread.join()
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 2 * 199_000 + 349_000
    assert gave_up == [False], f"the quote waited for the writer to let go ({db_url.split(':')[0]})"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"channel": "web", "lines": []}, 422, "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "AO-1", "quantity": 0}]}, 422, "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "AO-1", "quantity": -1}]}, 422, "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "AO-1", "quantity": 1000}]}, 422, "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "AO-1", "quantity": 1}] * 101}, 422, "validation_failed"),
    ({"channel": "web", "lines": [{"quantity": 1}]}, 422, "validation_failed"),
    ({"channel": "fax", "lines": [{"sku": "AO-1", "quantity": 1}]}, 422, "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "AO-1", "quantity": 1}], "at": "2026-11-20T10:00:00"}, 422,
     "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "AO-1", "quantity": 1}], "coupon_codes": ["X" * 65]}, 422,
     "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "AO-1", "quantity": 1}], "surprise": True}, 422, "validation_failed"),
    ({"channel": "web", "lines": [{"sku": "KHONG-CO", "quantity": 1}]}, 422, "unknown_sku"),
    ({"channel": "pos", "store_code": "NOWHERE", "lines": [{"sku": "AO-1", "quantity": 1}]}, 404, "store_not_found"),
    ({"channel": "web", "customer": {"type": "phone", "value": "0912345678"},
      "lines": [{"sku": "AO-1", "quantity": 1}]}, 404, "profile_not_found"),
])
def test_bad_quote_requests_are_refused_clearly(agent: Browser, shop: Shop, body: dict[str, Any], status: int,
                                                code: str) -> None:
    assert_problem(agent.request("POST", "/quote", json=body), status, code)


def test_malformed_or_unauthorised_quote_requests(client: TestClient, agent: Browser, shop: Shop) -> None:
    malformed = agent.request("POST", "/quote", content=b'{"channel": "web", "lines": [',
                              headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422 and malformed.headers["content-type"].startswith("application/problem")
    assert_problem(client.post(f"{API}/quote", json={"channel": "web", **CART}), 401, "not_authenticated")
    assert_problem(client.post(f"{API}/quote", headers=bearer("xk_nope_nope"), json={"channel": "web", **CART}),
                   401, "invalid_api_key")


def test_only_managers_manage_prices_and_only_owners_change_vat(session: Session, agent: Browser,
                                                                manager: Browser, owner: Browser,
                                                                shop: Shop) -> None:
    promotion = {"name": "Giảm 10%", "kind": "percent", "params": {"percent": 10}}
    assert_problem(agent.request("POST", "/pricing/promotions", json=promotion), 403, "role_required")
    assert_problem(agent.request("GET", "/pricing/promotions"), 403, "role_required")
    rate = {"tax_class": "standard", "rate": "9", "valid_from": "2027-07-01", "valid_until": "2027-12-31"}
    assert_problem(manager.request("POST", "/pricing/vat-rates", json=rate), 403, "role_required")
    added = owner.request("POST", "/pricing/vat-rates", json=rate)
    assert added.status_code == 201, added.text
    assert added.json()["rate"] == "9"
    in_window = _quote(owner, at="2027-08-01T10:00:00+07:00")
    assert in_window["lines"][0]["vat_rate"] == "9"
    assert owner.request("DELETE", f"/pricing/vat-rates/{added.json()['id']}").status_code == 204
    assert _quote(owner, at="2027-08-01T10:00:00+07:00")["lines"][0]["vat_rate"] == "10"
    assert session.scalar(select(func.count()).select_from(Promotion)) == 0


def test_bad_promotions_are_refused_with_every_problem_and_nothing_written(session: Session, manager: Browser,
                                                                           shop: Shop) -> None:
    refused = manager.request("POST", "/pricing/promotions", json={
        "name": "Sai", "kind": "threshold", "scope": "skus", "params": {"percent": 150, "bogus": 1},
        "channels": ["fax"]})
    body = assert_problem(refused, 422, "invalid_promotion")
    problems = body["problems"] if "problems" in body else body.get("details", {}).get("problems", [])
    assert any("bogus" in problem for problem in problems)
    assert any("min_subtotal" in problem for problem in problems)
    assert any("needs targets" in problem for problem in problems)
    assert any("fax" in problem for problem in problems)
    assert session.scalar(select(func.count()).select_from(Promotion)) == 0


def test_prices_overrides_and_promotions_through_the_api(session: Session, manager: Browser, shop: Shop) -> None:
    (base,) = manager.request("GET", "/pricing/price-lists").json()
    assert base["base"] and base["currency"] == "VND" and base["minor_units"] == 0
    changed = manager.request("PUT", f"/pricing/price-lists/{base['id']}/prices",
                              json={"prices": [{"sku": "AO-1", "amount": 209_000},
                                               {"variant_id": shop.variants["AO-2"], "amount": 349_000}]})
    assert changed.json() == {"changed": 1}
    events = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "pricing.changed")
                             .order_by(OutboxEvent.id.desc())).first()
    assert events is not None and events.payload["variant_ids"] == [shop.variants["AO-1"]]
    unknown = manager.request("PUT", f"/pricing/price-lists/{base['id']}/prices",
                              json={"prices": [{"sku": "KHONG-CO", "amount": 1}]})
    assert_problem(unknown, 404, "variant_not_found")
    override = manager.request("POST", "/pricing/overrides", json={
        "channel": "shopee", "kind": "percent", "percent": "10", "round_to": 1000, "reason": "Phí sàn"})
    assert override.status_code == 201, override.text
    assert override.json()["applies_to"] == "channel shopee" and override.json()["percent"] == "10"
    session.rollback()
    latest = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "pricing.changed")
                             .order_by(OutboxEvent.id.desc())).first()
    assert latest is not None and latest.payload == {"variant_ids": [], "all_variants": True}
    view = manager.request("GET", f"/pricing/variants/{shop.variants['AO-1']}").json()
    assert view["base_price"] == 209_000 and [row["reason"] for row in view["overrides"]] == ["Phí sàn"]
    assert view["overrides"][0]["live"] is True
    off = manager.request("PATCH", f"/pricing/overrides/{override.json()['id']}", json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    bad = manager.request("POST", "/pricing/overrides", json={"channel": "fax", "kind": "percent"})
    assert_problem(bad, 422, "invalid_override")
    naive = manager.request("POST", "/pricing/overrides", json={"kind": "fixed", "amount": 1,
                                                                "starts_at": "2026-12-01T00:00:00"})
    assert_problem(naive, 422, "validation_failed")

    promotion = manager.request("POST", "/pricing/promotions", json={
        "name": "Mua 2 tặng 1", "kind": "buy_x_get_y", "scope": "categories", "targets": [shop.shirts],
        "params": {"buy": 2, "get": 1}, "requires_coupon": True}).json()
    batch = manager.request("POST", f"/pricing/promotions/{promotion['id']}/coupons/batch",
                            json={"count": 20, "prefix": "VIP"})
    assert batch.status_code == 201 and len(batch.json()) == 20
    listed = manager.request("GET", f"/pricing/promotions/{promotion['id']}/coupons").json()
    assert len(listed) == 20 and all(row["max_uses"] == 1 for row in listed)
    off_coupon = manager.request("PATCH", f"/pricing/coupons/{listed[0]['id']}", json={"is_active": False})
    assert off_coupon.json()["is_active"] is False
    paused = manager.request("PATCH", f"/pricing/promotions/{promotion['id']}", json={"is_active": False})
    assert paused.json()["is_active"] is False


def test_a_customer_named_by_phone_gets_their_tier_price(session: Session, agent: Browser, manager: Browser,
                                                          shop: Shop) -> None:
    from datetime import UTC, datetime

    from xuyen.commerce import journal
    from xuyen.commerce.channels import SalesChannel

    profile_id = journal.record(session, channel=SalesChannel.web, event=journal.CHECKOUT_STARTED,
                                message_id="checkout-1", identifiers=[("phone", "0912 345 678", None)],
                                properties={}, timestamp=datetime(2026, 11, 19, tzinfo=UTC))
    session.commit()
    manager.request("POST", "/pricing/overrides", json={"tier": "gold", "kind": "percent", "percent": -10,
                                                        "reason": "Hạng Vàng"})
    gold = _quote(agent, customer={"type": "phone", "value": "+84912345678", "tier": "gold"})
    assert gold["profile_id"] == profile_id and gold["tier"] == "gold"
    assert gold["lines"][0]["unit_price"] == 179_100
    assert gold["lines"][0]["adjustments"][0]["applies_to"] == "tier gold"
    plain = _quote(agent, customer={"profile_id": profile_id})
    assert plain["tier"] is None and plain["lines"][0]["unit_price"] == 199_000
    both = agent.request("POST", "/quote", json={"channel": "web", **CART, "customer": {
        "profile_id": profile_id, "type": "phone", "value": "0912345678"}})
    assert_problem(both, 422, "invalid_customer")
