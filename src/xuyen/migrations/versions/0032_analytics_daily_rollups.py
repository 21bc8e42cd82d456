"""Analytics: the daily sales rollups (days × channel × store, customer-days, touch-days, customers in brief)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 00:22:36.003695
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0032'
down_revision: str | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_customer_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'customer_id', 'channel', 'store_id', name=op.f('pk_analytics_customer_days'))
    )
    with op.batch_alter_table('analytics_customer_days', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_customer_days_customer', ['customer_id', 'day'], unique=False)
        batch_op.create_index('ix_analytics_customer_days_month', ['month'], unique=False)

    op.create_table('analytics_sales_customers',
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('first_month', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_analytics_sales_customers'))
    )
    with op.batch_alter_table('analytics_sales_customers', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_sales_customers_first_month', ['first_month'], unique=False)

    op.create_table('analytics_sales_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('new_customers', sa.Integer(), nullable=False),
    sa.Column('returning_customers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'channel', 'store_id', name=op.f('pk_analytics_sales_days'))
    )
    op.create_table('analytics_touch_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'customer_id', 'channel', name=op.f('pk_analytics_touch_days'))
    )
    with op.batch_alter_table('analytics_touch_days', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_touch_days_customer', ['customer_id', 'day'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('analytics_touch_days', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_touch_days_customer')

    op.drop_table('analytics_touch_days')
    op.drop_table('analytics_sales_days')
    with op.batch_alter_table('analytics_sales_customers', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_sales_customers_first_month')

    op.drop_table('analytics_sales_customers')
    with op.batch_alter_table('analytics_customer_days', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_customer_days_month')
        batch_op.drop_index('ix_analytics_customer_days_customer')

    op.drop_table('analytics_customer_days')
