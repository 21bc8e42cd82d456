"""The demo's marketplaces: a Shopee and a Lazada shop connected as demo shops that the sync never calls, with
stock pushes and the orders step's marketplace orders in their activity log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.commerce.marketplaces import handlers
from xuyen.commerce.marketplaces.models import (
    ActivityEntry,
    ActivityKind,
    MarketplaceConnection,
    SeenOrder,
    StockPush,
)
from xuyen.demo.service import load_demo, load_steps
from xuyen.jobs import Job


def _load(session: Session) -> None:
    wanted = {"cửa hàng", "nguồn", "nhân viên", "sàn TMĐT"}
    load_demo(session, seed=2026, steps=[step for step in load_steps() if step.name in wanted])
    session.rollback()


def test_the_demo_connects_two_demo_shops_that_are_never_called(session: Session) -> None:
    _load(session)
    shops = session.scalars(select(MarketplaceConnection).order_by(MarketplaceConnection.channel)).all()
    assert [(shop.channel.value, shop.is_demo, shop.status.value) for shop in shops] == \
        [("lazada", True, "active"), ("shopee", True, "active")]
    assert all("demo.invalid" in shop.settings["api_base"] for shop in shops)
    handlers.sync_all(session, {})
    handlers.reconcile_all(session, {})
    session.flush()
    assert session.scalars(select(Job).where(Job.name.like("marketplaces.%"))).all() == []
    session.rollback()


def test_the_whole_demo_shows_stock_pushes_and_imported_orders(session: Session) -> None:
    load_demo(session, seed=2026)
    session.rollback()
    pushes = session.scalars(select(StockPush)).all()
    assert pushes and all(push.state.value == "sent" for push in pushes)
    assert any(push.sent_quantity for push in pushes)  # the demo's stock reaches the marketplaces
    kinds = {entry.kind for entry in session.scalars(select(ActivityEntry))}
    assert ActivityKind.stock_sent in kinds
    assert ActivityKind.order_imported in kinds
    assert session.scalars(select(SeenOrder)).all()
