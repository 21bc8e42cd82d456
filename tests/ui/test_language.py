"""Choosing the language: the user's saved choice, the cookie before sign-in, the browser's preference."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.ui.helpers import sign_in, signed_in_token
from xuyen.auth import service as auth_service
from xuyen.auth.models import User
from xuyen.i18n import prefers_english


def test_switching_language_saves_it_for_the_user_and_the_page_turns_english(
        browser: TestClient, owner: User, session: Session) -> None:
    token = signed_in_token(browser, owner.email)
    assert "Cửa hàng" in browser.get("/stores").text

    response = browser.post("/language", data={"locale": "en", "csrf_token": token, "next": "/stores"})
    assert response.status_code == 303
    assert response.headers["location"] == "/stores"
    session.rollback()
    session.expire_all()
    assert auth_service.get_user(session, user_id=owner.id).locale == "en"

    browser.cookies.delete("xuyen_lang")  # the saved choice alone decides for a signed-in user
    page = browser.get("/stores").text
    assert '<html lang="en">' in page
    assert '<a href="/stores" aria-current="page">Stores</a>' in page
    assert ">Overview</a>" in page and ">Sign out</button>" in page
    assert "Cửa hàng" not in page


def test_switching_language_needs_the_csrf_token_when_signed_in(browser: TestClient, owner: User,
                                                                 session: Session) -> None:
    signed_in_token(browser, owner.email)
    response = browser.post("/language", data={"locale": "en", "next": "/"})
    assert response.status_code == 403
    session.rollback()
    session.expire_all()
    assert auth_service.get_user(session, user_id=owner.id).locale == "vi"


def test_switching_back_to_vietnamese(browser: TestClient, owner: User) -> None:
    token = signed_in_token(browser, owner.email)
    browser.post("/language", data={"locale": "en", "csrf_token": token})
    assert '<html lang="en">' in browser.get("/").text
    browser.post("/language", data={"locale": "vi", "csrf_token": token})
    page = browser.get("/").text
    assert '<html lang="vi">' in page and "Tổng quan" in page


def test_before_sign_in_the_choice_lives_in_a_cookie_only(browser: TestClient, owner: User,
                                                          session: Session) -> None:
    response = browser.post("/language", data={"locale": "en", "next": "/login?next=%2Fstores"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fstores"
    assert browser.cookies["xuyen_lang"] == "en"
    assert "HttpOnly" in response.headers["set-cookie"]
    page = browser.get("/login").text
    assert '<html lang="en">' in page and "Sign in" in page and "Đăng nhập" not in page
    session.rollback()
    session.expire_all()
    assert auth_service.get_user(session, user_id=owner.id).locale == "vi"


def test_the_users_saved_language_wins_over_the_cookie(browser: TestClient, owner: User) -> None:
    browser.post("/language", data={"locale": "en"})
    assert "Sign in" in browser.get("/login").text
    sign_in(browser, owner.email)
    assert '<html lang="vi">' in browser.get("/").text


def test_unknown_language_is_refused(browser: TestClient) -> None:
    response = browser.post("/language", data={"locale": "fr"})
    assert response.status_code == 422
    assert "xuyen_lang" not in browser.cookies


@pytest.mark.parametrize(("header", "lang"), [
    ("en-US,en;q=0.9", "en"),
    ("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", "vi"),
    ("fr-FR,fr;q=0.9", "vi"),
    ("", "vi"),
])
def test_browser_language_is_used_before_any_choice(browser: TestClient, header: str, lang: str) -> None:
    page = browser.get("/login", headers={"accept-language": header}).text
    assert f'<html lang="{lang}">' in page


@pytest.mark.parametrize(("header", "expected"), [
    ("en", True),
    ("en-GB;q=0.8, vi;q=0.5", True),
    ("vi, en;q=0.9", False),
    ("en;q=0, vi;q=0.1", False),
    ("de, en;q=0.5", True),
    ("*", False),
    ("en;q=bad", False),
])
def test_prefers_english(header: str, expected: bool) -> None:
    assert prefers_english(header) is expected
