"""The sync's periodic jobs: every synced shop gets its recovery sync and reconciliation (demo and disconnected
shops none), a stranded pending push is swept up, and old activity and raw pushes are forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.commerce.marketplaces.conftest import SHOP, Contracts, connect_shopee, list_variant, make_variant
from tests.fakes.shopee import FakeShopee

from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import activity, handlers, service, stock_sync
from xuyen.commerce.marketplaces.connections import connect_helper
from xuyen.commerce.marketplaces.models import ActivityEntry, ActivityKind, MarketplacePush, StockPush
from xuyen.jobs import Job


def _jobs(session: Session, name: str) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.name == name)))


def test_every_synced_shop_gets_its_periodic_jobs_once(session: Session, shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    live = connect_shopee(session, fake, url)
    connect_helper(session, channel="shopee", name="Shopee demo", is_demo=True,
                   settings={"partner_id": "1", "shop_id": "2"},
                   secrets={"partner_key": "k", "access_token": "a", "refresh_token": "r"})
    gone = connect_shopee(session, fake, url, shop_id=3)
    session.commit()
    service.disconnect(session, connection_id=gone.id, actor="test")
    session.execute(Job.__table__.delete())
    for _ in range(2):  # two workers scheduling in the same period
        handlers.sync_all(session, {})
        handlers.reconcile_all(session, {})
    session.commit()
    assert [job.payload for job in _jobs(session, handlers.SYNC_JOB)] == [{"connection_id": live.id}]
    assert [job.payload for job in _jobs(session, handlers.RECONCILE_JOB)] == [{"connection_id": live.id}]


def test_a_stranded_pending_push_is_swept_up(session: Session, shopee: tuple[FakeShopee, str],
                                             contracts: Contracts) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    variant = make_variant(session, "SWEPT")
    list_variant(session, variant, channel=SalesChannel.shopee, account=str(SHOP), item_id="1", model_id="2")
    stock_sync.queue_stock_pushes(session, variant_ids=[variant.id], delay=timedelta(0))
    session.execute(Job.__table__.delete().where(Job.name == stock_sync.PUSH_JOB))  # the job was lost
    session.commit()
    assert session.scalars(select(StockPush)).one().connection_id == connection.id
    handlers.sweep_stock(session, {})
    session.commit()
    assert [job.payload for job in _jobs(session, stock_sync.PUSH_JOB)] == [{"connection_id": connection.id}]


def test_old_activity_and_raw_pushes_are_forgotten(session: Session, shopee: tuple[FakeShopee, str]) -> None:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    old = datetime.now(UTC) - timedelta(days=100)
    stale = activity.log(session, connection_id=connection.id, kind=ActivityKind.stock_sent, message="old")
    stale.created_at = old
    session.add(MarketplacePush(connection_id=connection.id, dedupe_key="k", kind="order", body="{}", received_at=old))
    session.commit()
    handlers.prune(session, {})
    session.commit()
    assert all(entry.message != "old" for entry in session.scalars(select(ActivityEntry)))
    assert session.scalars(select(MarketplacePush)).all() == []
