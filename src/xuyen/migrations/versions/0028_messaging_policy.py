"""The messaging policy: its settings, the suppression list, the ledger of sends and the engagement counters

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-06 17:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0028'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('messaging_policy_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('allowed_from', sa.Integer(), nullable=False),
    sa.Column('allowed_until', sa.Integer(), nullable=False),
    sa.Column('total_limit', sa.Integer(), nullable=False),
    sa.Column('total_hours', sa.Integer(), nullable=False),
    sa.Column('channel_caps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('channel_order', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('capped_purposes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('quiet_exempt', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messaging_policy_settings'))
    )
    op.create_table('messaging_suppressions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messaging_suppressions')),
    sa.UniqueConstraint('kind', 'value', name=op.f('uq_messaging_suppressions_kind_value'))
    )
    op.create_table('messaging_engagement',
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('opened', sa.Integer(), nullable=False),
    sa.Column('clicked', sa.Integer(), nullable=False),
    sa.Column('replied', sa.Integer(), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_messaging_engagement_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'channel', name=op.f('pk_messaging_engagement'))
    )
    op.create_table('messaging_sends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('campaign_key', sa.String(length=200), nullable=True),
    sa.Column('sent_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('replied_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_messaging_sends_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messaging_sends')),
    sa.UniqueConstraint('profile_id', 'campaign_key', name=op.f('uq_messaging_sends_profile_id_campaign_key'))
    )
    with op.batch_alter_table('messaging_sends', schema=None) as batch_op:
        batch_op.create_index('ix_messaging_sends_profile_sent', ['profile_id', 'sent_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('messaging_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_messaging_sends_profile_sent')

    op.drop_table('messaging_sends')
    op.drop_table('messaging_engagement')
    op.drop_table('messaging_suppressions')
    op.drop_table('messaging_policy_settings')
