"""Computed traits: what the event log says about a customer beyond what they told us.

Pure functions over the activity and order events the event log returns: first and last seen, the channels
used, orders and revenue per currency, the average order, and the preferred channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from xuyen.events.profiles import ChannelActivity, OrderEvent

ORDER_COMPLETED = "Order Completed"
ORDER_REFUNDED = "Order Refunded"
ORDER_CANCELLED = "Order Cancelled"


@dataclass(frozen=True)
class Computed:
    """A customer's computed traits."""

    first_seen_at: datetime | None
    last_seen_at: datetime | None
    channels: list[dict[str, Any]]
    events: int
    orders: int
    revenue: dict[str, int | float]
    average_order: dict[str, int | float]
    last_order_at: datetime | None
    preferred_channel: str | None

    def as_json(self) -> dict[str, Any]:
        """The computed traits as JSON-ready data."""
        return {
            "first_seen_at": _iso(self.first_seen_at), "last_seen_at": _iso(self.last_seen_at),
            "channels": self.channels, "events": self.events, "orders": self.orders, "revenue": self.revenue,
            "average_order": self.average_order, "last_order_at": _iso(self.last_order_at),
            "preferred_channel": self.preferred_channel,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _amount(properties: dict[str, Any]) -> Decimal | None:
    """What the order was worth: ``total`` (what the customer paid), else ``revenue``, as the spec defines them."""
    for key in ("total", "revenue", "value"):
        raw = properties.get(key)
        if isinstance(raw, bool) or raw is None:
            continue
        try:
            amount = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            continue
        if amount.is_finite():
            return amount
    return None


def _plain(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


@dataclass(frozen=True)
class OrderTotals:
    """Completed orders and their revenue, per currency, and when the last order was placed."""

    orders: dict[str, int]
    revenue: dict[str, Decimal]
    last_at: datetime | None


def order_totals(orders: Sequence[OrderEvent], *, default_currency: str) -> OrderTotals:
    """Completed orders and revenue per currency; refunds and cancellations subtract.

    An order counts once however often it was completed (by its ``order_id``); a refund without an amount
    refunds the whole order; a cancelled order no longer counts.
    """
    completed: dict[str, tuple[str, Decimal]] = {}
    refunds: dict[str, Decimal] = {}
    last_at = None
    for index, order in enumerate(orders):
        key = str(order.properties.get("order_id") or order.properties.get("orderId") or f"#{index}")
        currency = str(order.properties.get("currency") or default_currency).upper()[:3]
        amount = _amount(order.properties)
        if order.event == ORDER_COMPLETED:
            completed[key] = (currency, amount or Decimal(0))
            last_at = order.timestamp
        elif order.event == ORDER_CANCELLED:
            completed.pop(key, None)
        elif order.event == ORDER_REFUNDED:
            refunds[key] = refunds.get(key, Decimal(0)) + (amount if amount is not None else Decimal("Infinity"))
    revenue: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    for key, (currency, amount) in completed.items():
        refunded = min(refunds.get(key, Decimal(0)), amount)
        revenue[currency] = revenue.get(currency, Decimal(0)) + amount - refunded
        counts[currency] = counts.get(currency, 0) + 1
    return OrderTotals(orders=counts, revenue=revenue, last_at=last_at)


def preferred_channel(recent: dict[str, int], activity: Sequence[ChannelActivity]) -> str | None:
    """The channel with the most events lately (``recent``), else overall; ties go to the most recent."""
    last = {item.channel: item.last_at for item in activity}
    counts = recent or {item.channel: item.events for item in activity}
    if not counts:
        return None
    return max(counts, key=lambda channel: (counts[channel], last.get(channel) or datetime.min.replace(tzinfo=UTC)))


def compute(*, activity: Sequence[ChannelActivity], recent: dict[str, int], orders: Sequence[OrderEvent],
            default_currency: str) -> Computed:
    """A customer's computed traits from their activity per channel and their order events."""
    totals = order_totals(orders, default_currency=default_currency)
    channels = [{"channel": item.channel, "events": item.events, "first_at": item.first_at.isoformat(),
                 "last_at": item.last_at.isoformat()}
                for item in sorted(activity, key=lambda item: item.last_at, reverse=True)]
    return Computed(
        first_seen_at=min((item.first_at for item in activity), default=None),
        last_seen_at=max((item.last_at for item in activity), default=None),
        channels=channels, events=sum(item.events for item in activity), orders=sum(totals.orders.values()),
        revenue={currency: _plain(amount) for currency, amount in totals.revenue.items()},
        average_order={currency: _plain(round(amount / totals.orders[currency], 2))
                       for currency, amount in totals.revenue.items()},
        last_order_at=totals.last_at, preferred_channel=preferred_channel(recent, activity),
    )
