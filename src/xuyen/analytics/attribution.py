"""Cross-channel attribution: which channels' touchpoints led to the orders of the period, under five models,
and the channel paths most often seen before a purchase.

An order is an ``Order Completed`` event of a known customer in the period (every sales channel writes one, and so
do shops that send Segment calls without Xuyên's orders), worth ``properties.total`` (else ``revenue``); an order
whose ``order_id`` has an ``Order Cancelled`` event is left out. The channel and store filters choose the orders
(the order event's channel and store, see ``xuyen.analytics.touches``).

Its touchpoints are the same customer's events (merged profiles as one) in the lookback window before it
(``[order time − lookback, order time)``), but order events themselves and aliases or groups: page and screen views,
tracked events, messages, sign-ins. Consecutive events on the same channel make one touchpoint (one visit), timed
at its last event. An order with no touchpoint is credited to ``direct`` (direct / none) under every model.

The credit of an order's n touchpoints t₁…tₙ (oldest first), as shares summing to 1:

- first touch: t₁ gets 1; last touch: tₙ gets 1; linear: each gets 1/n;
- time decay: tᵢ gets wᵢ / Σw with wᵢ = 2^(−dᵢ / h), dᵢ the days from tᵢ to the order, h the half-life (7 days);
- position-based: 40 % to t₁, 40 % to tₙ, 20 % split evenly between the others; one touchpoint gets 100 %, two get
  50 % each.

A channel's attributed orders and revenue are the sums of its shares of each order (and of the order's value).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from xuyen.analytics import touches
from xuyen.analytics.filters import Filters
from xuyen.analytics.touches import ORDER_EVENTS, Touch
from xuyen.errors import ValidationFailed

DEFAULT_LOOKBACK_DAYS = 30
MIN_LOOKBACK_DAYS, MAX_LOOKBACK_DAYS = 1, 90
HALF_LIFE_DAYS = 7.0
DIRECT = "direct"
MODELS: tuple[str, ...] = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
TOP_PATHS = 10


@dataclass(frozen=True)
class Point:
    """One touchpoint: a run of a customer's events on one channel, timed at its last event."""

    channel: str
    at: datetime


@dataclass(frozen=True)
class AttributedOrder:
    """An order with the touchpoints before it."""

    customer: int
    at: datetime
    value: int
    channel: str
    points: tuple[Point, ...]

    @property
    def path(self) -> tuple[str, ...]:
        """The channels of its touchpoints then of the order, consecutive repeats made one."""
        return _collapse([*(point.channel for point in self.points), self.channel])


@dataclass(frozen=True)
class ChannelCredit:
    """A channel's attributed orders and revenue under one model."""

    orders: float
    revenue: float


@dataclass(frozen=True)
class PathFigures:
    """A path and how many orders, worth how much, followed it."""

    channels: tuple[str, ...]
    orders: int
    revenue: int


@dataclass
class Attribution:
    """Attribution for some filters and a lookback window."""

    lookback_days: int
    orders: int
    revenue: int
    credit: dict[str, dict[str, ChannelCredit]] = field(default_factory=dict)  # model → channel → credit
    paths: list[PathFigures] = field(default_factory=list)

    @property
    def channels(self) -> list[str]:
        """Every credited channel, the most revenue under linear first."""
        linear = self.credit.get("linear", {})
        return sorted(linear, key=lambda channel: (-linear[channel].revenue, channel))


def parse_lookback(value: str | None) -> int:
    """The lookback window in days from the query string (1 to 90, default 30); ``ValidationFailed`` otherwise."""
    if value is None or value == "":
        return DEFAULT_LOOKBACK_DAYS
    if not value.isdigit() or not MIN_LOOKBACK_DAYS <= int(value) <= MAX_LOOKBACK_DAYS:
        raise ValidationFailed(f"'lookback' is a number of days from {MIN_LOOKBACK_DAYS} to {MAX_LOOKBACK_DAYS}.",
                               code="invalid_lookback", details={"lookback": value[:40]})
    return int(value)


def shares(model: str, points: Sequence[Point], *, at: datetime,
           half_life_days: float = HALF_LIFE_DAYS) -> list[float]:
    """Each touchpoint's share of an order placed at ``at`` under ``model`` (they sum to 1)."""
    count = len(points)
    if count == 0:
        return []
    if model == "first_touch":
        return [1.0] + [0.0] * (count - 1)
    if model == "last_touch":
        return [0.0] * (count - 1) + [1.0]
    if model == "linear":
        return [1.0 / count] * count
    if model == "time_decay":
        weights = [2 ** (-((at - point.at) / timedelta(days=1)) / half_life_days) for point in points]
        return [weight / sum(weights) for weight in weights]
    if model == "position_based":
        if count <= 2:
            return [1.0 / count] * count
        middle = 0.2 / (count - 2)
        return [0.4] + [middle] * (count - 2) + [0.4]
    raise ValueError(f"unknown attribution model {model}")


def compute(session: Session, *, filters: Filters, lookback_days: int = DEFAULT_LOOKBACK_DAYS) -> Attribution:
    """Attribution of the orders of ``filters`` to the touchpoints in the ``lookback_days`` before each."""
    orders = attributed_orders(session, filters=filters, lookback_days=lookback_days)
    result = Attribution(lookback_days=lookback_days, orders=len(orders),
                         revenue=sum(order.value for order in orders))
    for model in MODELS:
        result.credit[model] = _credit(orders, model)
    result.paths = _paths(orders)
    return result


def attributed_orders(session: Session, *, filters: Filters, lookback_days: int) -> list[AttributedOrder]:
    """The period's orders, each with its touchpoints in the lookback window."""
    lookback = timedelta(days=lookback_days)
    placed = [touch for touch in touches.load(session, start=filters.start, end=filters.end,
                                              names=("Order Completed", "Order Cancelled"))
              if touch.event == "Order Completed" and touch.passes(filters)]
    cancelled = _cancelled(session, filters=filters, customers={touch.customer for touch in placed})
    placed = [touch for touch in placed if (touch.customer, _order_id(touch)) not in cancelled]
    if not placed:
        return []
    history: dict[int, list[Touch]] = defaultdict(list)
    for touch in touches.load(session, start=filters.start - lookback, end=filters.end, names=None,
                              customers={order.customer for order in placed}):
        if touch.event not in ORDER_EVENTS or touch.kind != "track":
            history[touch.customer].append(touch)
    return [AttributedOrder(customer=order.customer, at=order.at, value=touches.order_value(order.properties),
                            channel=order.channel,
                            points=_points([touch for touch in history[order.customer]
                                            if order.at - lookback <= touch.at < order.at]))
            for order in placed]


def _order_id(touch: Touch) -> str | None:
    value = touch.properties.get("order_id")
    return None if value is None else str(value)


def _cancelled(session: Session, *, filters: Filters, customers: set[int]) -> set[tuple[int, str | None]]:
    if not customers:
        return set()
    found = touches.load(session, start=filters.start, end=filters.end + timedelta(days=3650),
                         names=("Order Cancelled",), customers=customers)
    return {(touch.customer, _order_id(touch)) for touch in found if _order_id(touch) is not None}


def _points(events: list[Touch]) -> tuple[Point, ...]:
    points: list[Point] = []
    for touch in events:
        if points and points[-1].channel == touch.channel:
            points[-1] = Point(channel=touch.channel, at=touch.at)
        else:
            points.append(Point(channel=touch.channel, at=touch.at))
    return tuple(points)


def _collapse(channels: list[str]) -> tuple[str, ...]:
    return tuple(channel for index, channel in enumerate(channels) if index == 0 or channels[index - 1] != channel)


def _credit(orders: list[AttributedOrder], model: str) -> dict[str, ChannelCredit]:
    counted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for order in orders:
        if not order.points:
            counted[DIRECT][0] += 1
            counted[DIRECT][1] += order.value
            continue
        for point, share in zip(order.points, shares(model, order.points, at=order.at), strict=True):
            if share == 0:
                continue
            counted[point.channel][0] += share
            counted[point.channel][1] += share * order.value
    return {channel: ChannelCredit(orders=values[0], revenue=values[1]) for channel, values in counted.items()}


def _paths(orders: list[AttributedOrder]) -> list[PathFigures]:
    counts: Counter[tuple[str, ...]] = Counter()
    revenue: Counter[tuple[str, ...]] = Counter()
    for order in orders:
        counts[order.path] += 1
        revenue[order.path] += order.value
    ranked = sorted(counts, key=lambda path: (-counts[path], -revenue[path], path))[:TOP_PATHS]
    return [PathFigures(channels=path, orders=counts[path], revenue=revenue[path]) for path in ranked]

