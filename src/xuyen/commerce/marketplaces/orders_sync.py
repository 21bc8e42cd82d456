"""Orders from the marketplaces: fetching an order a push named, recovering orders whose push never came, and
handing each new or changed order to the orders domain as an ``ExternalOrder``.

Both paths end in ``import_orders``, which skips an order whose state there has not changed since it was last
handed over (``marketplace_orders``), so a push and the recovery finding the same change hand it over once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from xuyen.channels.marketplace import MarketplaceAdapter, MarketplaceError, MarketplaceOrder, OrderRef
from xuyen.clock import utcnow
from xuyen.commerce.marketplaces import activity, ports
from xuyen.commerce.marketplaces.connections import (
    build_adapter,
    flag_credentials,
    get_connection,
    is_syncable,
    keep_rotated,
)
from xuyen.commerce.marketplaces.models import ActivityKind, ActivityLevel, MarketplaceConnection, SeenOrder
from xuyen.commerce.orders.external import ExternalLine, ExternalOrder, ExternalStatus
from xuyen.errors import XuyenError
from xuyen.jobs import add_job

log = logging.getLogger("xuyen.marketplaces")

IMPORT_JOB = "marketplaces.import_order"
FIRST_LOOKBACK = timedelta(days=3)  # how far back a new shop's first recovery looks
OVERLAP = timedelta(minutes=5)  # each recovery lists again the end of the previous one (platform clocks drift)
MAX_IMPORT_ATTEMPTS = 5


@dataclass
class ImportSummary:
    """What one import did: orders handed over new, updated, unchanged, failed."""

    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def buyer_scope(connection: MarketplaceConnection) -> str:
    """The identity graph scope of this shop's buyer ids (``shopee:<shop_id>``)."""
    return f"{connection.channel.value}:{connection.account}"


def payment_method(order: MarketplaceOrder) -> str:
    """The orders domain's payment method: cash on delivery, or paid to the platform, which pays the shop with
    its settlement (a bank transfer)."""
    return "cod" if order.payment_method == "cod" else "bank_transfer"


def to_external(connection: MarketplaceConnection, order: MarketplaceOrder) -> ExternalOrder:
    """The platform order as the orders domain takes it."""
    identifiers: list[tuple[str, str, str | None]] = []
    if order.buyer_id:
        identifiers.append(("marketplace_buyer_id", order.buyer_id, buyer_scope(connection)))
    if order.phone:
        identifiers.append(("phone", order.phone, None))
    return ExternalOrder(
        channel=connection.channel, account=connection.account, external_id=order.order_id,
        status=ExternalStatus(order.status), placed_at=order.placed_at, updated_at=order.updated_at,
        lines=[ExternalLine(external_item_id=line.item_id, external_model_id=line.model_id, external_sku=line.sku,
                            quantity=line.quantity, unit_price=line.unit_price, name=line.name,
                            discount=line.discount) for line in order.lines],
        total=order.total, shipping_fee=order.shipping_fee, payment_method=payment_method(order),
        buyer_identifiers=identifiers, buyer_name=order.buyer_name, shipping_address=dict(order.address),
        raw_status=order.raw_status, raw=dict(order.raw))


def import_orders(session: Session, *, connection_id: int, order_ids: list[str], source: str,
                  attempt: int = 1) -> ImportSummary:
    """Fetch these orders and hand over each new or changed one (helper: no commit; the job commits).

    A platform that fails for a while gets the import queued again with backoff; credentials it refuses flag the
    shop. Either way the recovery sync finds what was missed."""
    summary = ImportSummary()
    connection = get_connection(session, connection_id=connection_id)
    if not is_syncable(connection) or not order_ids:
        return summary
    adapter = build_adapter(connection)
    try:
        orders = adapter.get_orders(order_ids=order_ids)
    except MarketplaceError as exc:
        _import_failed(session, connection, exc, order_ids=order_ids, source=source, attempt=attempt)
        summary.failed.extend(order_ids)
        return summary
    finally:
        keep_rotated(session, connection, adapter)
        adapter.close()
    for order in orders:
        hand_over(session, connection, order, summary=summary, source=source)
    return summary


def _import_failed(session: Session, connection: MarketplaceConnection, exc: MarketplaceError, *,
                   order_ids: list[str], source: str, attempt: int) -> None:
    if exc.credentials_revoked:
        flag_credentials(session, connection, reason=exc.message)
        return
    again = exc.retryable and attempt < MAX_IMPORT_ATTEMPTS
    activity.log(session, connection_id=connection.id, kind=ActivityKind.order_failed,
                 level=ActivityLevel.warning if again else ActivityLevel.error,
                 message=f"Orders {', '.join(order_ids)} could not be fetched: {exc.message}"
                         + (" Trying again shortly." if again else " The next recovery sync tries again."),
                 details={"order_ids": order_ids, "code": exc.code, "attempt": attempt})
    if again:
        delay = exc.retry_after or min(15 * 2 ** (attempt - 1), 900)
        add_job(session, name=IMPORT_JOB, run_at=utcnow() + timedelta(seconds=delay),
                payload={"connection_id": connection.id, "order_ids": order_ids, "source": source,
                         "attempt": attempt + 1})


def hand_over(session: Session, connection: MarketplaceConnection, order: MarketplaceOrder, *,
              summary: ImportSummary, source: str) -> None:
    """Hand a fetched order to the orders domain unless its state there was handed over already, and log it
    (helper: no commit)."""
    seen = session.scalar(select(SeenOrder).where(SeenOrder.connection_id == connection.id,
                                                  SeenOrder.external_id == order.order_id))
    if seen is not None and seen.raw_status == order.raw_status and seen.external_updated_at >= order.updated_at:
        summary.unchanged.append(order.order_id)
        return
    try:
        with session.begin_nested():
            order_id = ports.upsert_external_order(session, order=to_external(connection, order))
    except XuyenError as exc:
        summary.failed.append(order.order_id)
        activity.log(session, connection_id=connection.id, kind=ActivityKind.order_failed, level=ActivityLevel.error,
                     message=f"Order {order.order_id} could not be taken over: {exc.message}",
                     details={"order_id": order.order_id, "code": exc.code})
        return
    if seen is None:
        seen = SeenOrder(connection_id=connection.id, external_id=order.order_id)
        session.add(seen)
        summary.imported.append(order.order_id)
        kind, verb = ActivityKind.order_imported, "imported"
    else:
        summary.updated.append(order.order_id)
        kind, verb = ActivityKind.order_updated, "updated"
    seen.raw_status, seen.status, seen.external_updated_at = order.raw_status, order.status, order.updated_at
    seen.order_id, seen.imported_at = order_id, utcnow()
    activity.log(session, connection_id=connection.id, kind=kind,
                 message=f"Order {order.order_id} {verb} ({order.raw_status}, {order.total:,} đ).",
                 details={"order_id": order.order_id, "status": order.status, "raw_status": order.raw_status,
                          "total": order.total, "source": source, "our_order_id": order_id})
    session.flush()


def sync_orders(session: Session, *, connection_id: int, now: datetime | None = None) -> ImportSummary:
    """Recover lost pushes: list the orders updated since the last sync and import those not seen or changed
    (helper: no commit; the job commits)."""
    connection = get_connection(session, connection_id=connection_id)
    summary = ImportSummary()
    if not is_syncable(connection):
        return summary
    now = now or utcnow()
    start = (connection.orders_synced_until - OVERLAP) if connection.orders_synced_until else now - FIRST_LOOKBACK
    adapter = build_adapter(connection)
    try:
        for since, until in _windows(start, now, adapter):
            changed = _changed(session, connection, list(adapter.list_updated_orders(since=since, until=until)))
            for index in range(0, len(changed), 50):
                batch = import_orders_with(session, connection, adapter, changed[index:index + 50])
                for name in ("imported", "updated", "unchanged", "failed"):
                    getattr(summary, name).extend(getattr(batch, name))
            connection.orders_synced_until = until
    except MarketplaceError as exc:
        connection.last_sync_error = exc.message
        if exc.credentials_revoked:
            flag_credentials(session, connection, reason=exc.message)
        else:
            activity.log(session, connection_id=connection.id, kind=ActivityKind.sync_failed,
                         level=ActivityLevel.warning,
                         message=f"Listing updated orders failed: {exc.message} The next sync tries again.",
                         details={"code": exc.code})
        return summary
    finally:
        keep_rotated(session, connection, adapter)
        adapter.close()
    connection.last_sync_at, connection.last_sync_error = now, None
    found = summary.imported + summary.updated
    if found:
        activity.log(session, connection_id=connection.id, kind=ActivityKind.orders_recovered,
                     level=ActivityLevel.warning,
                     message=f"Recovery sync found {len(found)} order change(s) no push had brought: "
                             f"{', '.join(found[:20])}{'…' if len(found) > 20 else ''}.",
                     details={"imported": summary.imported, "updated": summary.updated})
    return summary


def import_orders_with(session: Session, connection: MarketplaceConnection, adapter: MarketplaceAdapter,
                       order_ids: list[str]) -> ImportSummary:
    """Fetch and hand over ``order_ids`` with an adapter already built (helper: no commit)."""
    summary = ImportSummary()
    for order in adapter.get_orders(order_ids=order_ids):
        hand_over(session, connection, order, summary=summary, source="recovery")
    return summary


def _windows(start: datetime, end: datetime, adapter: MarketplaceAdapter) -> list[tuple[datetime, datetime]]:
    step = timedelta(seconds=adapter.max_list_window_seconds)
    windows, since = [], start
    while since < end:
        until = min(since + step, end)
        windows.append((since, until))
        since = until
    return windows


def _changed(session: Session, connection: MarketplaceConnection, refs: list[OrderRef]) -> list[str]:
    """The listed orders not seen yet, or seen in another state or before their last change."""
    ids = list(dict.fromkeys(ref.order_id for ref in refs))
    seen = {row.external_id: row for row in session.scalars(select(SeenOrder).where(
        SeenOrder.connection_id == connection.id, SeenOrder.external_id.in_(ids)))} if ids else {}
    changed = []
    for ref in {ref.order_id: ref for ref in refs}.values():
        row = seen.get(ref.order_id)
        if row is None or (ref.raw_status and ref.raw_status != row.raw_status) \
                or (ref.updated_at is not None and ref.updated_at > row.external_updated_at):
            changed.append(ref.order_id)
    return changed
