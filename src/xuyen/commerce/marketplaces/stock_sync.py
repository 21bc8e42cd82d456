"""Stock on the marketplaces: telling each platform what it may sell of every listed variant, and checking it did.

A change of a variant's available quantity marks the push of each of its listings pending (one row per listing:
many changes within the coalescing window make one push). The push job reads what the channel may sell *when it
sends* (``available_for_channel``, never on hand), so the platform gets the latest value; a row stays pending,
retried with backoff, until the platform accepted it. Reconciliation reads the platform's numbers back and
repairs drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from xuyen.channels.marketplace import ListingRef, MarketplaceError, StockLevel
from xuyen.clock import utcnow
from xuyen.commerce.catalogue.models import ChannelListing
from xuyen.commerce.marketplaces import activity, ports
from xuyen.commerce.marketplaces.connections import (
    build_adapter,
    flag_credentials,
    get_connection,
    is_syncable,
    keep_rotated,
    list_connections,
)
from xuyen.commerce.marketplaces.models import (
    ActivityKind,
    ActivityLevel,
    MarketplaceConnection,
    StockPush,
    StockPushState,
)
from xuyen.jobs import add_job_once

PUSH_JOB = "marketplaces.push_stock"
COALESCE = timedelta(seconds=5)
BATCH = 200
BACKOFF_BASE_SECONDS = 10
BACKOFF_CAP_SECONDS = 3600


@dataclass
class PushSummary:
    """What one push run did."""

    sent: dict[int, int] = field(default_factory=dict)  # listing id -> quantity the platform accepted
    refused: dict[int, str] = field(default_factory=dict)
    retry_at: datetime | None = None


@dataclass
class ReconcileSummary:
    """What a reconciliation found: listings checked, drifted (platform, expected), missing on the platform."""

    checked: int = 0
    drifted: dict[int, tuple[int, int]] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)


def listing_ref(listing: ChannelListing) -> ListingRef:
    """The platform's ids of a listing."""
    return ListingRef(item_id=listing.external_item_id, model_id=listing.external_model_id, sku=listing.external_sku)


def listing_label(listing: ChannelListing, sku: str = "") -> str:
    """How the log names a listing: our SKU, then its ids on the platform (seller SKU, or item/model)."""
    there = listing.external_sku or "/".join(filter(None, (listing.external_item_id, listing.external_model_id)))
    return f"{sku} ({there})" if sku and sku != there else there


def backoff(attempts: int) -> timedelta:
    """How long to wait before the next try after ``attempts`` failed ones."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


# Marking pushes pending ------------------------------------------------------------------------------------


def queue_stock_pushes(session: Session, *, variant_ids: list[int], delay: timedelta = COALESCE) -> int:
    """Mark pending the push of every active listing of these variants on a synced shop, and schedule the push
    (helper: no commit). Returns how many listings were marked."""
    connections = {(c.channel, c.account): c for c in list_connections(session, active_only=True) if is_syncable(c)}
    if not connections or not variant_ids:
        return 0
    now, marked = utcnow(), 0
    for channel in sorted({channel for channel, _ in connections}, key=str):
        for listing in ports.listings_of(session, channel=channel, variant_ids=variant_ids):
            connection = connections.get((channel, listing.account))
            if connection is None or not listing.is_active:
                continue
            _mark(session, connection, listing, due=now + delay)
            marked += 1
    return marked


def _mark(session: Session, connection: MarketplaceConnection, listing: ChannelListing, *, due: datetime,
          force: bool = False) -> None:
    row = session.scalar(select(StockPush).where(StockPush.listing_id == listing.id))
    now = utcnow()
    if row is None:
        row = StockPush(listing_id=listing.id, connection_id=connection.id, variant_id=listing.variant_id,
                        generation=1, state=StockPushState.pending, due_at=due, attempts=0, updated_at=now)
        session.add(row)
    else:
        row.generation += 1
        if row.state != StockPushState.pending:
            row.state, row.due_at, row.attempts = StockPushState.pending, due, 0
        elif force:
            row.due_at = min(row.due_at, due)
        row.connection_id, row.updated_at = connection.id, now
    session.flush()
    schedule_push(session, connection_id=connection.id, at=row.due_at)


def schedule_push(session: Session, *, connection_id: int, at: datetime) -> None:
    """Queue the shop's push job at ``at`` unless one is queued for that second (helper: no commit)."""
    add_job_once(session, name=PUSH_JOB, dedupe_key=f"{PUSH_JOB}:{connection_id}:{int(at.timestamp())}",
                 payload={"connection_id": connection_id}, run_at=at)


# Sending ---------------------------------------------------------------------------------------------------


def send_stock_pushes(session: Session, *, connection_id: int, now: datetime | None = None) -> PushSummary:
    """Send the shop's due pending pushes, each with what the channel may sell now (helper: the job commits)."""
    summary = PushSummary()
    connection = get_connection(session, connection_id=connection_id)
    now = now or utcnow()
    if not is_syncable(connection):
        return summary
    rows = list(session.scalars(select(StockPush).where(
        StockPush.connection_id == connection.id, StockPush.state == StockPushState.pending,
        StockPush.due_at <= now).order_by(StockPush.due_at, StockPush.id).limit(BATCH)))
    if not rows:
        return summary
    listings = {listing.id: listing for listing in ports.listings_of(
        session, channel=connection.channel, account=connection.account, variant_ids=[r.variant_id for r in rows])}
    rows = [row for row in rows if _drop_unlisted(session, row, listings)]
    available = ports.available_for_channel(session, channel=connection.channel,
                                            variant_ids=sorted({row.variant_id for row in rows}))
    skus = ports.skus_of(session, variant_ids={row.variant_id for row in rows})
    generations = {row.id: row.generation for row in rows}
    levels = [StockLevel(listing_ref(listings[row.listing_id]), max(available.get(row.variant_id, 0), 0))
              for row in rows]
    adapter = build_adapter(connection)
    try:
        results = adapter.set_stock(levels=levels) if levels else []
    except MarketplaceError as exc:
        _all_failed(session, connection, rows, exc, now=now, summary=summary)
        return summary
    finally:
        keep_rotated(session, connection, adapter)
        adapter.close()
    for row, level, result in zip(rows, levels, results, strict=True):
        listing = listings[row.listing_id]
        sku = skus.get(row.variant_id, "")
        if result.accepted:
            _accepted(session, connection, row, listing, level.quantity, generation=generations[row.id], now=now,
                      sku=sku)
            summary.sent[row.listing_id] = level.quantity
        else:
            _refused(session, connection, row, listing, result.error, now=now, sku=sku)
            summary.refused[row.listing_id] = result.error
    _schedule_next(session, connection.id, summary)
    return summary


def _drop_unlisted(session: Session, row: StockPush, listings: dict[int, ChannelListing]) -> bool:
    listing = listings.get(row.listing_id)
    if listing is None or not listing.is_active:  # unlisted since: nothing to tell the platform any more
        session.delete(row)
        return False
    return True


def _accepted(session: Session, connection: MarketplaceConnection, row: StockPush, listing: ChannelListing,
              quantity: int, *, generation: int, now: datetime, sku: str) -> None:
    done = session.execute(update(StockPush).where(StockPush.id == row.id, StockPush.generation == generation)
                           .values(state=StockPushState.sent, attempts=0, last_error=None, sent_quantity=quantity,
                                   sent_at=now, updated_at=now).execution_options(synchronize_session="fetch"))
    if not done.rowcount:  # type: ignore[attr-defined]
        row.sent_quantity, row.sent_at = quantity, now  # a newer change came in: it stays pending
    activity.log(session, connection_id=connection.id, kind=ActivityKind.stock_sent,
                 message=f"Stock of {listing_label(listing, sku)} set to {quantity}.",
                 details={"listing_id": listing.id, "variant_id": listing.variant_id, "sku": sku,
                          "label": listing_label(listing, sku), "quantity": quantity, "attempt": row.attempts + 1})


def _refused(session: Session, connection: MarketplaceConnection, row: StockPush, listing: ChannelListing,
             error: str, *, now: datetime, sku: str) -> None:
    row.attempts += 1
    row.due_at, row.last_error, row.updated_at = now + backoff(row.attempts), error[:1000], now
    activity.log(session, connection_id=connection.id, kind=ActivityKind.stock_failed, level=ActivityLevel.error,
                 message=f"The platform refused the stock of {listing_label(listing, sku)}: {error}. It is tried "
                         f"again at {row.due_at:%H:%M:%S} UTC; check the listing's ids on the platform.",
                 details={"listing_id": listing.id, "sku": sku, "label": listing_label(listing, sku),
                          "error": error, "attempts": row.attempts})


def _all_failed(session: Session, connection: MarketplaceConnection, rows: list[StockPush], exc: MarketplaceError,
                *, now: datetime, summary: PushSummary) -> None:
    if exc.credentials_revoked:
        flag_credentials(session, connection, reason=exc.message)
        return
    for row in rows:
        row.attempts += 1
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after else backoff(row.attempts)
        row.due_at, row.last_error, row.updated_at = now + wait, exc.message[:1000], now
    attempts = max(row.attempts for row in rows)
    summary.retry_at = min(row.due_at for row in rows)
    activity.log(session, connection_id=connection.id, kind=ActivityKind.stock_retry, level=ActivityLevel.warning,
                 message=f"Stock push of {len(rows)} listing(s) failed ({exc.message}); try {attempts + 1} at "
                         f"{summary.retry_at:%H:%M:%S} UTC.",
                 details={"code": exc.code, "listings": [row.listing_id for row in rows], "attempts": attempts})
    schedule_push(session, connection_id=connection.id, at=summary.retry_at)


def _schedule_next(session: Session, connection_id: int, summary: PushSummary) -> None:
    next_due = session.scalar(select(func.min(StockPush.due_at)).where(
        StockPush.connection_id == connection_id, StockPush.state == StockPushState.pending))
    if next_due is not None:
        summary.retry_at = next_due
        schedule_push(session, connection_id=connection_id, at=max(next_due, utcnow()))


def due_connections(session: Session, *, now: datetime | None = None) -> list[int]:
    """The shops with pending pushes due (the sweeper queues their push job)."""
    return list(session.scalars(select(StockPush.connection_id).where(
        StockPush.state == StockPushState.pending, StockPush.due_at <= (now or utcnow())).distinct()))


# Reconciling -----------------------------------------------------------------------------------------------


def reconcile(session: Session, *, connection_id: int) -> ReconcileSummary:
    """Read the platform's stock of every active listing of the shop, compare it with what the channel may sell,
    push the right value where they differ, and log what was found (helper: the job commits)."""
    summary = ReconcileSummary()
    connection = get_connection(session, connection_id=connection_id)
    if not is_syncable(connection):
        return summary
    listings = [listing for listing in ports.listings_of(session, channel=connection.channel,
                                                         account=connection.account) if listing.is_active]
    if not listings:
        return summary
    expected = ports.available_for_channel(session, channel=connection.channel,
                                           variant_ids=sorted({listing.variant_id for listing in listings}))
    adapter = build_adapter(connection)
    try:
        platform = adapter.get_stock(listings=[listing_ref(listing) for listing in listings])
    except MarketplaceError as exc:
        if exc.credentials_revoked:
            flag_credentials(session, connection, reason=exc.message)
        else:
            activity.log(session, connection_id=connection.id, kind=ActivityKind.sync_failed,
                         level=ActivityLevel.warning, message=f"Reconciliation could not read the platform's stock: "
                                                              f"{exc.message}", details={"code": exc.code})
        return summary
    finally:
        keep_rotated(session, connection, adapter)
        adapter.close()
    now = utcnow()
    skus = ports.skus_of(session, variant_ids={listing.variant_id for listing in listings})
    for listing in listings:
        summary.checked += 1
        label = listing_label(listing, skus.get(listing.variant_id, ""))
        want = max(expected.get(listing.variant_id, 0), 0)
        have = platform.get(listing_ref(listing))
        if have is None:
            summary.missing.append(listing.id)
            activity.log(session, connection_id=connection.id, kind=ActivityKind.drift_found,
                         level=ActivityLevel.warning,
                         message=f"{label} is not found on the platform; check the listing's ids.",
                         details={"listing_id": listing.id, "label": label, "expected": want})
        elif have != want:
            summary.drifted[listing.id] = (have, want)
            activity.log(session, connection_id=connection.id, kind=ActivityKind.drift_found,
                         level=ActivityLevel.warning,
                         message=f"{label}: the platform sells {have}, it should be {want}; the right value is "
                                 "pushed.",
                         details={"listing_id": listing.id, "label": label, "platform": have, "expected": want})
            _mark(session, connection, listing, due=now, force=True)
    activity.log(session, connection_id=connection.id, kind=ActivityKind.reconciled,
                 level=ActivityLevel.warning if summary.drifted or summary.missing else ActivityLevel.info,
                 message=f"Reconciliation checked {summary.checked} listing(s): {len(summary.drifted)} drifted, "
                         f"{len(summary.missing)} missing on the platform.",
                 details=_summary_details(summary))
    if summary.drifted:
        send_stock_pushes(session, connection_id=connection.id, now=now)
    return summary


def _summary_details(summary: ReconcileSummary) -> dict[str, Any]:
    return {"checked": summary.checked, "missing": summary.missing,
            "drifted": {str(key): list(value) for key, value in summary.drifted.items()}}
