"""Sales: pipelines and their stages, lost reasons, deals, deal lines and the deals' stage history

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KIND = sa.Enum('open', 'won', 'lost', name='stagekind', native_enum=False, length=16)
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'sales_pipelines',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('is_default', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_pipelines')),
        sa.UniqueConstraint('name', name=op.f('uq_sales_pipelines_name')),
    )
    op.create_table(
        'sales_pipeline_stages',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('pipeline_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('probability', sa.Integer(), nullable=False),
        sa.Column('kind', _KIND, nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], ondelete='CASCADE',
                                name=op.f('fk_sales_pipeline_stages_pipeline_id_sales_pipelines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_pipeline_stages')),
    )
    op.create_index('ix_sales_pipeline_stages_pipeline', 'sales_pipeline_stages', ['pipeline_id', 'position'])
    op.create_table(
        'sales_lost_reasons',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_lost_reasons')),
        sa.UniqueConstraint('name', name=op.f('uq_sales_lost_reasons_name')),
    )
    op.create_table(
        'sales_deals',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('profile_id', _BIG_ID, nullable=True),
        sa.Column('pipeline_id', sa.Integer(), nullable=False),
        sa.Column('stage_id', sa.Integer(), nullable=False),
        sa.Column('status', _KIND, nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('expected_close', sa.Date(), nullable=True),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('store_id', sa.Integer(), nullable=True),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('lead_id', sa.Integer(), nullable=True),
        sa.Column('lost_reason_id', sa.Integer(), nullable=True),
        sa.Column('lost_note', sa.Text(), nullable=False),
        sa.Column('won_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lost_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('order_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deals_profile_id_profiles')),
        sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], ondelete='RESTRICT',
                                name=op.f('fk_sales_deals_pipeline_id_sales_pipelines')),
        sa.ForeignKeyConstraint(['stage_id'], ['sales_pipeline_stages.id'], ondelete='RESTRICT',
                                name=op.f('fk_sales_deals_stage_id_sales_pipeline_stages')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deals_owner_id_users')),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deals_store_id_stores')),
        sa.ForeignKeyConstraint(['team_id'], ['inbox_teams.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deals_team_id_inbox_teams')),
        sa.ForeignKeyConstraint(['lost_reason_id'], ['sales_lost_reasons.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deals_lost_reason_id_sales_lost_reasons')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deals_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_deals')),
        sa.UniqueConstraint('order_id', name=op.f('uq_sales_deals_order_id')),
    )
    for name, columns in (('ix_sales_deals_board', ['stage_id', 'status', 'updated_at', 'value', 'owner_id',
                                                    'store_id', 'team_id']),
                          ('ix_sales_deals_profile_id', ['profile_id']),
                          ('ix_sales_deals_owner_id', ['owner_id']),
                          ('ix_sales_deals_store_id', ['store_id']),
                          ('ix_sales_deals_team_id', ['team_id']),
                          ('ix_sales_deals_lead_id', ['lead_id'])):
        op.create_index(name, 'sales_deals', columns)
    op.create_table(
        'sales_deal_lines',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('deal_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('variant_id', sa.Integer(), nullable=False),
        sa.Column('sku', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('unit_price', sa.BigInteger(), nullable=False),
        sa.Column('discount', sa.BigInteger(), nullable=False),
        sa.Column('total', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['deal_id'], ['sales_deals.id'], ondelete='CASCADE',
                                name=op.f('fk_sales_deal_lines_deal_id_sales_deals')),
        sa.ForeignKeyConstraint(['variant_id'], ['catalogue_variants.id'], ondelete='RESTRICT',
                                name=op.f('fk_sales_deal_lines_variant_id_catalogue_variants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_deal_lines')),
    )
    op.create_index('ix_sales_deal_lines_deal_id', 'sales_deal_lines', ['deal_id'])
    op.create_table(
        'sales_deal_stage_changes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('deal_id', sa.Integer(), nullable=False),
        sa.Column('from_stage_id', sa.Integer(), nullable=True),
        sa.Column('to_stage_id', sa.Integer(), nullable=False),
        sa.Column('actor', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['deal_id'], ['sales_deals.id'], ondelete='CASCADE',
                                name=op.f('fk_sales_deal_stage_changes_deal_id_sales_deals')),
        sa.ForeignKeyConstraint(['from_stage_id'], ['sales_pipeline_stages.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deal_stage_changes_from_stage_id_sales_pipeline_stages')),
        sa.ForeignKeyConstraint(['to_stage_id'], ['sales_pipeline_stages.id'], ondelete='RESTRICT',
                                name=op.f('fk_sales_deal_stage_changes_to_stage_id_sales_pipeline_stages')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_sales_deal_stage_changes_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_deal_stage_changes')),
    )
    op.create_index('ix_sales_deal_stage_changes_deal_id', 'sales_deal_stage_changes', ['deal_id'])
    op.create_index('ix_sales_deal_stage_changes_to', 'sales_deal_stage_changes', ['to_stage_id', 'at'])


def downgrade() -> None:
    op.drop_table('sales_deal_stage_changes')
    op.drop_table('sales_deal_lines')
    op.drop_table('sales_deals')
    op.drop_table('sales_lost_reasons')
    op.drop_table('sales_pipeline_stages')
    op.drop_table('sales_pipelines')
