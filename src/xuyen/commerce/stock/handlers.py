"""Stock jobs: reservations whose time ran out are given back every minute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.commerce.stock import service
from xuyen.jobs import job, periodic

RELEASE_EXPIRED = "stock.release_expired"
BATCH = 500
MAX_BATCHES = 20


@job(RELEASE_EXPIRED)
def release_expired(session: Session, payload: dict[str, Any]) -> None:
    """Give back the reservations whose time ran out (carts, checkouts, unpaid orders), up to ``MAX_BATCHES``
    batches a run; what is left waits for the next minute."""
    limit = int(payload.get("limit", BATCH))
    for _ in range(MAX_BATCHES):
        if service.release_expired(session, limit=limit) < limit:
            break


periodic(RELEASE_EXPIRED, every=timedelta(minutes=1))
