"""Leads a channel only named (Facebook Lead Ads), kept until their answers are fetched and captured

Revision ID: 0025
Revises: 0022
Create Date: 2026-12-06 17:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0025'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sales_lead_retrievals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('form', 'facebook_lead_ads', 'zalo_form', 'chat', 'import', 'api', 'store_visit', name='sourcekind', native_enum=False, length=24), nullable=False),
    sa.Column('provider_lead_id', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('pending', 'captured', 'failed', name='retrievalstatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('notice', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('next_attempt_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['inbox_channels.id'], name=op.f('fk_sales_lead_retrievals_channel_id_inbox_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_id'], ['sales_leads.id'], name=op.f('fk_sales_lead_retrievals_lead_id_sales_leads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_lead_retrievals')),
    sa.UniqueConstraint('channel_id', 'provider_lead_id', name='uq_sales_lead_retrievals_channel_lead')
    )
    with op.batch_alter_table('sales_lead_retrievals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_lead_retrievals_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_sales_lead_retrievals_status_next', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sales_lead_retrievals', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_lead_retrievals_status_next')
        batch_op.drop_index(batch_op.f('ix_sales_lead_retrievals_channel_id'))
    op.drop_table('sales_lead_retrievals')
