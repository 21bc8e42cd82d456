"""Signing in and out through the forms: cookies, CSRF, rate limiting and safe redirects."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.ui.helpers import PASSWORD, csrf_token, sign_in, signed_in_token
from xuyen.app import create_app
from xuyen.auth.models import AuthSession, User
from xuyen.config import Settings
from xuyen.ui.security import LOGIN_CSRF_COOKIE, safe_next


@pytest.mark.parametrize("path", ["/", "/stores", "/sources", "/staff", "/jobs"])
def test_pages_send_signed_out_visitors_to_the_sign_in_form(browser: TestClient, path: str) -> None:
    response = browser.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + path.replace("/", "%2F")


def test_redirect_keeps_the_query_and_does_not_depend_on_the_accept_header(client: TestClient) -> None:
    response = client.get("/stores?page=2", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fstores%3Fpage%3D2"


def test_sign_in_form_sets_a_short_lived_double_submit_cookie(browser: TestClient) -> None:
    response = browser.get("/login")
    assert response.status_code == 200
    assert '<html lang="vi">' in response.text
    assert "Đăng nhập" in response.text
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/login" in cookie
    assert re.search(r"Max-Age=(\d+)", cookie) and int(re.search(r"Max-Age=(\d+)", cookie).group(1)) <= 3600
    assert csrf_token(response.text) == browser.cookies[LOGIN_CSRF_COOKIE]
    assert len(csrf_token(response.text)) >= 32


def test_sign_in_opens_a_session_and_goes_to_next(browser: TestClient, owner: User, settings: Settings,
                                                  session: Session) -> None:
    response = sign_in(browser, owner.email, next_path="/sources")
    assert response.status_code == 303
    assert response.headers["location"] == "/sources"
    session_cookie = next(value for value in response.headers.get_list("set-cookie")
                          if value.startswith(f"{settings.session_cookie_name}="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    assert f"Max-Age={settings.session_max_age_seconds}" in session_cookie
    assert "Secure" not in session_cookie
    page = browser.get("/sources")
    assert page.status_code == 200
    assert owner.name in page.text
    session.rollback()
    assert session.query(AuthSession).filter_by(user_id=owner.id).count() == 1


def test_session_cookie_is_secure_in_production(db_url: str, engine: Engine, owner: User) -> None:
    settings = Settings(database_url=db_url, env="production", secret_key="p" * 48, log_json=False)
    with TestClient(create_app(settings, engine=engine), base_url="https://testserver") as client:
        response = sign_in(client, owner.email)
    cookies = response.headers.get_list("set-cookie")
    assert response.status_code == 303
    assert any(value.startswith("xuyen_session=") and "Secure" in value for value in cookies)


def test_wrong_password_shows_the_form_again_with_a_vietnamese_error(browser: TestClient, owner: User) -> None:
    response = sign_in(browser, owner.email, password="không-phải-mật-khẩu")
    assert response.status_code == 401
    assert "Email hoặc mật khẩu không đúng" in response.text
    assert f'value="{owner.email}"' in response.text
    assert 'role="alert"' in response.text
    assert "xuyen_session" not in browser.cookies
    assert browser.get("/").status_code == 303


def test_too_many_failures_are_refused_with_a_wait_time(browser: TestClient, owner: User) -> None:
    for _ in range(5):
        assert sign_in(browser, owner.email, password="sai-mật-khẩu-rồi").status_code == 401
    response = sign_in(browser, owner.email, password=PASSWORD)
    assert response.status_code == 429
    minutes = re.search(r"Vui lòng đợi (\d+) phút", response.text)
    assert minutes and 1 <= int(minutes.group(1)) <= 16
    assert int(response.headers["retry-after"]) > 0
    assert "xuyen_session" not in browser.cookies


def test_sign_in_with_a_token_that_does_not_match_the_cookie_is_refused(browser: TestClient, owner: User) -> None:
    browser.get("/login")
    response = browser.post("/login", data={"email": owner.email, "password": PASSWORD,
                                            "csrf_token": "forged-token-from-another-site"})
    assert response.status_code == 403
    assert "Biểu mẫu đã hết hạn" in response.text
    assert "xuyen_session" not in browser.cookies


def test_sign_in_without_the_cookie_is_refused(browser: TestClient, owner: User) -> None:
    token = csrf_token(browser.get("/login").text)
    browser.cookies.clear()
    response = browser.post("/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 403
    assert "xuyen_session" not in browser.cookies


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", "/\t/evil.example", ""])
def test_next_never_leaves_the_site(browser: TestClient, owner: User, target: str) -> None:
    form = browser.get("/login", params={"next": target})
    assert 'name="next" value="/"' in form.text
    response = sign_in(browser, owner.email, next_path=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_signed_in_visitor_of_the_sign_in_form_goes_straight_on(browser: TestClient, owner: User) -> None:
    sign_in(browser, owner.email)
    response = browser.get("/login", params={"next": "/stores"})
    assert response.status_code == 303
    assert response.headers["location"] == "/stores"


def test_sign_out_needs_the_session_csrf_token(browser: TestClient, owner: User, session: Session) -> None:
    token = signed_in_token(browser, owner.email)
    assert browser.post("/logout").status_code == 403
    assert browser.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert browser.get("/").status_code == 200

    session_value = browser.cookies["xuyen_session"]
    response = browser.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "xuyen_session" not in browser.cookies
    assert browser.get("/").status_code == 303
    browser.cookies.set("xuyen_session", session_value)
    assert browser.get("/").status_code == 303, "the old session must be gone on the server too"
    session.rollback()
    assert session.query(AuthSession).filter_by(user_id=owner.id).count() == 0


@pytest.mark.parametrize(("target", "expected"), [
    ("/stores?page=2", "/stores?page=2"),
    ("/", "/"),
    (None, "/"),
    ("stores", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/", "/"),
    ("/ok\r\nSet-Cookie: x=1", "/"),
])
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
