"""Analytics: each customer's two most recent event channels and their last days, filled from the touch-days
already kept (the customer mix of a range up to today reads it instead of the range's touch-days)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 11:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0037'
down_revision: str | None = '0036'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_customer_reach',
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('other_channel', sa.String(length=32), nullable=True),
    sa.Column('other_last_day', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_analytics_customer_reach'))
    )
    op.execute(
        "INSERT INTO analytics_customer_reach (customer_id, channel, last_day, other_channel, other_last_day) "
        "SELECT customer_id, max(CASE WHEN rank = 1 THEN channel END), max(CASE WHEN rank = 1 THEN last_day END), "
        "max(CASE WHEN rank = 2 THEN channel END), max(CASE WHEN rank = 2 THEN last_day END) "
        "FROM (SELECT customer_id, channel, last_day, "
        "row_number() OVER (PARTITION BY customer_id ORDER BY last_day DESC, channel) AS rank "
        "FROM (SELECT customer_id, channel, max(day) AS last_day FROM analytics_touch_days "
        "GROUP BY customer_id, channel) AS latest) AS ranked "
        "WHERE rank <= 2 GROUP BY customer_id")


def downgrade() -> None:
    op.drop_table('analytics_customer_reach')
