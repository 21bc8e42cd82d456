"""Staff users through the API: who may see and change whom, store scope, the last owner, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api_client import Browser, assert_problem, reload_user, sign_in
from tests.factories import PASSWORD, make_store, make_user
from xuyen.auth.models import Role, User
from xuyen.stores.models import Store

BrowserFor = Callable[[User], Browser]


def _new_user(**overrides: Any) -> dict[str, Any]:
    return {"email": "moi@shop.vn", "name": "Trần Văn Mới", "password": "đủ dài rồi 123", "role": "agent",
            **overrides}


@pytest.fixture
def two_stores(session: Session) -> tuple[Store, Store]:
    return make_store(session, code="HN01"), make_store(session, code="SG01")


# Who may list and read ------------------------------------------------------------------------------


def test_an_agent_cannot_list_users(session: Session, browser_for: BrowserFor) -> None:
    agent = browser_for(make_user(session, role=Role.agent))
    body = assert_problem(agent.request("GET", "/users"), 403, "role_required")
    assert "manager" in body["detail"]


def test_an_owner_sees_every_user_and_a_manager_only_their_store(
        session: Session, browser_for: BrowserFor, two_stores: tuple[Store, Store]) -> None:
    hanoi, saigon = two_stores
    owner = make_user(session, role=Role.owner, name="A Chủ")
    manager = make_user(session, role=Role.manager, store=hanoi, name="B Quản lý")
    hanoi_agent = make_user(session, store=hanoi, name="C Hà Nội")
    saigon_agent = make_user(session, store=saigon, name="D Sài Gòn")

    everyone = browser_for(owner).request("GET", "/users")
    assert everyone.status_code == 200, everyone.text
    assert [row["id"] for row in everyone.json()] == [owner.id, manager.id, hanoi_agent.id, saigon_agent.id]
    assert all("password_hash" not in row for row in everyone.json())

    scoped = browser_for(manager).request("GET", "/users")
    assert scoped.status_code == 200, scoped.text
    assert [row["id"] for row in scoped.json()] == [manager.id, hanoi_agent.id]


def test_a_manager_gets_404_for_a_user_of_another_store(
        session: Session, browser_for: BrowserFor, two_stores: tuple[Store, Store]) -> None:
    hanoi, saigon = two_stores
    manager = browser_for(make_user(session, role=Role.manager, store=hanoi))
    colleague = make_user(session, store=hanoi)
    stranger = make_user(session, store=saigon)
    assert manager.request("GET", f"/users/{colleague.id}").json()["id"] == colleague.id
    hidden = assert_problem(manager.request("GET", f"/users/{stranger.id}"), 404, "user_not_found")
    missing = assert_problem(manager.request("GET", "/users/999999"), 404, "user_not_found")
    assert hidden["detail"].replace(str(stranger.id), "N") == missing["detail"].replace("999999", "N")
    renamed = manager.request("PATCH", f"/users/{stranger.id}", json={"name": "X"})
    assert_problem(renamed, 404, "user_not_found")


# Who may create whom ---------------------------------------------------------------------------------


def test_an_owner_creates_any_role(session: Session, browser_for: BrowserFor,
                                   two_stores: tuple[Store, Store]) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    created = owner.request("POST", "/users", json=_new_user(role="manager", store_id=two_stores[1].id,
                                                             email="  Quan.Ly@Shop.VN", locale="en"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body | {"email": "quan.ly@shop.vn", "role": "manager", "store_id": two_stores[1].id,
                   "locale": "en", "is_active": True} == body
    assert "password" not in body and "password_hash" not in body
    second_owner = owner.request("POST", "/users", json=_new_user(role="owner", email="chu2@shop.vn"))
    assert second_owner.status_code == 201, second_owner.text
    assert sign_in(TestClient(owner.client.app), "quan.ly@shop.vn", "đủ dài rồi 123").status_code == 200


def test_a_manager_adds_agents_to_their_own_store_only(
        session: Session, browser_for: BrowserFor, two_stores: tuple[Store, Store]) -> None:
    hanoi, saigon = two_stores
    manager = browser_for(make_user(session, role=Role.manager, store=hanoi))
    created = manager.request("POST", "/users", json=_new_user())
    assert created.status_code == 201, created.text
    assert created.json()["store_id"] == hanoi.id  # left out: the manager's own store
    for role in ("manager", "owner"):
        refused = manager.request("POST", "/users", json=_new_user(role=role, email=f"{role}@shop.vn"))
        assert_problem(refused, 403, "role_not_allowed")
    elsewhere = manager.request("POST", "/users", json=_new_user(email="sg@shop.vn", store_id=saigon.id))
    assert_problem(elsewhere, 403, "store_not_allowed")


def test_an_agent_cannot_create_users(session: Session, browser_for: BrowserFor) -> None:
    agent = browser_for(make_user(session))
    assert_problem(agent.request("POST", "/users", json=_new_user()), 403, "role_required")


def test_owners_are_not_bound_to_a_store_and_stores_must_exist(
        session: Session, browser_for: BrowserFor, two_stores: tuple[Store, Store]) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    bound = owner.request("POST", "/users", json=_new_user(role="owner", store_id=two_stores[0].id))
    assert_problem(bound, 422, "owner_has_no_store")
    assert_problem(owner.request("POST", "/users", json=_new_user(store_id=424242)), 422, "store_not_found")


def test_an_email_can_belong_to_one_user_only(session: Session, browser_for: BrowserFor) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    make_user(session, email="trung@shop.vn")
    assert_problem(owner.request("POST", "/users", json=_new_user(email="TRUNG@shop.vn")), 409, "user_exists")


@pytest.mark.parametrize(("overrides", "where"), [
    ({"role": "admin"}, "role"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "two@@shop.vn"}, "email"),
    ({"email": "a" * 330 + "@shop.vn"}, "email"),
    ({"password": "short"}, "password"),
    ({"password": "x" * 257}, "password"),
    ({"name": "   "}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"locale": "fr"}, "locale"),
    ({"store_id": 2**40}, "store_id"),
    ({"password_hash": "$argon2id$fake"}, "password_hash"),
])
def test_bad_user_input_is_a_clear_validation_problem(
        session: Session, browser_for: BrowserFor, overrides: dict[str, Any], where: str) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    response = owner.request("POST", "/users", json=_new_user(**overrides))
    body = assert_problem(response, 422, "validation_failed")
    assert where in body["detail"]
    assert any(where in error["location"] for error in body["errors"])


def test_malformed_json_and_absurd_ids_are_validation_problems(
        session: Session, browser_for: BrowserFor) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    broken = owner.request("POST", "/users", content=b'{"email": ',
                           headers={"content-type": "application/json"})
    assert_problem(broken, 422, "validation_failed")
    assert_problem(owner.request("GET", f"/users/{2**40}"), 422, "validation_failed")
    assert_problem(owner.request("GET", "/users/abc"), 422, "validation_failed")


# Changing users -------------------------------------------------------------------------------------


def test_an_owner_changes_name_role_store_and_locale(
        session: Session, browser_for: BrowserFor, two_stores: tuple[Store, Store]) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    agent = make_user(session, store=two_stores[0])
    changed = owner.request("PATCH", f"/users/{agent.id}", json={
        "name": " Lê Thị Hoa ", "role": "manager", "store_id": two_stores[1].id, "locale": "en"})
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"name": "Lê Thị Hoa", "role": "manager", "store_id": two_stores[1].id,
                             "locale": "en"} == changed.json()
    unbound = owner.request("PATCH", f"/users/{agent.id}", json={"store_id": None})
    assert unbound.status_code == 200, unbound.text
    assert unbound.json()["store_id"] is None
    kept = owner.request("PATCH", f"/users/{agent.id}", json={"name": "Hoa"})
    assert kept.json() | {"name": "Hoa", "role": "manager", "locale": "en", "store_id": None} == kept.json()


def test_null_is_refused_for_fields_that_cannot_be_empty(session: Session, browser_for: BrowserFor) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    agent = make_user(session)
    body = assert_problem(owner.request("PATCH", f"/users/{agent.id}", json={"name": None, "role": None}),
                          422, "validation_failed")
    assert "name, role cannot be null" in body["detail"]


def test_a_manager_changes_agents_but_not_managers_and_promotes_nobody(
        session: Session, browser_for: BrowserFor, two_stores: tuple[Store, Store]) -> None:
    hanoi, saigon = two_stores
    manager = browser_for(make_user(session, role=Role.manager, store=hanoi))
    agent = make_user(session, store=hanoi)
    peer = make_user(session, role=Role.manager, store=hanoi)
    assert manager.request("PATCH", f"/users/{agent.id}", json={"name": "Đổi tên"}).status_code == 200
    assert_problem(manager.request("PATCH", f"/users/{agent.id}", json={"role": "manager"}), 403,
                   "role_not_allowed")
    assert_problem(manager.request("PATCH", f"/users/{peer.id}", json={"name": "X"}), 403, "role_not_allowed")
    assert_problem(manager.request("PATCH", f"/users/{agent.id}", json={"store_id": saigon.id}), 403,
                   "store_not_allowed")
    assert_problem(manager.request("PATCH", f"/users/{agent.id}", json={"store_id": None}), 403,
                   "store_not_allowed")
    assert reload_user(session, agent.id).role == Role.agent


def test_deactivating_a_user_ends_their_sessions(session: Session, browser_for: BrowserFor) -> None:
    owner = browser_for(make_user(session, role=Role.owner))
    agent = make_user(session)
    agents_browser = browser_for(agent)
    assert agents_browser.request("GET", "/me").status_code == 200
    off = owner.request("PATCH", f"/users/{agent.id}", json={"is_active": False})
    assert off.status_code == 200, off.text
    assert off.json()["is_active"] is False
    assert_problem(agents_browser.request("GET", "/me"), 401, "not_authenticated")
    assert_problem(sign_in(agents_browser.client, agent.email, PASSWORD), 401, "invalid_credentials")


def test_the_last_active_owner_cannot_be_demoted_or_deactivated(
        session: Session, browser_for: BrowserFor) -> None:
    owner = make_user(session, role=Role.owner)
    browser = browser_for(owner)
    for change in ({"role": "manager"}, {"is_active": False}):
        body = assert_problem(browser.request("PATCH", f"/users/{owner.id}", json=change), 409, "last_owner")
        assert "another user owner first" in body["detail"]
    make_user(session, role=Role.owner, is_active=False)  # an inactive owner does not count
    assert_problem(browser.request("PATCH", f"/users/{owner.id}", json={"role": "agent"}), 409, "last_owner")
    assert reload_user(session, owner.id).role == Role.owner
    assert browser.request("PATCH", f"/users/{owner.id}", json={"name": "Vẫn là chủ"}).status_code == 200


def test_an_owner_may_step_down_once_there_is_another(session: Session, browser_for: BrowserFor) -> None:
    owner = make_user(session, role=Role.owner)
    browser = browser_for(owner)
    successor = browser.request("POST", "/users", json=_new_user(role="owner", email="ke.nhiem@shop.vn",
                                                                password=PASSWORD))
    assert successor.status_code == 201, successor.text
    stepped_down = browser.request("PATCH", f"/users/{owner.id}", json={"role": "manager"})
    assert stepped_down.status_code == 200, stepped_down.text
    assert stepped_down.json()["role"] == "manager"
    new_owner = browser_for(reload_user(session, successor.json()["id"]))
    assert_problem(new_owner.request("PATCH", f"/users/{successor.json()['id']}", json={"is_active": False}),
                   409, "last_owner")
