"""``xuyen user`` and ``xuyen apikey`` on the real root command, against the test database."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from tests.api_client import API, assert_problem, bearer, reload_user, sign_in
from tests.factories import PASSWORD, make_store, make_user
from xuyen import cli
from xuyen.auth.cli import register
from xuyen.auth.models import ApiKey, Role, User
from xuyen.config import get_settings
from xuyen.db import dispose_engines

register(cli.app)


class Run(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> Result: ...


@pytest.fixture
def run(db_url: str) -> Run:
    """Run ``xuyen ARGS`` against the test database (XUYEN_DATABASE_URL is set by ``db_url``)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli.app, list(args), input=input)

    return invoke


def _user(session: Session, email: str) -> User:
    session.rollback()
    user_id = session.scalars(select(User.id).where(User.email == email)).one()
    return reload_user(session, user_id)


def test_user_create_with_a_password_option(run: Run, session: Session, client: TestClient) -> None:
    make_store(session, code="HN01")
    result = run("user", "create", "--email", "Mai@Shop.vn", "--name", "Phạm Thị Mai", "--role", "manager",
                 "--store", "hn01", "--locale", "en", "--password", "mật khẩu của Mai")
    assert result.exit_code == 0, result.output
    assert "Created manager mai@shop.vn" in result.stdout
    user = _user(session, "mai@shop.vn")
    assert (user.role, user.locale, user.name) == (Role.manager, "en", "Phạm Thị Mai")
    assert user.password_hash.startswith("$argon2id$")
    assert sign_in(client, "mai@shop.vn", "mật khẩu của Mai").status_code == 200


def test_user_create_asks_for_the_password_twice(run: Run, session: Session) -> None:
    result = run("user", "create", "--email", "chu@shop.vn", "--name", "Chủ", "--role", "owner",
                 input="bí mật dài lắm\nbí mật dài lắm\n")
    assert result.exit_code == 0, result.output
    assert "bí mật dài lắm" not in result.output  # typed without echo
    user = _user(session, "chu@shop.vn")
    assert user.locale == "vi"  # XUYEN_DEFAULT_LOCALE
    assert user.store_id is None


def test_user_create_with_an_unknown_store_lists_the_known_ones(run: Run, session: Session) -> None:
    make_store(session, code="HN01")
    make_store(session, code="SG01")
    result = run("user", "create", "--email", "a@shop.vn", "--name", "A", "--role", "agent",
                 "--store", "DN01",
                 "--password", PASSWORD)
    assert result.exit_code == 1
    assert "There is no store with code 'DN01' (known: HN01, SG01)" in result.stderr
    assert result.stdout == ""
    session.rollback()
    assert session.scalars(select(User)).all() == []


@pytest.mark.parametrize(("args", "message"), [
    (("--email", "not-an-email", "--password", PASSWORD), "is not an e-mail address"),
    (("--email", "a@shop.vn", "--password", "short"), "at least 8 characters"),
    (("--email", "a@shop.vn", "--password", PASSWORD, "--role", "admin"), "'admin'"),
])
def test_user_create_explains_bad_input(run: Run, args: tuple[str, ...], message: str) -> None:
    base = ("user", "create", "--name", "A")
    role = () if "--role" in args else ("--role", "agent")
    result = run(*base, *role, *args)
    assert result.exit_code != 0
    assert message in result.stderr


def test_user_create_refuses_a_second_account_for_one_email(run: Run, session: Session) -> None:
    make_user(session, email="a@shop.vn")
    result = run("user", "create", "--email", "A@shop.vn", "--name", "A", "--role", "agent",
                 "--password", PASSWORD)
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_user_list_shows_users_with_store_codes(run: Run, session: Session) -> None:
    assert "No users yet" in run("user", "list").stdout
    hanoi = make_store(session, code="HN01")
    make_user(session, email="agent@shop.vn", store=hanoi)
    make_user(session, email="owner@shop.vn", role=Role.owner)
    result = run("user", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "E-MAIL", "NAME", "ROLE", "STORE", "ACTIVE", "LANG", "LAST", "SIGN-IN"]
    assert any("agent@shop.vn" in line and "HN01" in line for line in lines)
    only_hanoi = run("user", "list", "--store", "HN01").stdout
    assert "agent@shop.vn" in only_hanoi and "owner@shop.vn" not in only_hanoi


def test_user_set_password_replaces_it_and_signs_the_user_out(
        run: Run, session: Session, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XUYEN_LOGIN_MAX_FAILURES", "2")
    get_settings.cache_clear()
    user = make_user(session)
    assert sign_in(client, user.email).status_code == 200
    for _ in range(2):
        assert sign_in(client, user.email, "wrong password").status_code == 401
    assert_problem(sign_in(client, user.email), 429, "login_rate_limited")
    result = run("user", "set-password", "--email", user.email,
                 input="mật khẩu mới tinh\nmật khẩu mới tinh\n")
    assert result.exit_code == 0, result.output
    assert_problem(client.get(f"{API}/me"), 401, "not_authenticated")
    assert sign_in(client, user.email, "mật khẩu mới tinh").status_code == 200  # the lock is lifted too
    assert sign_in(client, user.email).status_code == 401
    missing = run("user", "set-password", "--email", "nobody@shop.vn", "--password", PASSWORD)
    assert missing.exit_code == 1
    assert "xuyen user list" in missing.stderr


def test_apikey_create_prints_a_working_key_once(run: Run, session: Session, client: TestClient) -> None:
    make_store(session, code="HN01")
    result = run("apikey", "create", "--role", "manager", "--name", "POS Hà Nội", "--store", "HN01")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("xk_")
    assert "shown only this once" in result.stderr
    assert key not in result.stderr
    session.rollback()
    row: ApiKey = session.scalars(select(ApiKey)).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()

    me = client.get(f"{API}/me", headers=bearer(key))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "manager" and me.json()["store_id"] == row.store_id

    listed = run("apikey", "list")
    assert listed.exit_code == 0, listed.output
    assert f"xk_{row.prefix}_" in listed.stdout and "POS Hà Nội" in listed.stdout
    assert key not in listed.stdout

    revoked = run("apikey", "revoke", str(row.id))
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in revoked.stdout
    assert_problem(client.get(f"{API}/me", headers=bearer(key)), 401, "invalid_api_key")


def test_apikey_errors_are_red_messages_with_exit_code_1(run: Run, session: Session) -> None:
    missing = run("apikey", "revoke", "4242")
    assert missing.exit_code == 1
    assert "There is no API key 4242" in missing.stderr
    bad_store = run("apikey", "create", "--role", "agent", "--name", "x", "--store", "NOPE")
    assert bad_store.exit_code == 1
    assert "known: none yet" in bad_store.stderr
    owner_with_store = run("apikey", "create", "--role", "owner", "--name", "x", "--store",
                           make_store(session, code="HN01").code)
    assert owner_with_store.exit_code == 1
    assert "Owners see every store" in owner_with_store.stderr


def test_an_unmigrated_database_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XUYEN_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["apikey", "list"])
    finally:
        get_settings.cache_clear()
        dispose_engines()
    assert result.exit_code == 1
    assert "xuyen migrate" in result.stderr


def test_registering_twice_adds_the_commands_once() -> None:
    register(cli.app)
    names = [group.name for group in cli.app.registered_groups]
    assert names.count("user") == 1
    assert names.count("apikey") == 1


@pytest.mark.parametrize("command", [
    ("user",), ("user", "create"), ("user", "list"), ("user", "set-password"),
    ("apikey",), ("apikey", "create"), ("apikey", "list"), ("apikey", "revoke"),
])
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli.app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
