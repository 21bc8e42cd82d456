"""The sync's jobs: importing pushed orders, recovering lost pushes, sending and sweeping stock pushes,
reconciling stock, and its reaction to ``stock.available_changed``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.marketplaces import orders_sync, stock_sync
from xuyen.commerce.marketplaces.connections import SYNC_JOB, is_syncable, list_connections
from xuyen.commerce.marketplaces.models import ActivityEntry, MarketplacePush
from xuyen.jobs import add_job_once, job, periodic
from xuyen.outbox import DomainEvent, on_event

__all__ = ["RECONCILE_JOB", "SYNC_JOB"]

SYNC_ALL_JOB = "marketplaces.sync_all"
RECONCILE_JOB = "marketplaces.reconcile"
RECONCILE_ALL_JOB = "marketplaces.reconcile_all"
SWEEP_JOB = "marketplaces.sweep_stock"
PRUNE_JOB = "marketplaces.prune"
KEEP_ACTIVITY = timedelta(days=90)
KEEP_PUSHES = timedelta(days=30)
SYNC_EVERY = timedelta(minutes=10)
RECONCILE_EVERY = timedelta(hours=6)
SWEEP_EVERY = timedelta(minutes=1)


@on_event("stock.available_changed", name="marketplaces.queue_stock_pushes")
def stock_changed(session: Session, event: DomainEvent) -> None:
    """Mark the pushes of the changed variants' listings pending."""
    variant_ids = [int(value) for value in event.payload.get("variant_ids") or [] if isinstance(value, int)]
    stock_sync.queue_stock_pushes(session, variant_ids=variant_ids)


@job(orders_sync.IMPORT_JOB, isolated=True)
def import_order(session: Session, payload: dict[str, Any]) -> None:
    """Fetch the orders a push named and hand them over."""
    orders_sync.import_orders(session, connection_id=int(payload["connection_id"]),
                              order_ids=[str(value) for value in payload.get("order_ids") or []],
                              source=str(payload.get("source", "push")), attempt=int(payload.get("attempt", 1)))


@job(SYNC_JOB, isolated=True)
def sync_orders(session: Session, payload: dict[str, Any]) -> None:
    """List one shop's orders updated since its last sync and import what no push brought."""
    orders_sync.sync_orders(session, connection_id=int(payload["connection_id"]))


@job(stock_sync.PUSH_JOB, isolated=True)
def push_stock(session: Session, payload: dict[str, Any]) -> None:
    """Send one shop's due stock pushes."""
    stock_sync.send_stock_pushes(session, connection_id=int(payload["connection_id"]))


@job(RECONCILE_JOB, isolated=True)
def reconcile(session: Session, payload: dict[str, Any]) -> None:
    """Compare one shop's stock on the platform with ours and repair drift."""
    stock_sync.reconcile(session, connection_id=int(payload["connection_id"]))


def _per_shop(session: Session, name: str, every: timedelta) -> None:
    bucket = int(utcnow().timestamp() // every.total_seconds())
    for connection in list_connections(session, active_only=True):
        if is_syncable(connection):
            add_job_once(session, name=name, dedupe_key=f"{name}:{connection.id}:{bucket}",
                         payload={"connection_id": connection.id})


@job(SYNC_ALL_JOB)
def sync_all(session: Session, payload: dict[str, Any]) -> None:
    """Queue the recovery sync of every synced shop."""
    _per_shop(session, SYNC_JOB, SYNC_EVERY)


@job(RECONCILE_ALL_JOB)
def reconcile_all(session: Session, payload: dict[str, Any]) -> None:
    """Queue the stock reconciliation of every synced shop."""
    _per_shop(session, RECONCILE_JOB, RECONCILE_EVERY)


@job(SWEEP_JOB)
def sweep_stock(session: Session, payload: dict[str, Any]) -> None:
    """Queue the push job of every shop with due pending pushes (a lost or failed job never strands a push)."""
    now = utcnow()
    for connection_id in stock_sync.due_connections(session, now=now):
        stock_sync.schedule_push(session, connection_id=connection_id, at=now)


@job(PRUNE_JOB)
def prune(session: Session, payload: dict[str, Any]) -> None:
    """Forget activity older than 90 days and raw pushes older than 30 (their orders are kept)."""
    now = utcnow()
    session.execute(delete(ActivityEntry).where(ActivityEntry.created_at < now - KEEP_ACTIVITY))
    session.execute(delete(MarketplacePush).where(MarketplacePush.received_at < now - KEEP_PUSHES))


periodic(SYNC_ALL_JOB, every=SYNC_EVERY)
periodic(PRUNE_JOB, every=timedelta(days=1))
periodic(RECONCILE_ALL_JOB, every=RECONCILE_EVERY)
periodic(SWEEP_JOB, every=SWEEP_EVERY)
