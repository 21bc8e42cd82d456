"""The demo's year of past sales: returning customers at the tills and on the marketplaces three to twelve months
ago, their goods received first so that today's stock is exactly what it was."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.demo.test_orders import _shop_with_stock
from xuyen.clock import utcnow
from xuyen.commerce.orders.models import Order
from xuyen.commerce.stock.models import StockLevel
from xuyen.demo import orders as demo_orders
from xuyen.demo import sales_history
from xuyen.demo.people import make_customers
from xuyen.demo.service import load_steps


def _levels(session: Session) -> dict[tuple[int, int], tuple[int, int]]:
    return {(level.variant_id, level.location_id): (level.on_hand, level.reserved)
            for level in session.scalars(select(StockLevel))}


def test_the_history_comes_after_the_recent_orders_and_before_the_rollups() -> None:
    steps = {step.name: step.order for step in load_steps()}
    assert steps[demo_orders.STEP] < steps[sales_history.STEP] < steps["số liệu bán hàng"]


def test_a_year_of_returning_customers_leaves_todays_stock_as_it_was(session: Session) -> None:
    context = _shop_with_stock(session)
    context.extra["khách hàng"] = {"people": make_customers(random.Random(3), 60)}
    before = _levels(session)
    sales_history.add_sales_history(session, random.Random(11), context)
    session.commit()

    orders = list(session.scalars(select(Order)))
    made = context.extra[sales_history.STEP]["orders"]
    assert Counter(order.channel.value for order in orders) == Counter(made)
    assert made["pos"] > made.get("shopee", 0) + made.get("lazada", 0) > 0
    now = utcnow()
    assert all(now - timedelta(days=366) <= order.placed_at <= now - timedelta(days=sales_history.NEWEST_DAYS)
               for order in orders if order.placed_at is not None)
    per_customer = Counter(order.profile_id for order in orders if order.profile_id is not None)
    buyers = context.extra[sales_history.STEP]["customers"]  # told apart by phone: a family shares one
    assert 55 <= len(per_customer) <= buyers <= 60
    assert sum(1 for count in per_customer.values() if count > 1) >= 10  # returning customers
    assert _levels(session) == before  # what was received for the year was sold in it
