"""Connecting and disconnecting shops, the activity log and the Marketplaces page: owners connect, managers watch
and ask for a sync, agents see nothing; bad settings are refused whole and no key is ever shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.api_client import Browser, assert_problem

from xuyen.commerce.marketplaces import activity
from xuyen.commerce.marketplaces.models import ActivityEntry, ActivityKind, ActivityLevel, MarketplaceConnection
from xuyen.jobs import Job
from xuyen.sealing import unseal

SHOPEE_SHOP: dict[str, Any] = {
    "channel": "shopee", "name": "Shopee – Thời trang Xuyên",
    "settings": {"partner_id": "2001234", "shop_id": "880001"},
    "secrets": {"partner_key": "pk-secret", "access_token": "at-secret", "refresh_token": "rt-secret"},
}


def test_an_owner_connects_a_shop_and_managers_see_it_without_its_keys(owner: Browser, manager: Browser,
                                                                       session: Session) -> None:
    created = owner.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["channel"], body["account"], body["app_id"], body["status"]) == \
        ("shopee", "880001", "2001234", "active")
    listed = manager.request("GET", "/marketplaces/connections")
    assert listed.status_code == 200 and [shop["id"] for shop in listed.json()] == [body["id"]]
    assert "secret" not in listed.text
    stored = session.get(MarketplaceConnection, body["id"])
    assert stored is not None and unseal(stored.sealed_secrets)["partner_key"] == "pk-secret"
    assert "pk-secret" not in stored.sealed_secrets
    kinds = manager.request("GET", "/marketplaces/kinds").json()
    assert set(kinds) == {"shopee", "lazada"} and "partner_key" in kinds["shopee"]["secrets"]


def test_only_owners_connect_and_agents_see_nothing(manager: Browser, agent: Browser) -> None:
    assert_problem(manager.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP), 403, "role_required")
    assert_problem(agent.request("GET", "/marketplaces/connections"), 403, "role_required")
    assert_problem(agent.request("GET", "/marketplaces/activity"), 403, "role_required")


def test_bad_connections_are_refused_with_what_to_do(owner: Browser, session: Session) -> None:
    missing = {**SHOPEE_SHOP, "secrets": {"partner_key": "k"}}
    body = assert_problem(owner.request("POST", "/marketplaces/connections", json=missing), 422,
                          "marketplace_settings_invalid")
    assert "access_token" in body["detail"]
    wrong = {**SHOPEE_SHOP, "settings": {"partner_id": "abc", "shop_id": "1"}}
    assert_problem(owner.request("POST", "/marketplaces/connections", json=wrong), 422, "marketplace_settings_invalid")
    unknown = {**SHOPEE_SHOP, "channel": "ebay"}
    assert_problem(owner.request("POST", "/marketplaces/connections", json=unknown), 422, "marketplace_unknown")
    extra = {**SHOPEE_SHOP, "password": "x"}
    assert owner.request("POST", "/marketplaces/connections", json=extra).status_code == 422
    assert owner.request("POST", "/marketplaces/connections", json={**SHOPEE_SHOP, "name": "x" * 201}) \
        .status_code == 422
    session.rollback()
    assert session.scalars(select(MarketplaceConnection)).all() == []
    assert owner.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP).status_code == 201
    assert_problem(owner.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP), 409,
                   "marketplace_already_connected")


def test_disconnecting_forgets_the_tokens_keeps_the_history_and_allows_reconnecting(owner: Browser,
                                                                                   session: Session) -> None:
    shop_id = owner.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP).json()["id"]
    gone = owner.request("DELETE", f"/marketplaces/connections/{shop_id}")
    assert gone.status_code == 200 and gone.json()["status"] == "disconnected"
    session.rollback()
    stored = session.get(MarketplaceConnection, shop_id)
    assert stored is not None and unseal(stored.sealed_secrets) == {}
    assert_problem(owner.request("POST", f"/marketplaces/connections/{shop_id}/sync"), 409,
                   "marketplace_not_syncable")
    again = owner.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP)
    assert again.status_code == 201 and again.json()["id"] == shop_id
    assert_problem(owner.request("DELETE", "/marketplaces/connections/999999"), 404,
                   "marketplace_connection_not_found")


def test_managers_ask_for_a_sync_or_a_reconciliation_and_read_the_log(owner: Browser, manager: Browser,
                                                                     session: Session) -> None:
    shop_id = owner.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP).json()["id"]
    assert manager.request("POST", f"/marketplaces/connections/{shop_id}/sync").status_code == 202
    assert manager.request("POST", f"/marketplaces/connections/{shop_id}/reconcile").status_code == 202
    session.rollback()
    names = sorted(job.name for job in session.scalars(select(Job).where(Job.name.like("marketplaces.%"))))
    # connecting brought the last days' orders in; the manager asked for a sync and a reconciliation
    assert names == ["marketplaces.reconcile", "marketplaces.sync_orders", "marketplaces.sync_orders"]
    log = manager.request("GET", "/marketplaces/activity", params={"connection_id": shop_id, "kind": "connected"})
    assert log.status_code == 200 and [entry["kind"] for entry in log.json()] == ["connected"]
    assert manager.request("GET", "/marketplaces/activity", params={"kind": "nonsense"}).status_code == 422
    assert manager.request("GET", "/marketplaces/activity", params={"limit": 1000}).status_code == 422


def test_the_page_shows_shops_and_the_log_in_vietnamese_and_owners_connect_from_it(owner: Browser,
                                                                                  manager: Browser,
                                                                                  agent: Browser,
                                                                                  session: Session) -> None:
    page = manager.client.get("/marketplaces")
    assert page.status_code == 200 and "Sàn TMĐT" in page.text and "Chưa có gian hàng nào" in page.text
    assert "Kết nối gian hàng" not in page.text  # managers do not connect
    assert agent.client.get("/marketplaces").status_code == 403

    form = {"csrf_token": owner.csrf, "channel": "lazada", "name": "Lazada – Xuyên",
            "lazada.app_key": "100234", "lazada.seller_id": "200045", "lazada.app_secret": "s",
            "lazada.access_token": "a", "lazada.refresh_token": "r", "shopee.partner_id": "ignored"}
    done = owner.client.post("/marketplaces/connect", data=form, follow_redirects=False)
    assert done.status_code == 303
    page = owner.client.get("/marketplaces")
    assert "Lazada – Xuyên" in page.text and "/webhooks/marketplaces/lazada/100234" in page.text
    assert "Đang đồng bộ" in page.text  # its state

    refused = owner.client.post("/marketplaces/connect", data={**form, "lazada.app_secret": ""})
    assert refused.status_code == 422 and "app_secret" in refused.text
    forged = owner.client.post("/marketplaces/connect", data={**form, "csrf_token": "wrong"})
    assert forged.status_code == 403
    session.rollback()
    assert len(session.scalars(select(MarketplaceConnection)).all()) == 1
    filtered = manager.client.get("/marketplaces", params={"kind": "connected", "level": "info", "shop": "x"})
    assert filtered.status_code == 200
    assert len(session.scalars(select(ActivityEntry)).all()) == 1


def test_the_log_speaks_the_page_language(owner: Browser, manager: Browser, session: Session) -> None:
    shop_id = owner.request("POST", "/marketplaces/connections", json=SHOPEE_SHOP).json()["id"]
    session.rollback()
    activity.log(session, connection_id=shop_id, kind=ActivityKind.stock_sent, message="Stock of X set to 5.",
                 details={"listing_id": 1, "label": "AT-DEN-M (1001/5001)", "quantity": 5})
    activity.log(session, connection_id=shop_id, kind=ActivityKind.drift_found, level=ActivityLevel.warning,
                 message="drift", details={"listing_id": 1, "label": "AT-DEN-M (1001/5001)", "platform": 9,
                                           "expected": 4})
    session.commit()
    page = manager.client.get("/marketplaces").text
    assert "Đã đặt tồn kho của AT-DEN-M (1001/5001) thành 5." in page
    assert "AT-DEN-M (1001/5001): sàn đang bán 9, đúng ra là 4" in page
    warnings = manager.client.get("/marketplaces", params={"level": "warning"}).text
    assert "sàn đang bán 9" in warnings and "thành 5." not in warnings
