"""Analytics: customers' RFM scores and predicted value, and the value model's fits

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 00:23:29.317059
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xuyen.db

revision: str = '0033'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def upgrade() -> None:
    op.create_table('analytics_customer_scores',
    sa.Column('profile_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.BigInteger(), nullable=False),
    sa.Column('r_score', sa.Integer(), nullable=False),
    sa.Column('f_score', sa.Integer(), nullable=False),
    sa.Column('m_score', sa.Integer(), nullable=False),
    sa.Column('fm_score', sa.Integer(), nullable=False),
    sa.Column('rfm_group', sa.String(length=32), nullable=False),
    sa.Column('expected_purchases', sa.Float(), nullable=True),
    sa.Column('probability_alive', sa.Float(), nullable=True),
    sa.Column('predicted_value', sa.BigInteger(), nullable=True),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('computed_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('profile_id', name=op.f('pk_analytics_customer_scores'))
    )
    with op.batch_alter_table('analytics_customer_scores', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_customer_scores_group', ['rfm_group'], unique=False)

    op.create_table('analytics_value_fits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('fitted_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('repeaters', sa.Integer(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('r', sa.Float(), nullable=True),
    sa.Column('alpha', sa.Float(), nullable=True),
    sa.Column('a', sa.Float(), nullable=True),
    sa.Column('b', sa.Float(), nullable=True),
    sa.Column('log_likelihood', sa.Float(), nullable=True),
    sa.Column('spend_model', sa.String(length=32), nullable=False),
    sa.Column('p', sa.Float(), nullable=True),
    sa.Column('q', sa.Float(), nullable=True),
    sa.Column('gamma', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_value_fits'))
    )
    with op.batch_alter_table('analytics_value_fits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_value_fits_fitted_at'), ['fitted_at'], unique=False)

def downgrade() -> None:
    with op.batch_alter_table('analytics_value_fits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_value_fits_fitted_at'))

    op.drop_table('analytics_value_fits')
    with op.batch_alter_table('analytics_customer_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_customer_scores_group')

    op.drop_table('analytics_customer_scores')
