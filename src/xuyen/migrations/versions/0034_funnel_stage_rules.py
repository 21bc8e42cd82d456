"""Analytics: the editable rules of the customer-journey funnel's stages

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 00:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0034'
down_revision: str | None = '0033'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_funnel_stages',
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('matchers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('stage', name=op.f('pk_analytics_funnel_stages'))
    )


def downgrade() -> None:
    op.drop_table('analytics_funnel_stages')
