"""API keys: shown once, only their hash kept, used as Bearer tokens, revoked at once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, bearer
from tests.factories import make_store, make_user
from xuyen.auth import service
from xuyen.auth.models import ApiKey, AuthSession, Role, User
from xuyen.clock import utcnow

BrowserFor = Callable[[User], Browser]


def test_an_api_key_is_shown_once_and_only_its_sha256_is_stored(
        client: TestClient, session: Session, browser_for: BrowserFor) -> None:
    owner = make_user(session, role=Role.owner)
    browser = browser_for(owner)
    created = browser.request("POST", "/api-keys", json={"name": "Đồng bộ POS", "role": "agent"})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    key = body["key"]
    assert key.startswith(f"xk_{body['prefix']}_")
    assert body | {"name": "Đồng bộ POS", "role": "agent", "store_id": None, "created_by_id": owner.id,
                   "last_used_at": None, "revoked_at": None} == body

    session.rollback()
    row: ApiKey = session.scalars(select(ApiKey)).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {row.key_hash, row.prefix, row.name}

    listed = browser.request("GET", "/api-keys")
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()] == [body["id"]]
    assert "key" not in listed.json()[0] and "key_hash" not in listed.json()[0]
    assert key not in listed.text

    me = client.get(f"{API}/me", headers=bearer(key))
    assert me.status_code == 200, me.text
    assert me.json() | {"kind": "api_key", "id": body["id"], "role": "agent", "email": None} == me.json()


def test_a_revoked_key_is_refused_at_once(
        client: TestClient, session: Session, browser_for: BrowserFor) -> None:
    browser = browser_for(make_user(session, role=Role.owner))
    key_id, key = _create_key(browser, role="manager")
    assert client.get(f"{API}/users", headers=bearer(key)).status_code == 200
    revoked = browser.request("DELETE", f"/api-keys/{key_id}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    body = assert_problem(client.get(f"{API}/users", headers=bearer(key)), 401, "invalid_api_key")
    assert "xuyen apikey create" in body["detail"]
    assert_problem(browser.request("DELETE", "/api-keys/999999"), 404, "api_key_not_found")


@pytest.mark.parametrize("garbage", ["garbage", "xk_deadbeef_not-the-secret", "xk__", "Bearer", "x" * 5000])
def test_garbage_keys_are_refused(client: TestClient, session: Session, browser_for: BrowserFor,
                                  garbage: str) -> None:
    browser = browser_for(make_user(session, role=Role.owner))
    _create_key(browser, role="owner")
    assert_problem(client.get(f"{API}/me", headers=bearer(garbage)), 401, "invalid_api_key")


def test_a_key_that_guesses_a_real_prefix_is_still_refused(
        client: TestClient, session: Session, browser_for: BrowserFor) -> None:
    browser = browser_for(make_user(session, role=Role.owner))
    _, key = _create_key(browser, role="owner")
    forged = key.rsplit("_", 1)[0] + "_" + "A" * 43
    assert_problem(client.get(f"{API}/me", headers=bearer(forged)), 401, "invalid_api_key")


def test_api_keys_need_no_csrf_token_and_carry_their_role_and_store(
        client: TestClient, session: Session, browser_for: BrowserFor) -> None:
    hanoi, saigon = make_store(session), make_store(session)
    browser = browser_for(make_user(session, role=Role.owner))
    _, key = _create_key(browser, role="manager", store_id=hanoi.id)
    make_user(session, store=saigon)
    created = client.post(f"{API}/users", headers=bearer(key), json={
        "email": "moi@shop.vn", "name": "Mới", "password": "đủ dài rồi 123", "role": "agent"})
    assert created.status_code == 201, created.text
    assert created.json()["store_id"] == hanoi.id
    visible = client.get(f"{API}/users", headers=bearer(key)).json()
    assert [user["email"] for user in visible] == ["moi@shop.vn"]
    assert_problem(client.get(f"{API}/api-keys", headers=bearer(key)), 403, "role_required")
    own_locale = client.put(f"{API}/me/locale", headers=bearer(key), json={"locale": "en"})
    assert_problem(own_locale, 403, "user_only")


def test_only_owners_manage_api_keys(client: TestClient, session: Session, browser_for: BrowserFor) -> None:
    manager = browser_for(make_user(session, role=Role.manager))
    create = manager.request("POST", "/api-keys", json={"name": "x", "role": "agent"})
    assert_problem(create, 403, "role_required")
    assert_problem(manager.request("GET", "/api-keys"), 403, "role_required")
    assert_problem(client.get(f"{API}/api-keys"), 401, "not_authenticated")


def test_bad_api_key_input_is_refused(session: Session, browser_for: BrowserFor) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    store = make_store(session)
    for body, status, code in (
        ({"name": "x", "role": "root"}, 422, "validation_failed"),
        ({"name": " ", "role": "agent"}, 422, "validation_failed"),
        ({"name": "x" * 201, "role": "agent"}, 422, "validation_failed"),
        ({"name": "x", "role": "agent", "store_id": 424242}, 422, "store_not_found"),
        ({"name": "x", "role": "owner", "store_id": store.id}, 422, "owner_has_no_store"),
    ):
        assert_problem(owner.request("POST", "/api-keys", json=body), status, code)


def test_the_service_keeps_only_the_hash(session: Session) -> None:
    row, key = service.create_api_key(session, name="Báo cáo", role=Role.agent)
    assert service.resolve_api_key(session, key=key) is not None
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert service.resolve_api_key(session, key=key + "x") is None


def _create_key(browser: Browser, *, role: str, store_id: int | None = None) -> tuple[int, str]:
    response = browser.request("POST", "/api-keys", json={"name": f"{role} key", "role": role,
                                                          "store_id": store_id})
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["key"]


def test_a_key_s_and_a_browser_session_s_use_are_written_down_once_a_minute(
        client: TestClient, session: Session, browser_for: BrowserFor) -> None:
    browser = browser_for(make_user(session, role=Role.owner))
    _, key = _create_key(browser, role="agent")

    def read(column: Any) -> Any:
        session.rollback()  # see what the app committed since
        return session.scalar(select(column))

    assert read(ApiKey.last_used_at) is None
    assert client.get(f"{API}/me", headers=bearer(key)).status_code == 200
    first_use = read(ApiKey.last_used_at)
    assert first_use is not None
    assert client.get(f"{API}/me", headers=bearer(key)).status_code == 200
    assert read(ApiKey.last_used_at) == first_use  # a minute has not passed: nothing written
    session.execute(update(ApiKey).values(last_used_at=first_use - timedelta(minutes=2)))
    session.commit()
    assert client.get(f"{API}/me", headers=bearer(key)).status_code == 200
    assert read(ApiKey.last_used_at) >= first_use

    session.execute(update(AuthSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
    session.commit()
    assert browser.request("GET", "/me").status_code == 200
    assert utcnow() - read(AuthSession.last_seen_at) < timedelta(minutes=1)
