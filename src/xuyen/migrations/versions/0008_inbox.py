"""The inbox: connected channels, webhook receipts, contact points, conversations, messages.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 17:46:52.891725
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox_channels',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('sealed_secrets', sa.Text(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'needs_attention', 'disabled', name='channelstatus', native_enum=False, length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('status_changed_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('poll_cursor', sa.Text(), nullable=True),
    sa.Column('last_polled_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_inbox_channels_source_id_sources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_channels'))
    )
    op.create_table('inbox_contact_points',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('last_inbound_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opted_out_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['inbox_channels.id'], name=op.f('fk_inbox_contact_points_channel_id_inbox_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_inbox_contact_points_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_contact_points')),
    sa.UniqueConstraint('channel_id', 'value', 'type', 'scope', name=op.f('uq_inbox_contact_points_channel_id_value_type_scope'))
    )
    with op.batch_alter_table('inbox_contact_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_contact_points_profile_id'), ['profile_id'], unique=False)

    op.create_table('inbox_conversations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.Enum('open', 'pending', 'snoozed', 'resolved', name='conversationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('last_message_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_inbound_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_inbound_channel_id', sa.Integer(), nullable=True),
    sa.Column('first_reply_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('snoozed_until', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_inbox_conversations_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['last_inbound_channel_id'], ['inbox_channels.id'], name=op.f('fk_inbox_conversations_last_inbound_channel_id_inbox_channels'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_inbox_conversations_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_conversations'))
    )
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_conversations_profile', ['profile_id', 'status'], unique=False)
        batch_op.create_index('ix_inbox_conversations_queue', ['status', 'last_message_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_conversations_updated_at'), ['updated_at'], unique=False)

    op.create_table('inbox_webhook_receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=False),
    sa.Column('received_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('headers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'processed', 'failed', name='receiptstatus', native_enum=False, length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('processed_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['inbox_channels.id'], name=op.f('fk_inbox_webhook_receipts_channel_id_inbox_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_webhook_receipts')),
    sa.UniqueConstraint('channel_id', 'dedupe_key', name=op.f('uq_inbox_webhook_receipts_channel_id_dedupe_key'))
    )
    with op.batch_alter_table('inbox_webhook_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_webhook_receipts_status', ['status', 'received_at'], unique=False)

    op.create_table('inbox_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('contact_point_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('direction', sa.Enum('inbound', 'outbound', 'note', name='direction', native_enum=False, length=16), nullable=False),
    sa.Column('state', sa.Enum('received', 'queued', 'sent', 'delivered', 'read', 'failed', name='messagestate', native_enum=False, length=16), nullable=False),
    sa.Column('provider_message_id', sa.String(length=300), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=True),
    sa.Column('attachments', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('receipt_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sent_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state_changed_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_inbox_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['channel_id'], ['inbox_channels.id'], name=op.f('fk_inbox_messages_channel_id_inbox_channels'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_point_id'], ['inbox_contact_points.id'], name=op.f('fk_inbox_messages_contact_point_id_inbox_contact_points'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_inbox_messages_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['receipt_id'], ['inbox_webhook_receipts.id'], name=op.f('fk_inbox_messages_receipt_id_inbox_webhook_receipts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages')),
    sa.UniqueConstraint('channel_id', 'provider_message_id', name=op.f('uq_inbox_messages_channel_id_provider_message_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_inbox_messages_idempotency_key'))
    )
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_messages_conversation', ['conversation_id', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_messages_state_changed_at'), ['state_changed_at'], unique=False)

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_messages_state_changed_at'))
        batch_op.drop_index('ix_inbox_messages_conversation')

    op.drop_table('inbox_messages')
    with op.batch_alter_table('inbox_webhook_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_webhook_receipts_status')

    op.drop_table('inbox_webhook_receipts')
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_conversations_updated_at'))
        batch_op.drop_index('ix_inbox_conversations_queue')
        batch_op.drop_index('ix_inbox_conversations_profile')

    op.drop_table('inbox_conversations')
    with op.batch_alter_table('inbox_contact_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_contact_points_profile_id'))

    op.drop_table('inbox_contact_points')
    op.drop_table('inbox_channels')
    # ### end Alembic commands ###
