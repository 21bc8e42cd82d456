"""Inbox SLA policies, conversations and clocks; CSAT settings and survey responses.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 18:15:16.689262
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('csat_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('survey_text', sa.Text(), nullable=False),
    sa.Column('expiry_days', sa.Integer(), nullable=False),
    sa.Column('reply_hours', sa.Integer(), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csat_settings'))
    )
    op.create_table('sla_policies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('channel_kinds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('first_response_seconds', sa.Integer(), nullable=True),
    sa.Column('next_response_seconds', sa.Integer(), nullable=True),
    sa.Column('resolution_seconds', sa.Integer(), nullable=True),
    sa.Column('warning_percent', sa.Integer(), nullable=True),
    sa.Column('calendar', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_policies')),
    sa.UniqueConstraint('name', name=op.f('uq_sla_policies_name'))
    )
    op.create_table('sla_clocks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('first_response', 'next_response', 'resolution', name='clockkind', native_enum=False, length=16), nullable=False),
    sa.Column('target_seconds', sa.Integer(), nullable=False),
    sa.Column('started_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('warn_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paused_total_seconds', sa.Float(), nullable=False),
    sa.Column('stopped_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('breached_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('warned_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_sla_clocks_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], name=op.f('fk_sla_clocks_policy_id_sla_policies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_clocks'))
    )
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_sla_clocks_breached', ['breached_at'], unique=False)
        batch_op.create_index('ix_sla_clocks_conversation', ['conversation_id', 'kind'], unique=False)
        batch_op.create_index('ix_sla_clocks_running', ['due_at'], unique=False, postgresql_where=sa.text('stopped_at IS NULL'), sqlite_where=sa.text('stopped_at IS NULL'))
        batch_op.create_index('ix_sla_clocks_stopped', ['stopped_at'], unique=False)

    op.create_table('sla_conversations',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=True),
    sa.Column('channel_kind', sa.String(length=32), nullable=True),
    sa.Column('paused_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_sla_conversations_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['policy_id'], ['sla_policies.id'], name=op.f('fk_sla_conversations_policy_id_sla_policies'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_sla_conversations'))
    )
    op.create_table('csat_responses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('channel_kind', sa.String(length=32), nullable=True),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('not_sent_reason', sa.Text(), nullable=True),
    sa.Column('resolved_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reply_until', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('answered_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_via', sa.String(length=16), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 5)', name=op.f('ck_csat_responses_rating_1_to_5')),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_csat_responses_agent_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['channel_id'], ['inbox_channels.id'], name=op.f('fk_csat_responses_channel_id_inbox_channels'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_csat_responses_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_messages.id'], name=op.f('fk_csat_responses_message_id_inbox_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_csat_responses')),
    sa.UniqueConstraint('event_id', name=op.f('uq_csat_responses_event_id'))
    )
    with op.batch_alter_table('csat_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_csat_responses_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index('ix_csat_responses_conversation', ['conversation_id', 'created_at'], unique=False)
        batch_op.create_index('ix_csat_responses_resolved_at', ['resolved_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('csat_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_csat_responses_resolved_at')
        batch_op.drop_index('ix_csat_responses_conversation')
        batch_op.drop_index(batch_op.f('ix_csat_responses_agent_id'))

    op.drop_table('csat_responses')
    op.drop_table('sla_conversations')
    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_clocks_stopped')
        batch_op.drop_index('ix_sla_clocks_running', postgresql_where=sa.text('stopped_at IS NULL'), sqlite_where=sa.text('stopped_at IS NULL'))
        batch_op.drop_index('ix_sla_clocks_conversation')
        batch_op.drop_index('ix_sla_clocks_breached')

    op.drop_table('sla_clocks')
    op.drop_table('sla_policies')
    op.drop_table('csat_settings')
