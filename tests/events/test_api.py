"""The events API (/api/v1/sources, /quarantine, /events): what managers see of sources, quarantine and events.

The data is sent through the real tracking API first, so the API shows what ingestion really stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api_client import assert_problem, bearer
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role
from xuyen.events.models import ChannelType, Source
from xuyen.events.service import create_source

API = "/api/v1"


@pytest.fixture
def manager(session: Session) -> dict[str, str]:
    """The Authorization header of a manager's API key."""
    return bearer(auth_service.create_api_key(session, name="Báo cáo", role=Role.manager)[1])


@pytest.fixture
def web(session: Session) -> tuple[Source, str]:
    return create_source(session, name="Website xuyen.vn", channel=ChannelType.web)


@pytest.fixture
def zalo(session: Session) -> tuple[Source, str]:
    return create_source(session, name="Zalo OA Xuyên", channel=ChannelType.zalo)


def _post(client: TestClient, key: str, path: str, body: dict[str, Any], request_id: str = "") -> None:
    headers = {"X-Write-Key": key} | ({"X-Request-ID": request_id} if request_id else {})
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


def _at(day: int, hour: int) -> str:
    return datetime(2026, 1, day, hour, tzinfo=UTC).isoformat()


def test_sources_show_the_key_prefix_and_never_the_key_or_its_hash(
    client: TestClient, manager: dict[str, str], web: tuple[Source, str], zalo: tuple[Source, str]
) -> None:
    response = client.get(f"{API}/sources", headers=manager)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [row["name"] for row in body] == ["Website xuyen.vn", "Zalo OA Xuyên"]  # by channel, then name
    source, key = web
    assert body[0] == {
        "id": source.id, "name": "Website xuyen.vn", "channel": "web", "store_id": None,
        "key_prefix": f"wk_{source.write_key_prefix}", "is_active": True,
        "created_at": source.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert key.startswith(body[0]["key_prefix"] + "_")
    for secret in (key, source.write_key_hash, key.split("_", 2)[2]):
        assert secret not in response.text


@pytest.mark.parametrize("path", ["/sources", "/quarantine", "/events", "/sources/1/quarantine"])
def test_only_managers_and_owners_may_read(client: TestClient, session: Session, path: str) -> None:
    assert_problem(client.get(API + path), 401, "not_authenticated")
    agent = bearer(auth_service.create_api_key(session, name="Quầy", role=Role.agent)[1])
    assert_problem(client.get(API + path, headers=agent), 403, "role_required")
    owner = bearer(auth_service.create_api_key(session, name="Chủ", role=Role.owner)[1])
    assert client.get(API + path, headers=owner).status_code in (200, 404)


def test_quarantine_shows_each_invalid_call_newest_first_with_its_position_and_reason(
    client: TestClient, manager: dict[str, str], web: tuple[Source, str], zalo: tuple[Source, str]
) -> None:
    _post(client, web[1], "/v1/batch", {"batch": [
        {"type": "track", "userId": "KH-1", "event": "Cart Viewed"},
        {"type": "track", "userId": "KH-1", "properties": {"cart_id": "GH-1"}},
        {"type": "identify", "traits": {"name": "Khách lạ"}},
    ]}, request_id="lo-hang-1")
    _post(client, zalo[1], "/v1/group", {"userId": "KH-2"}, request_id="nhom-1")
    _post(client, web[1], "/v1/page", {"userId": "KH-3", "timestamp": "thứ hai"}, request_id="trang-1")

    response = client.get(f"{API}/sources/{web[0].id}/quarantine", headers=manager)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [(row["request_id"], row["position"], row["reason"]) for row in rows] == [
        ("trang-1", 0, "bad_timestamp"), ("lo-hang-1", 2, "missing_id"), ("lo-hang-1", 1, "missing_event")]
    missing_event = rows[2]
    assert missing_event["source_id"] == web[0].id
    assert missing_event["detail"] == "track needs an event name"
    assert missing_event["payload"] == {"type": "track", "userId": "KH-1", "properties": {"cart_id": "GH-1"}}
    assert datetime.fromisoformat(missing_event["received_at"]).tzinfo is not None

    everything = client.get(f"{API}/quarantine", headers=manager).json()
    assert [(row["source_id"], row["reason"]) for row in everything] == [
        (web[0].id, "bad_timestamp"), (zalo[0].id, "missing_group_id"), (web[0].id, "missing_id"),
        (web[0].id, "missing_event")]
    only_zalo = client.get(f"{API}/quarantine", params={"source_id": zalo[0].id}, headers=manager).json()
    assert [(row["request_id"], row["reason"]) for row in only_zalo] == [("nhom-1", "missing_group_id")]
    newest = client.get(f"{API}/quarantine", params={"limit": 1}, headers=manager).json()
    assert [row["request_id"] for row in newest] == ["trang-1"]


def test_quarantine_of_an_unknown_source_is_404_and_limits_are_checked(
    client: TestClient, manager: dict[str, str]
) -> None:
    assert_problem(client.get(f"{API}/sources/999/quarantine", headers=manager), 404, "source_not_found")
    for params in ({"limit": 0}, {"limit": 501}, {"source_id": 0}):
        assert_problem(client.get(f"{API}/quarantine", params=params, headers=manager), 422, "validation_failed")
    assert client.get(f"{API}/quarantine", params={"limit": 500}, headers=manager).json() == []


def test_events_newest_first_filtered_by_source_user_anonymous_id_and_name(
    client: TestClient, manager: dict[str, str], web: tuple[Source, str], zalo: tuple[Source, str]
) -> None:
    order = {"order_id": "DH-1", "total": 1_250_000, "currency": "VND",
             "products": [{"product_id": "SP-1", "name": "Áo dài lụa", "price": 1_250_000, "quantity": 1}]}
    _post(client, web[1], "/v1/batch", {"batch": [
        {"type": "page", "anonymousId": "anon-1", "name": "Trang chủ", "timestamp": _at(5, 8), "messageId": "e1"},
        {"type": "track", "anonymousId": "anon-1", "event": "Product Viewed", "timestamp": _at(5, 9),
         "messageId": "e2", "properties": {"product_id": "SP-1"}},
        {"type": "identify", "anonymousId": "anon-1", "userId": "KH-1", "timestamp": _at(5, 10), "messageId": "e3",
         "traits": {"name": "Trần Thị Hoa"}},
        {"type": "track", "userId": "KH-1", "event": "Order Completed", "timestamp": _at(5, 11), "messageId": "e4",
         "properties": order},
    ]})
    _post(client, zalo[1], "/v1/track", {"userId": "KH-1", "event": "Order Completed", "timestamp": _at(6, 9),
                                         "messageId": "z1", "properties": {"order_id": "DH-2"}})

    def ids(**params: Any) -> list[str]:
        response = client.get(f"{API}/events", params=params, headers=manager)
        assert response.status_code == 200, response.text
        return [row["message_id"] for row in response.json()]

    assert ids() == ["z1", "e4", "e3", "e2", "e1"]
    assert ids(source_id=web[0].id) == ["e4", "e3", "e2", "e1"]
    assert ids(user_id="KH-1") == ["z1", "e4", "e3"]
    assert ids(anonymous_id="anon-1") == ["e3", "e2", "e1"]
    assert ids(event="Order Completed", source_id=web[0].id) == ["e4"]
    assert ids(event="Order Completed", limit=1) == ["z1"]
    assert ids(user_id="KH-404") == []

    [completed] = client.get(f"{API}/events", params={"event": "Order Completed", "source_id": web[0].id},
                             headers=manager).json()
    assert completed["type"] == "track" and completed["channel"] == "web"
    assert completed["properties"] == order
    assert completed["ecommerce"] is True
    assert completed["timestamp"] == "2026-01-05T11:00:00Z"
    assert completed["original_timestamp"] == "2026-01-05T11:00:00Z"
    assert completed["received_at"] and completed["sent_at"] is None
    [page] = client.get(f"{API}/events", params={"anonymous_id": "anon-1", "limit": 500}, headers=manager).json()[2:]
    assert (page["type"], page["name"], page["event"], page["ecommerce"]) == ("page", "Trang chủ", None, False)
    for params in ({"limit": 501}, {"user_id": ""}, {"source_id": -1}):
        assert_problem(client.get(f"{API}/events", params=params, headers=manager), 422, "validation_failed")
