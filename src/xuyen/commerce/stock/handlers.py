"""Stock jobs: reservations whose time ran out are given back every minute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.commerce.stock import service
from xuyen.jobs import job, periodic

RELEASE_EXPIRED = "stock.release_expired"


@job(RELEASE_EXPIRED)
def release_expired(session: Session, payload: dict[str, Any]) -> None:
    """Give back the reservations whose time ran out (carts, checkouts, unpaid orders)."""
    service.release_expired(session, limit=int(payload.get("limit", 500)))


periodic(RELEASE_EXPIRED, every=timedelta(minutes=1))
