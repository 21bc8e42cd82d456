"""Lead scoring: the rules, the decay setting, and the parts of each lead's score

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-06 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sales_scoring_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.Enum('behaviour', 'fit', name='rulekind', native_enum=False, length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=200), nullable=False),
    sa.Column('property_key', sa.String(length=100), nullable=False),
    sa.Column('property_value', sa.String(length=200), nullable=False),
    sa.Column('cap_points', sa.Integer(), nullable=True),
    sa.Column('cap_period', sa.Enum('day', 'week', 'month', 'ever', name='capperiod', native_enum=False, length=16), nullable=True),
    sa.Column('attribute', sa.String(length=120), nullable=False),
    sa.Column('op', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_scoring_rules'))
    )
    op.create_table('sales_scoring_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('half_life_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_scoring_settings'))
    )
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('score_parts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                      server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column('scored_at', xuyen.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_sales_leads_score', ['score', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sales_leads', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_leads_score')
        batch_op.drop_column('scored_at')
        batch_op.drop_column('score_parts')
    op.drop_table('sales_scoring_settings')
    op.drop_table('sales_scoring_rules')
