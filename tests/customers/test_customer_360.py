"""The customer 360 through the API: one customer across channels, traits with precedence, computed traits,
the timeline, search, consents, merges and unmerges reflected, and bad input refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem
from tests.customers.conftest import Channels, Send
from xuyen.audit import AuditEntry
from xuyen.customers.models import CustomerProfile
from xuyen.identity.graph import find_profile

HOA_AT_STORE = {"type": "identify", "userId": "KH001", "timestamp": "2026-11-01T03:00:00Z",
                "traits": {"name": "Nguyễn Thị Hoa", "phone": "0168 123 4567", "birthday": "12/05/1990"}}
HOA_ON_SHOPEE = {"type": "identify", "anonymousId": "buyer-9", "timestamp": "2026-11-02T03:00:00Z",
                 "traits": {"name": "h***a", "phone": "0381234567", "email": "Hoa@Example.vn"}}


def _order(anonymous_id: str, order_id: str, total: int, at: str, event: str = "Order Completed") -> dict:
    return {"type": "track", "anonymousId": anonymous_id, "event": event, "timestamp": at,
            "properties": {"order_id": order_id, "total": total, "currency": "VND"}}


def _hoa(session: Session) -> int:
    session.rollback()
    profile_id = find_profile(session, type="user_id", value="KH001")
    assert profile_id is not None
    return profile_id


def test_one_customer_across_store_and_shopee(keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    send(keys.shopee, HOA_ON_SHOPEE, _order("buyer-9", "S1", 450_000, "2026-11-02T03:05:00Z"))
    send(keys.web, {"type": "page", "anonymousId": "buyer-9", "name": "Trang chủ", "timestamp": "2026-11-03T01:00:00Z"})

    customer = agent.request("GET", f"/customers/{_hoa(session)}").json()
    assert customer["name"] == "Nguyễn Thị Hoa"  # the store's name outranks Shopee's masked one, though older
    assert customer["traits"]["name"]["source"] == "Cửa hàng Hà Nội"
    assert [item["value"] for item in customer["trait_history"]["name"]] == ["h***a", "Nguyễn Thị Hoa"]
    assert customer["traits"]["email"]["value"] == "Hoa@Example.vn"  # traits are kept as sent
    assert {(i["type"], i["value"]) for i in customer["profile"]["identifiers"]} >= {
        ("phone", "+84381234567"), ("email", "hoa@example.vn"), ("user_id", "KH001"), ("anonymous_id", "buyer-9")}
    computed = customer["computed"]
    assert computed["orders"] == 1 and computed["revenue"] == {"VND": 450_000}
    assert [channel["channel"] for channel in computed["channels"]] == ["web", "shopee", "pos"]
    assert computed["first_seen_at"].startswith("2026-11-01T03:00")
    assert computed["last_seen_at"].startswith("2026-11-03T01:00")


def test_refunds_and_cancellations_reduce_revenue(keys: Channels, send: Send, agent: Browser,
                                                  session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    send(keys.shopee, HOA_ON_SHOPEE, _order("buyer-9", "S1", 400_000, "2026-11-02T03:05:00Z"),
         _order("buyer-9", "S1", 400_000, "2026-11-02T03:06:00Z"),  # the same order sent twice counts once
         _order("buyer-9", "S2", 300_000, "2026-11-02T04:00:00Z"),
         _order("buyer-9", "S2", 100_000, "2026-11-03T04:00:00Z", event="Order Refunded"),
         _order("buyer-9", "S3", 900_000, "2026-11-04T04:00:00Z"),
         _order("buyer-9", "S3", 0, "2026-11-04T05:00:00Z", event="Order Cancelled"))
    computed = agent.request("GET", f"/customers/{_hoa(session)}").json()["computed"]
    assert computed["orders"] == 2
    assert computed["revenue"] == {"VND": 600_000} and computed["average_order"] == {"VND": 300_000}


def test_the_timeline_pages_through_every_event_once_newest_first(keys: Channels, send: Send, agent: Browser,
                                                                   session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    views = [{"type": "track", "userId": "KH001", "event": "Product Viewed", "properties": {"name": f"Áo {n}"},
              "timestamp": "2026-11-05T02:00:00Z"} for n in range(7)]  # same moment: ordered by id
    send(keys.web, *views)
    profile_id = _hoa(session)
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = agent.request("GET", f"/customers/{profile_id}/timeline", params=params).json()
        seen.extend((item["at"], item["data"]["properties"].get("name", item["data"]["type"]))
                    for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 8
    assert [name for _, name in seen] == [f"Áo {n}" for n in reversed(range(7))] + ["identify"]


def test_unknown_customers_and_bad_ids_are_refused(agent: Browser, client: TestClient) -> None:
    assert_problem(agent.request("GET", "/customers/1/timeline"), 404, "profile_not_found")
    assert_problem(agent.request("GET", "/customers/999"), 404, "profile_not_found")
    assert agent.request("GET", "/customers/0").status_code == 422
    assert agent.request("GET", f"/customers/{2**63}").status_code == 422
    assert_problem(client.get("/api/v1/customers"), 401, "not_authenticated")


def test_a_bad_cursor_is_refused(keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    response = agent.request("GET", f"/customers/{_hoa(session)}/timeline", params={"cursor": "bm90IGpzb24"})
    assert_problem(response, 400, "invalid_cursor")


def test_search_by_folded_name_old_phone_email_and_identifier(keys: Channels, send: Send, agent: Browser,
                                                               session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    send(keys.shopee, HOA_ON_SHOPEE)
    send(keys.pos, {"type": "identify", "userId": "KH002", "traits": {"name": "Trần Văn Hòa", "phone": "0912345678"}})
    hoa = _hoa(session)

    def found(query: str) -> list[int]:
        response = agent.request("GET", "/customers", params={"q": query})
        assert response.status_code == 200, response.text
        return [row["profile_id"] for row in response.json()]

    assert found("nguyen thi hoa") == [hoa]
    assert found("HOA NGUYEN") == [hoa]  # every word, in any order
    assert found("0168.123.4567") == [hoa]  # the old 11-digit number finds the 10-digit one
    assert found("+84 38 123 4567") == [hoa]
    assert found("hoa@example.vn") == found("HOA@EXAMPLE.VN") == [hoa]
    assert found("buyer-9") == [hoa]
    assert len(found("hoa")) == 2 and len(found("hòa")) == 2
    assert found("nobody like this") == []
    assert len(found("")) == 2
    assert agent.request("GET", "/customers", params={"q": "x" * 201}).status_code == 422


def test_reading_the_360_is_audited(keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    hoa = _hoa(session)
    agent.request("GET", f"/customers/{hoa}")
    session.rollback()
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.viewed")))
    assert [(e.actor, e.subject_id) for e in entries] == [(f"user:{agent.user_id}", str(hoa))]


def test_merges_and_unmerges_rebuild_the_customers(keys: Channels, send: Send, manager: Browser,
                                                   session: Session) -> None:
    send(keys.pos, HOA_AT_STORE)
    send(keys.zalo, {"type": "identify", "anonymousId": "zalo-77",
                     "traits": {"name": "Hoa Nguyen", "email": "hoa@zalo.vn"}})
    session.rollback()
    store_id, zalo_id = _hoa(session), find_profile(session, type="anonymous_id", value="zalo-77")
    assert zalo_id is not None and zalo_id != store_id
    merge = manager.request("POST", "/identity/merges", json={"survivor_id": store_id, "absorbed_id": zalo_id,
                                                             "reason": "Same person, confirmed by phone"})
    assert merge.status_code == 201, merge.text
    send(keys.web, {"type": "page", "userId": "KH001", "name": "Giỏ hàng"})  # runs the worker

    session.rollback()
    session.expire_all()
    assert session.get(CustomerProfile, zalo_id) is None
    merged = session.get(CustomerProfile, store_id)
    assert merged is not None and set(merged.emails) == {"hoa@zalo.vn"} and merged.display_name == "Nguyễn Thị Hoa"
    assert manager.request("GET", f"/customers/{zalo_id}").json()["id"] == store_id

    undone = manager.request("POST", f"/identity/merges/{merge.json()['id']}/undo")
    assert undone.status_code == 200, undone.text
    send(keys.web, {"type": "page", "userId": "KH001", "name": "Giỏ hàng"})
    session.rollback()
    session.expire_all()
    back = session.get(CustomerProfile, zalo_id)
    assert back is not None and back.display_name == "Hoa Nguyen" and back.emails == ["hoa@zalo.vn"]
    store_row = session.get(CustomerProfile, store_id)
    assert store_row is not None and store_row.emails == []


def test_old_and_new_addresses_of_one_place_read_into_the_same_ward(keys: Channels, send: Send, agent: Browser,
                                                                     session: Session) -> None:
    send(keys.pos, {"type": "identify", "userId": "KH001", "traits": {
        "name": "Nguyễn Thị Hoa", "address": "12 Lê Lợi, P. Bến Nghé, Q.1, TP.HCM"}})
    send(keys.web, {"type": "identify", "userId": "KH002", "traits": {
        "name": "Lê Văn Tám", "address": {"street": "5 Đồng Khởi", "city": "Phường Sài Gòn, TP Hồ Chí Minh"}}})
    session.rollback()
    rows = {row.user_ids[0]: row for row in session.scalars(select(CustomerProfile))}
    old, new = rows["KH001"], rows["KH002"]
    assert old.province_code == new.province_code == "79"
    assert old.ward_code == new.ward_code != ""
    assert old.address_parsed["status"] == "exact" and old.address_parsed["raw"] == old.address
    assert old.address_parsed["old_district_code"] and "old_district_code" not in new.address_parsed
    answer = agent.request("GET", f"/customers/{old.profile_id}").json()["address"]
    assert answer["ward_name"] == "Phường Sài Gòn" and answer["mapping_version"]


def test_traits_sent_with_a_till_sale_count(keys: Channels, send: Send, agent: Browser, session: Session) -> None:
    send(keys.web, {"type": "identify", "userId": "KH001", "timestamp": "2026-11-01T03:00:00Z",
                    "traits": {"name": "hoa93", "phone": "0381234567"}})
    send(keys.pos, {"type": "track", "anonymousId": "pos-1", "event": "Order Completed",
                    "timestamp": "2026-10-01T03:00:00Z", "properties": {"order_id": "HN01-1", "total": 90_000},
                    "context": {"traits": {"name": "Nguyễn Thị Hoa", "phone": "0168 123 4567"}}})
    customer = agent.request("GET", f"/customers/{_hoa(session)}").json()
    assert customer["traits"]["name"]["value"] == "Nguyễn Thị Hoa"  # the till's, though older than the website's
    assert customer["traits"]["name"]["channel"] == "pos"
