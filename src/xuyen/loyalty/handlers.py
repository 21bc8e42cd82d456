"""Loyalty's reactions: orders earn and return points, the ledger follows profile merges, points expire and
tiers are recomputed on schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.jobs import job, periodic
from xuyen.loyalty import earning, expiry, merging, tiers
from xuyen.outbox import DomainEvent, on_event


@on_event("order.completed", "order.returned", name="loyalty.follow_orders")
def follow_orders(session: Session, event: DomainEvent) -> None:
    """A completed order earns points and counts towards tiers; a return takes its share back. One handler for
    both, so that an order's return is never seen before its completion."""
    if event.topic == "order.completed":
        earning.earn_for_order(session, payload=event.payload)
    else:
        earning.take_back_for_return(session, payload=event.payload)


@on_event("profile.merged", "profile.unmerged", name="loyalty.follow_profile_merges")
def follow_profile_merges(session: Session, event: DomainEvent) -> None:
    """A merge moves the absorbed profile's balances to the survivor; its undoing gives back what is left."""
    payload = event.payload
    ids = {"merge_id": int(payload["merge_id"]), "survivor_id": int(payload["survivor_id"]),
           "absorbed_id": int(payload["absorbed_id"])}
    if event.topic == "profile.merged":
        merging.follow_merge(session, **ids)
    else:
        merging.follow_unmerge(session, **ids)


@job("loyalty.expire_points")
def expire_points(session: Session, payload: dict[str, Any]) -> None:
    """Expire the points lots past their expiry."""
    expiry.expire_due(session)


@job("loyalty.recompute_tiers")
def recompute_tiers(session: Session, payload: dict[str, Any]) -> None:
    """Recompute every customer's tier: spend older than the window no longer counts, tiers may have changed."""
    tiers.recompute_all(session)


periodic("loyalty.expire_points", every=timedelta(hours=1))
periodic("loyalty.recompute_tiers", every=timedelta(days=1))
