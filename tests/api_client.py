"""API test helpers for every domain: signed-in browsers that send their CSRF token, API keys, problem+json
checks. The ``browser_for`` fixture is registered in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_user
from xuyen.auth.models import Role, User

API = "/api/v1"


@dataclass
class Browser:
    """A client signed in with the session cookie; unsafe requests carry the CSRF token."""

    client: TestClient
    csrf: str
    user_id: int

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request with the CSRF header."""
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.request(method, API + path, headers=headers, **kwargs)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """POST the credentials to the sign-in endpoint."""
    return client.post(f"{API}/auth/session", json={"email": email, "password": password})


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check that ``response`` is a problem+json answer with ``status`` and ``code``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["detail"]
    return body


def reload_user(session: Session, user_id: int) -> User:
    """The user as the database has it now (what others committed since included)."""
    session.rollback()
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


def bearer(key: str) -> dict[str, str]:
    """The Authorization header for an API key."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def browser_for(app: FastAPI) -> Iterator[Callable[[User], Browser]]:
    """Sign a user in with a client of their own."""
    clients: list[TestClient] = []

    def open_browser(user: User) -> Browser:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        response = sign_in(client, user.email)
        assert response.status_code == 200, response.text
        return Browser(client=client, csrf=response.json()["csrf_token"], user_id=user.id)

    yield open_browser
    for client in clients:
        client.close()


def _browser_of(role: Role) -> Callable[..., Browser]:
    """A fixture: a browser signed in as a new user with ``role``."""
    @pytest.fixture
    def fixture(session: Session, browser_for: Callable[[User], Browser]) -> Browser:
        return browser_for(make_user(session, role=role))
    return fixture


agent = _browser_of(Role.agent)
manager = _browser_of(Role.manager)
owner = _browser_of(Role.owner)
