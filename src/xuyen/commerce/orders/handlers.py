"""Order jobs: unpaid orders whose stock hold ran out are cancelled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from xuyen.clock import utcnow
from xuyen.commerce.orders import lifecycle
from xuyen.jobs import job, periodic

EXPIRE_JOB = "orders.expire_unpaid"


@job(EXPIRE_JOB)
def expire_unpaid(session: Session, payload: dict[str, Any]) -> None:
    """Cancel the orders still waiting for their payment when their hold ran out (stock and coupons let go)."""
    for order in lifecycle.expired_orders(session, now=utcnow()):
        lifecycle.cancel(session, order, actor=lifecycle.SYSTEM, reason="payment not received in time")


periodic(EXPIRE_JOB, every=timedelta(minutes=1))
