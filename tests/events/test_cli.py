"""``xuyen source create`` and ``xuyen source list`` on the real root command, against the test database."""

from __future__ import annotations

import re
from typing import Protocol

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from tests.factories import make_store
from xuyen import cli
from xuyen.clock import to_local
from xuyen.events.cli import register
from xuyen.events.models import ChannelType, Event, Source

register(cli.app)


class Run(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(db_url: str) -> Run:
    """Run ``xuyen ARGS`` against the test database (XUYEN_DATABASE_URL is set by ``db_url``)."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli.app, list(args))

    return invoke


def _sources(session: Session) -> list[Source]:
    session.rollback()
    session.expire_all()
    return list(session.scalars(select(Source).order_by(Source.id)))


def test_source_create_prints_the_write_key_once_and_it_authenticates_tracking(
    run: Run, session: Session, client: TestClient
) -> None:
    result = run("source", "create", "--name", "Website xuyen.vn", "--channel", "web")
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"wk_[0-9a-f]{8}_[A-Za-z0-9_-]+", key)
    assert result.stdout.count(key) == 1 and key not in result.stderr
    assert "shown only this once" in result.stderr
    [source] = _sources(session)
    assert (source.name, source.channel, source.store_id) == ("Website xuyen.vn", ChannelType.web, None)
    assert f"Created source {source.id}: Website xuyen.vn (web)." in result.stdout
    assert key.split("_")[1] == source.write_key_prefix and key not in source.write_key_hash

    response = client.post("/v1/track", headers={"X-Write-Key": key},
                           json={"userId": "KH-1", "event": "Product Viewed", "properties": {"sku": "AO-01"}})
    assert response.status_code == 200, response.text
    session.rollback()
    [event] = session.scalars(select(Event)).all()
    assert (event.source_id, event.channel, event.event) == (source.id, "web", "Product Viewed")


def test_source_create_in_a_store_any_case(run: Run, session: Session) -> None:
    store = make_store(session, code="HN01")
    result = run("source", "create", "--name", "POS Hoàn Kiếm", "--channel", "POS", "--store", "hn01")
    assert result.exit_code == 0, result.output
    [source] = _sources(session)
    assert (source.channel, source.store_id) == (ChannelType.pos, store.id)
    assert "(pos, store HN01)" in result.stdout


def test_source_create_with_an_unknown_channel_lists_the_valid_ones(run: Run, session: Session) -> None:
    result = run("source", "create", "--name", "Shop", "--channel", "facebook")
    assert result.exit_code == 2
    message = " ".join(result.stderr.replace("│", " ").split())  # the error box wraps long lines
    assert "'facebook' is not a channel; use one of: web, app, pos, shopee, lazada, tiktok_shop, messenger, " \
           "zalo, whatsapp, email, sms, api." in message
    assert result.stdout == ""
    assert _sources(session) == []


def test_source_create_with_an_unknown_store_names_the_known_ones(run: Run, session: Session) -> None:
    make_store(session, code="HN01")
    make_store(session, code="SG01")
    result = run("source", "create", "--name", "POS Đà Nẵng", "--channel", "pos", "--store", "DN01")
    assert result.exit_code == 1
    assert "There is no store with code 'DN01' (known: HN01, SG01)" in result.stderr
    assert result.stdout == ""
    assert _sources(session) == []


def test_source_create_refuses_a_blank_name(run: Run, session: Session) -> None:
    result = run("source", "create", "--name", "   ", "--channel", "web")
    assert result.exit_code == 1
    assert "A source needs a name" in result.stderr
    assert _sources(session) == []


def test_source_list_shows_prefixes_stores_and_local_times_never_keys(run: Run, session: Session) -> None:
    assert run("source", "list").stdout.startswith("No sources yet.")
    make_store(session, code="HN01")
    keys = [run("source", "create", "--name", name, "--channel", channel, *extra).stdout.splitlines()[-1]
            for name, channel, extra in (("Gian hàng Shopee", "shopee", ()),
                                         ("POS Hoàn Kiếm", "pos", ("--store", "HN01")))]
    result = run("source", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "CHANNEL", "STORE", "KEY", "PREFIX", "ACTIVE", "CREATED",
                                "(Asia/Ho_Chi_Minh)"]
    shopee, pos = sorted(_sources(session), key=lambda source: source.channel.value, reverse=True)
    pos_line = next(line for line in lines if "POS Hoàn Kiếm" in line)
    shopee_line = next(line for line in lines if "Gian hàng Shopee" in line)
    assert pos_line.split()[:5] == [str(pos.id), "POS", "Hoàn", "Kiếm", "pos"]
    assert " HN01 " in pos_line and f"wk_{pos.write_key_prefix}_…" in pos_line
    assert to_local(pos.created_at, "Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M:%S") in pos_line
    assert " - " in shopee_line and f"wk_{shopee.write_key_prefix}_…" in shopee_line
    for key in keys:
        assert key.split("_", 2)[2] not in result.stdout


def test_register_twice_adds_the_group_once() -> None:
    app = typer.Typer()
    register(app)
    register(app)
    assert [group.name for group in app.registered_groups] == ["source"]
