"""``xuyen marketplace`` on the real root command, against the test database."""

from __future__ import annotations

from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from xuyen import cli
from xuyen.commerce.marketplaces.cli import register
from xuyen.commerce.marketplaces.models import MarketplaceConnection
from xuyen.sealing import unseal

register(cli.app)


class Run(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run ``xuyen ARGS`` against the test database (XUYEN_DATABASE_URL is set by ``db_url``)."""
    runner = CliRunner()
    monkeypatch.setenv("XUYEN_MARKETPLACE_SECRET_PARTNER_KEY", "pk-from-env")

    def invoke(*args: str) -> Result:
        return runner.invoke(cli.app, list(args))

    return invoke


def test_a_shop_is_connected_listed_synced_and_disconnected_from_the_command_line(run: Run, session: Session) -> None:
    assert "partner_key (secret)" in run("marketplace", "kinds").output
    made = run("marketplace", "connect", "--channel", "shopee", "--name", "Shopee – Xuyên",
               "--setting", "partner_id=2001234", "--setting", "shop_id=880001",
               "--secret", "access_token=a", "--secret", "refresh_token=r")
    assert made.exit_code == 0, made.output
    assert "/webhooks/marketplaces/shopee/2001234" in made.output
    shop = session.scalars(select(MarketplaceConnection)).one()
    assert unseal(shop.sealed_secrets)["partner_key"] == "pk-from-env"
    listed = run("marketplace", "list")
    assert "Shopee – Xuyên" in listed.output and "880001" in listed.output
    assert run("marketplace", "sync", str(shop.id)).exit_code == 0
    assert run("marketplace", "reconcile", str(shop.id)).exit_code == 0
    assert "connected" in run("marketplace", "activity", "--shop", str(shop.id)).output
    assert run("marketplace", "disconnect", str(shop.id)).exit_code == 0
    refused = run("marketplace", "sync", str(shop.id))
    assert refused.exit_code == 1 and "active" in refused.output


def test_bad_input_is_refused_with_a_reason(run: Run) -> None:
    missing = run("marketplace", "connect", "--channel", "shopee", "--name", "X", "--setting", "partner_id=1")
    assert missing.exit_code == 1 and "shop_id" in missing.output
    assert run("marketplace", "connect", "--channel", "shopee", "--name", "X", "--setting", "oops").exit_code == 2
    assert run("marketplace", "disconnect", "404").exit_code == 1
