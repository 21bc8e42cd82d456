"""Stock on the marketplaces: coalesced pushes of what each channel may sell, retried with backoff until the
platform accepts them, and reconciliation that reads the platform's numbers back and repairs drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.commerce.marketplaces.conftest import (
    SELLER,
    SHOP,
    Contracts,
    connect_lazada,
    connect_shopee,
    fresh,
    list_variant,
    make_variant,
)
from tests.fakes.lazada import FakeLazada
from tests.fakes.shopee import FakeShopee

from xuyen.commerce.catalogue.models import ChannelListing, Variant
from xuyen.commerce.channels import SalesChannel
from xuyen.commerce.marketplaces import stock_sync
from xuyen.commerce.marketplaces.models import (
    ActivityEntry,
    ActivityKind,
    MarketplaceConnection,
    StockPush,
    StockPushState,
)
from xuyen.jobs import Job
from xuyen.outbox import emit
from xuyen.worker import Worker

SHOPEE = SalesChannel.shopee


def _activity(session: Session, kind: ActivityKind) -> list[ActivityEntry]:
    session.rollback()
    return list(session.scalars(select(ActivityEntry).where(ActivityEntry.kind == kind).order_by(ActivityEntry.id)))


def _later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _shop_with_listing(session: Session, shopee: tuple[FakeShopee, str], *,
                       stock_there: int = 0) -> tuple[FakeShopee, MarketplaceConnection, Variant, ChannelListing]:
    fake, url = shopee
    connection = connect_shopee(session, fake, url)
    variant = make_variant(session, "AT-DEN-M")
    listing = list_variant(session, variant, channel=SHOPEE, account=str(SHOP), item_id="1001", model_id="5001")
    fake.stock[SHOP][(1001, 5001)] = stock_there
    return fake, connection, variant, listing


def test_many_changes_within_the_window_make_one_push_of_the_latest_value(
        session: Session, shopee: tuple[FakeShopee, str], contracts: Contracts) -> None:
    fake, connection, variant, listing = _shop_with_listing(session, shopee)
    for quantity in (10, 9, 8, 7):  # four sales in a few seconds
        contracts.stock[(SHOPEE, variant.id)] = quantity
        stock_sync.queue_stock_pushes(session, variant_ids=[variant.id])
        session.commit()
    [row] = session.scalars(select(StockPush)).all()
    assert (row.state, row.generation) == (StockPushState.pending, 4)
    assert stock_sync.send_stock_pushes(session, connection_id=connection.id).sent == {}  # not due yet
    summary = stock_sync.send_stock_pushes(session, connection_id=connection.id, now=_later(6))
    session.commit()
    assert summary.sent == {listing.id: 7}
    assert len(fake.calls_to("/api/v2/product/update_stock")) == 1
    assert fake.stock[SHOP][(1001, 5001)] == 7
    stored = fresh(session, row)
    assert (stored.state, stored.sent_quantity, stored.attempts) == (StockPushState.sent, 7, 0)
    [sent] = _activity(session, ActivityKind.stock_sent)
    assert sent.message == "Stock of AT-DEN-M (1001/5001) set to 7."


def test_a_stock_event_from_the_outbox_marks_the_push_and_queues_the_job(
        engine: Engine, session: Session, shopee: tuple[FakeShopee, str], contracts: Contracts) -> None:
    _, connection, variant, listing = _shop_with_listing(session, shopee)
    other = make_variant(session, "NOT-LISTED")
    contracts.stock[(SHOPEE, variant.id)] = 5
    emit(session, topic="stock.available_changed", aggregate_type="variant", aggregate_id=variant.id,
         payload={"variant_ids": [variant.id, other.id]})
    session.commit()
    Worker(engine=engine, periodic=False).run_until_idle()
    session.rollback()
    [row] = session.scalars(select(StockPush)).all()
    assert row.listing_id == listing.id and row.state == StockPushState.pending
    [queued] = session.scalars(select(Job).where(Job.name == stock_sync.PUSH_JOB)).all()
    assert queued.payload == {"connection_id": connection.id} and queued.run_at >= row.due_at - timedelta(seconds=1)


def test_a_throttled_push_is_retried_with_backoff_until_accepted(
        session: Session, shopee: tuple[FakeShopee, str], contracts: Contracts) -> None:
    fake, connection, variant, listing = _shop_with_listing(session, shopee, stock_there=3)
    contracts.stock[(SHOPEE, variant.id)] = 12
    stock_sync.queue_stock_pushes(session, variant_ids=[variant.id], delay=timedelta(0))
    session.commit()
    fake.fail_next((429, "error_too_many_request"), (500, "error_server"))

    first = stock_sync.send_stock_pushes(session, connection_id=connection.id)
    session.commit()
    row = session.scalars(select(StockPush)).one()
    assert first.sent == {} and row.state == StockPushState.pending and row.attempts == 1
    first_wait = row.due_at - datetime.now(UTC)
    assert timedelta(seconds=5) < first_wait <= timedelta(seconds=10)

    second = stock_sync.send_stock_pushes(session, connection_id=connection.id, now=row.due_at)
    session.commit()
    row = fresh(session, row)
    assert second.sent == {} and row.attempts == 2
    assert row.due_at - second.retry_at < timedelta(seconds=1)  # type: ignore[operator]
    assert fake.stock[SHOP][(1001, 5001)] == 3  # nothing accepted yet, nothing lost

    contracts.stock[(SHOPEE, variant.id)] = 11  # a sale meanwhile: the retry sends the latest value
    third = stock_sync.send_stock_pushes(session, connection_id=connection.id, now=row.due_at)
    session.commit()
    assert third.sent == {listing.id: 11} and fake.stock[SHOP][(1001, 5001)] == 11
    assert fresh(session, row).state == StockPushState.sent
    retries = _activity(session, ActivityKind.stock_retry)
    assert len(retries) == 2 and all(entry.level == "warning" for entry in retries)
    assert fresh(session, row).attempts == 0


def test_a_listing_the_platform_refuses_stays_pending_with_its_error(
        session: Session, shopee: tuple[FakeShopee, str], contracts: Contracts) -> None:
    _, connection, variant, _ = _shop_with_listing(session, shopee)
    ghost = make_variant(session, "GHOST")
    ghost_listing = list_variant(session, ghost, channel=SHOPEE, account=str(SHOP), item_id="1001", model_id="7777")
    contracts.stock[(SHOPEE, variant.id)] = 4
    contracts.stock[(SHOPEE, ghost.id)] = 2
    stock_sync.queue_stock_pushes(session, variant_ids=[variant.id, ghost.id], delay=timedelta(0))
    session.commit()
    summary = stock_sync.send_stock_pushes(session, connection_id=connection.id)
    session.commit()
    assert list(summary.sent.values()) == [4] and summary.refused == {ghost_listing.id: "Model not found."}
    ghost_row = session.scalars(select(StockPush).where(StockPush.listing_id == ghost_listing.id)).one()
    assert ghost_row.state == StockPushState.pending and ghost_row.last_error == "Model not found."
    assert ghost_row.due_at > datetime.now(UTC)
    [failed] = _activity(session, ActivityKind.stock_failed)
    assert failed.level == "error" and "7777" in failed.message


def test_a_change_after_a_push_makes_it_pending_again(session: Session, shopee: tuple[FakeShopee, str],
                                                      contracts: Contracts) -> None:
    fake, connection, variant, _ = _shop_with_listing(session, shopee)
    contracts.stock[(SHOPEE, variant.id)] = 4
    stock_sync.queue_stock_pushes(session, variant_ids=[variant.id], delay=timedelta(0))
    session.commit()
    stock_sync.send_stock_pushes(session, connection_id=connection.id)
    session.commit()
    contracts.stock[(SHOPEE, variant.id)] = 0
    stock_sync.queue_stock_pushes(session, variant_ids=[variant.id], delay=timedelta(0))
    session.commit()
    stock_sync.send_stock_pushes(session, connection_id=connection.id)
    session.commit()
    assert fake.stock[SHOP][(1001, 5001)] == 0
    assert len(fake.calls_to("/api/v2/product/update_stock")) == 2


def test_inactive_listings_and_disconnected_shops_are_not_pushed(session: Session, shopee: tuple[FakeShopee, str],
                                                                 contracts: Contracts) -> None:
    fake, url = shopee
    connect_shopee(session, fake, url)
    variant = make_variant(session, "OFF")
    list_variant(session, variant, channel=SHOPEE, account=str(SHOP), item_id="1", model_id="2", active=False)
    other = make_variant(session, "ELSEWHERE")
    list_variant(session, other, channel=SHOPEE, account="999", item_id="1", model_id="3")
    assert stock_sync.queue_stock_pushes(session, variant_ids=[variant.id, other.id]) == 0
    session.commit()
    assert session.scalars(select(StockPush)).all() == []


def test_reconciliation_repairs_drift_and_logs_what_it_found(session: Session, shopee: tuple[FakeShopee, str],
                                                             contracts: Contracts) -> None:
    fake, connection, variant, listing = _shop_with_listing(session, shopee, stock_there=9)
    right = make_variant(session, "RIGHT")
    list_variant(session, right, channel=SHOPEE, account=str(SHOP), item_id="1001", model_id="5002")
    fake.stock[SHOP][(1001, 5002)] = 3
    missing = make_variant(session, "MISSING")
    missing_listing = list_variant(session, missing, channel=SHOPEE, account=str(SHOP), item_id="1001",
                                   model_id="5003")
    contracts.stock.update({(SHOPEE, variant.id): 4, (SHOPEE, right.id): 3, (SHOPEE, missing.id): 1})

    summary = stock_sync.reconcile(session, connection_id=connection.id)
    session.commit()
    assert summary.checked == 3 and summary.drifted == {listing.id: (9, 4)} and summary.missing == [missing_listing.id]
    assert fake.stock[SHOP][(1001, 5001)] == 4 and fake.stock[SHOP][(1001, 5002)] == 3
    drift = _activity(session, ActivityKind.drift_found)
    assert len(drift) == 2
    assert drift[0].details == {"listing_id": listing.id, "label": "AT-DEN-M (1001/5001)", "platform": 9,
                                "expected": 4}
    [done] = _activity(session, ActivityKind.reconciled)
    assert "1 drifted" in done.message and done.level == "warning"

    again = stock_sync.reconcile(session, connection_id=connection.id)
    session.commit()
    assert again.drifted == {}


def test_lazada_sellable_quantities_are_pushed_and_reconciled(session: Session, lazada: tuple[FakeLazada, str],
                                                              contracts: Contracts) -> None:
    fake, url = lazada
    connection = connect_lazada(session, fake, url)
    variant = make_variant(session, "QJ-30")
    listing = list_variant(session, variant, channel=SalesChannel.lazada, account=SELLER, item_id="3001",
                           sku="QJ-30")
    fake.stock[SELLER][("3001", "QJ-30")] = 50
    contracts.stock[(SalesChannel.lazada, variant.id)] = 6
    stock_sync.queue_stock_pushes(session, variant_ids=[variant.id], delay=timedelta(0))
    session.commit()
    fake.fail_next(("ISP", "ApiCallLimit"))
    assert stock_sync.send_stock_pushes(session, connection_id=connection.id).sent == {}
    session.commit()
    row = session.scalars(select(StockPush)).one()
    assert stock_sync.send_stock_pushes(session, connection_id=connection.id, now=row.due_at).sent == {listing.id: 6}
    session.commit()
    assert fake.stock[SELLER][("3001", "QJ-30")] == 6
    fake.stock[SELLER][("3001", "QJ-30")] = 2  # someone edited it in Seller Center
    assert stock_sync.reconcile(session, connection_id=connection.id).drifted == {listing.id: (2, 6)}
    session.commit()
    assert fake.stock[SELLER][("3001", "QJ-30")] == 6
