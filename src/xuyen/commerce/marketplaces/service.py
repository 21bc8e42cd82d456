"""The marketplace sync's services for the API and pages: connected shops with their state, the activity log,
and asking for a sync or a reconciliation now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from xuyen import audit
from xuyen.commerce.marketplaces.activity import list_activity
from xuyen.commerce.marketplaces.connections import (
    connect,
    disconnect,
    get_connection,
    installed_kinds,
    is_syncable,
    list_connections,
)
from xuyen.commerce.marketplaces.handlers import RECONCILE_JOB, SYNC_JOB
from xuyen.commerce.marketplaces.models import MarketplaceConnection, SeenOrder, StockPush, StockPushState
from xuyen.errors import Conflict
from xuyen.jobs import URGENT, add_job

__all__ = ["ShopStatus", "connect", "disconnect", "get_connection", "installed_kinds", "list_activity",
           "list_connections", "request_reconcile", "request_sync", "shop_statuses"]


@dataclass(frozen=True)
class ShopStatus:
    """A connected shop as the Marketplaces page shows it."""

    connection: MarketplaceConnection
    pending_pushes: int
    failing_pushes: int
    orders_seen: int
    last_stock_sent_at: datetime | None


def shop_statuses(session: Session) -> list[ShopStatus]:
    """Every connected shop with its pending stock pushes, orders seen and last stock push."""
    pending = _counts(session, select(StockPush.connection_id, func.count()).where(
        StockPush.state == StockPushState.pending).group_by(StockPush.connection_id))
    failing = _counts(session, select(StockPush.connection_id, func.count()).where(
        StockPush.state == StockPushState.pending, StockPush.attempts > 0).group_by(StockPush.connection_id))
    orders = _counts(session, select(SeenOrder.connection_id, func.count()).group_by(SeenOrder.connection_id))
    sent: dict[int, datetime | None] = {row[0]: row[1] for row in session.execute(
        select(StockPush.connection_id, func.max(StockPush.sent_at)).group_by(StockPush.connection_id))}
    return [ShopStatus(connection=connection, pending_pushes=int(pending.get(connection.id, 0)),
                       failing_pushes=int(failing.get(connection.id, 0)), orders_seen=int(orders.get(connection.id, 0)),
                       last_stock_sent_at=sent.get(connection.id))
            for connection in list_connections(session)]


def _counts(session: Session, query: Select[int, int]) -> dict[int, int]:
    return {int(row[0]): int(row[1]) for row in session.execute(query)}


def _ask(session: Session, *, connection_id: int, name: str, actor: str, what: str) -> MarketplaceConnection:
    connection = get_connection(session, connection_id=connection_id)
    if not is_syncable(connection):
        raise Conflict(f"Shop '{connection.name}' is {'a demo shop' if connection.is_demo else connection.status.value}"
                       f"; only active shops are synced. Reconnect it first.", code="marketplace_not_syncable")
    add_job(session, name=name, payload={"connection_id": connection.id}, priority=URGENT)
    audit.record(session, actor=actor, action=f"marketplace.{what}_requested", subject_type="marketplace_connection",
                 subject_id=connection.id)
    session.commit()
    return connection


def request_sync(session: Session, *, connection_id: int, actor: str) -> MarketplaceConnection:
    """Run the shop's order recovery sync now (in the worker)."""
    return _ask(session, connection_id=connection_id, name=SYNC_JOB, actor=actor, what="sync")


def request_reconcile(session: Session, *, connection_id: int, actor: str) -> MarketplaceConnection:
    """Run the shop's stock reconciliation now (in the worker)."""
    return _ask(session, connection_id=connection_id, name=RECONCILE_JOB, actor=actor, what="reconcile")
