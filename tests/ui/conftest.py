"""Fixtures of the page tests: a client that asks for pages like a browser, and a seeded shop."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.ui.helpers import PASSWORD, Shop, seed_shop, sign_in
from xuyen.auth import service as auth_service
from xuyen.auth.models import Role, User


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    """The test client sending ``Accept: text/html`` as browsers do, and not following redirects by itself."""
    client.headers["accept"] = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
    client.follow_redirects = False
    return client


@pytest.fixture
def shop(session: Session) -> Shop:
    return seed_shop(session)


@pytest.fixture
def owner(session: Session) -> User:
    """A single owner, for tests that need nobody else (hashing passwords is slow on purpose)."""
    return auth_service.create_user(session, email="lan@xuyen.example", name="Nguyễn Thị Lan",
                                     password=PASSWORD, role=Role.owner)


@pytest.fixture
def owner_session(browser: TestClient, owner: User) -> None:
    """The browser signed in as the owner."""
    assert sign_in(browser, owner.email).status_code == 303
