"""Sign-in, browser sessions, CSRF and sign-in rate limiting through the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from tests.api_client import API, Browser, assert_problem, reload_user, sign_in
from tests.factories import PASSWORD, make_user
from xuyen.app import create_app
from xuyen.auth import service
from xuyen.auth.models import AuthSession, LoginAttempt, Role, User
from xuyen.auth.passwords import verify_password
from xuyen.clock import utcnow
from xuyen.config import Settings, get_settings
from xuyen.db import make_engine
from xuyen.errors import RateLimited


def test_password_is_stored_as_an_argon2_hash(session: Session) -> None:
    user = make_user(session, password="một mật khẩu bí mật")
    session.expire_all()
    stored = session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert "một mật khẩu bí mật" not in stored
    assert verify_password(stored, "một mật khẩu bí mật")
    assert not verify_password(stored, "một mật khẩu khác")


def test_sign_in_sets_an_httponly_cookie_and_returns_the_csrf_token(
        client: TestClient, session: Session, settings: Settings) -> None:
    user = make_user(session, role=Role.manager, email="Lan.Nguyen@Shop.vn")
    response = sign_in(client, "  lan.nguyen@SHOP.vn ")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["id"] == user.id
    assert body["user"]["email"] == "lan.nguyen@shop.vn"
    assert "password_hash" not in body["user"]
    assert len(body["csrf_token"]) >= 32
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{settings.session_cookie_name}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert f"Max-Age={settings.session_max_age_seconds}" in cookie
    assert "Secure" not in cookie  # plain http outside production
    me = client.get(f"{API}/me")
    assert me.status_code == 200, me.text
    assert me.json() | {"kind": "user", "email": "lan.nguyen@shop.vn", "role": "manager"} == me.json()
    assert reload_user(session, user.id).last_login_at is not None


def test_the_session_cookie_is_secure_in_production(db_url: str, engine: Engine, session: Session) -> None:
    user = make_user(session)
    settings = Settings(database_url=db_url, env="production", secret_key="p" * 48, log_json=False)
    with TestClient(create_app(settings, engine=engine), base_url="https://testserver") as client:
        response = sign_in(client, user.email)
    assert response.status_code == 200, response.text
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize(("email", "password"), [
    ("agent@shop.vn", "wrong password"),
    ("nobody@shop.vn", PASSWORD),
])
def test_wrong_credentials_are_refused_with_one_message(
        client: TestClient, session: Session, email: str, password: str) -> None:
    make_user(session, email="agent@shop.vn")
    response = sign_in(client, email, password)
    body = assert_problem(response, 401, "invalid_credentials")
    assert body["detail"] == "The e-mail or password is wrong."
    assert "set-cookie" not in response.headers


def test_a_deactivated_user_cannot_sign_in(client: TestClient, session: Session) -> None:
    user = make_user(session, is_active=False)
    assert_problem(sign_in(client, user.email), 401, "invalid_credentials")


def test_requests_without_a_session_are_unauthenticated(client: TestClient) -> None:
    body = assert_problem(client.get(f"{API}/me"), 401, "not_authenticated")
    assert "Sign in" in body["detail"]
    client.cookies.set(get_settings().session_cookie_name, "made-up-token")
    assert_problem(client.get(f"{API}/me"), 401, "not_authenticated")


def test_an_expired_session_no_longer_works(client: TestClient, session: Session) -> None:
    user = make_user(session)
    assert sign_in(client, user.email).status_code == 200
    session.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert_problem(client.get(f"{API}/me"), 401, "not_authenticated")


def test_cookie_requests_that_change_something_need_the_csrf_token(
        session: Session, browser_for: Callable[[User], Browser]) -> None:
    browser = browser_for(make_user(session, locale="vi"))
    assert browser.client.get(f"{API}/me").status_code == 200  # safe methods need no token
    missing = browser.client.put(f"{API}/me/locale", json={"locale": "en"})
    assert_problem(missing, 403, "csrf_failed")
    wrong = browser.client.put(f"{API}/me/locale", json={"locale": "en"}, headers={"X-CSRF-Token": "x" * 43})
    assert_problem(wrong, 403, "csrf_failed")
    assert reload_user(session, browser.user_id).locale == "vi"
    right = browser.request("PUT", "/me/locale", json={"locale": "en"})
    assert right.status_code == 200, right.text
    assert right.json()["locale"] == "en"
    assert reload_user(session, browser.user_id).locale == "en"


def test_one_sessions_csrf_token_does_not_fit_another_session(
        session: Session, browser_for: Callable[[User], Browser]) -> None:
    first = browser_for(make_user(session))
    second = browser_for(make_user(session))
    crossed = first.client.put(f"{API}/me/locale", json={"locale": "en"},
                               headers={"X-CSRF-Token": second.csrf})
    assert_problem(crossed, 403, "csrf_failed")


def test_unknown_locale_is_refused(session: Session, browser_for: Callable[[User], Browser]) -> None:
    browser = browser_for(make_user(session))
    assert_problem(browser.request("PUT", "/me/locale", json={"locale": "fr"}), 422, "validation_failed")


def test_sign_out_ends_the_session_for_good(
        session: Session, browser_for: Callable[[User], Browser], settings: Settings) -> None:
    browser = browser_for(make_user(session))
    token = browser.client.cookies.get(settings.session_cookie_name)
    assert token
    assert_problem(browser.client.delete(f"{API}/auth/session"), 403, "csrf_failed")
    response = browser.request("DELETE", "/auth/session")
    assert response.status_code == 204, response.text
    assert response.headers["set-cookie"].startswith(f'{settings.session_cookie_name}=""')
    assert_problem(browser.client.get(f"{API}/me"), 401, "not_authenticated")
    browser.client.cookies.set(settings.session_cookie_name, token)  # replaying the old cookie does not help
    assert_problem(browser.client.get(f"{API}/me"), 401, "not_authenticated")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuthSession)) == 0


def test_malformed_sign_in_bodies_are_validation_problems(client: TestClient) -> None:
    bad_json = client.post(f"{API}/auth/session", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert_problem(bad_json, 422, "validation_failed")
    assert_problem(client.post(f"{API}/auth/session", json={"email": "a@shop.vn"}), 422, "validation_failed")
    huge = client.post(f"{API}/auth/session", json={"email": "a@shop.vn", "password": "x" * 10_000})
    assert_problem(huge, 422, "validation_failed")


# Rate limiting -------------------------------------------------------------------------------------


@pytest.fixture
def three_failures_allowed(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("XUYEN_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("XUYEN_LOGIN_WINDOW_SECONDS", "600")
    get_settings.cache_clear()
    return 3


def test_sign_in_is_rate_limited_per_email_even_with_the_right_password(
        client: TestClient, session: Session, three_failures_allowed: int) -> None:
    user = make_user(session)
    for _ in range(three_failures_allowed):
        assert_problem(sign_in(client, user.email, "wrong password"), 401, "invalid_credentials")
    refused = sign_in(client, user.email, PASSWORD)
    body = assert_problem(refused, 429, "login_rate_limited")
    retry_after = int(refused.headers["retry-after"])
    assert 0 < retry_after <= 600
    assert body["details"]["retry_after"] == retry_after
    assert "set-cookie" not in refused.headers
    other = make_user(session)
    assert sign_in(client, other.email).status_code == 200  # another account is not affected


def test_failed_sign_ins_count_across_server_processes(
        db_url: str, app: FastAPI, session: Session, settings: Settings, three_failures_allowed: int) -> None:
    user = make_user(session)
    other_engine = make_engine(db_url)
    try:
        with TestClient(app) as first, TestClient(create_app(settings, engine=other_engine)) as second:
            assert_problem(sign_in(first, user.email, "wrong 1"), 401, "invalid_credentials")
            assert_problem(sign_in(second, user.email, "wrong 2"), 401, "invalid_credentials")
            assert_problem(sign_in(first, user.email, "wrong 3"), 401, "invalid_credentials")
            assert_problem(sign_in(second, user.email), 429, "login_rate_limited")
            assert_problem(sign_in(first, user.email), 429, "login_rate_limited")
    finally:
        other_engine.dispose()
    session.rollback()
    with pytest.raises(RateLimited):
        service.sign_in(session, email=user.email, password=PASSWORD, ip="198.51.100.7")
    failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.email == user.email, LoginAttempt.succeeded.is_(False)))
    assert failures == 3


def test_old_failures_fall_out_of_the_window(
        client: TestClient, session: Session, three_failures_allowed: int) -> None:
    user = make_user(session)
    for _ in range(three_failures_allowed):
        assert sign_in(client, user.email, "wrong password").status_code == 401
    assert sign_in(client, user.email).status_code == 429
    session.execute(update(LoginAttempt).values(attempted_at=utcnow() - timedelta(seconds=601)))
    session.commit()
    assert sign_in(client, user.email).status_code == 200
