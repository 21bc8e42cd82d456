"""Analytics: the retention cohorts as a rollup, filled from the customer-days already kept; customers by last
order day (the customer mix reads only those who may have bought in its range)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 08:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0036'
down_revision: str | None = '0035'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_cohort_months',
    sa.Column('first_month', sa.Date(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('first_month', 'month', name=op.f('pk_analytics_cohort_months'))
    )
    op.execute("INSERT INTO analytics_cohort_months (first_month, month, customers) "
               "SELECT s.first_month, d.month, count(DISTINCT d.customer_id) FROM analytics_customer_days d "
               "JOIN analytics_sales_customers s ON s.customer_id = d.customer_id GROUP BY s.first_month, d.month")
    op.create_index('ix_analytics_sales_customers_last_day', 'analytics_sales_customers', ['last_day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_analytics_sales_customers_last_day', table_name='analytics_sales_customers')
    op.drop_table('analytics_cohort_months')
