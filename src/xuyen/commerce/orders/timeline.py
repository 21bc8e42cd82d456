"""The customer's orders on their timeline: one item per order, from any channel, with where it stands now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from xuyen.commerce.orders.models import Order
from xuyen.customers.timeline import TimelineItem, timeline_provider

MAX_ORDER_ID = 2**31 - 1


@timeline_provider("order")
def order_items(session: Session, profile_ids: Sequence[int], before: tuple[datetime, int] | None,
                limit: int) -> list[TimelineItem]:
    """The customer's orders as timeline items, newest first."""
    query = (select(Order).where(Order.profile_id.in_(list(profile_ids)))
             .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit))
    if before is not None:
        at, order_id = before[0], min(before[1], MAX_ORDER_ID)  # the position may be any 64-bit number
        query = query.where(or_(Order.created_at < at, and_(Order.created_at == at, Order.id < order_id)))
    return [TimelineItem(at=order.created_at, kind="order", seq=order.id, channel=order.channel.value,
                         title=f"{order.number} · {order.status.value}",
                         data={"order_id": order.id, "number": order.number, "status": order.status.value,
                               "total": order.total, "currency": order.currency})
            for order in session.scalars(query)]
