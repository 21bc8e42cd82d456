"""Analytics: each customer's summary gains the latest day they bought or were in touch on a channel other than
their latest order's, filled from the customer-days and the reach already kept (the customer mix of a range up to
today reads it instead of the range's customer-days)

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0039'
down_revision: str | None = '0038'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFILL = (
    "INSERT INTO analytics_sales_customers (customer_id, first_day, first_month, last_day, orders, revenue, "
    "elsewhere_day) "
    "SELECT customer_id, first_day, first_month, last_day, orders, revenue, "
    "CASE WHEN bought_elsewhere IS NULL THEN touched_elsewhere WHEN touched_elsewhere IS NULL "
    "OR bought_elsewhere >= touched_elsewhere THEN bought_elsewhere ELSE touched_elsewhere END "
    "FROM (SELECT s.*, CASE WHEN r.channel != s.last_channel THEN r.last_day ELSE r.other_last_day END "
    "AS touched_elsewhere "
    "FROM (SELECT customer_id, min(day) AS first_day, min(month) AS first_month, max(day) AS last_day, "
    "sum(orders) AS orders, sum(revenue) AS revenue, "
    "max(CASE WHEN channel != last_channel THEN day END) AS bought_elsewhere, max(last_channel) AS last_channel "
    "FROM (SELECT customer_id, day, month, channel, orders, revenue, "
    "first_value(channel) OVER (PARTITION BY customer_id ORDER BY day DESC, channel) AS last_channel "
    "FROM analytics_customer_days WHERE customer_id != 0) AS each_day GROUP BY customer_id) AS s "
    "LEFT JOIN analytics_customer_reach AS r ON r.customer_id = s.customer_id) AS summary")


def upgrade() -> None:
    with op.batch_alter_table('analytics_sales_customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('elsewhere_day', sa.Date(), nullable=True))
    op.execute("DELETE FROM analytics_sales_customers")
    op.execute(REFILL)


def downgrade() -> None:
    with op.batch_alter_table('analytics_sales_customers', schema=None) as batch_op:
        batch_op.drop_column('elsewhere_day')
