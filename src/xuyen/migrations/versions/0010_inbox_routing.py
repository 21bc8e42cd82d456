"""Inbox routing: teams, agents' availability, assignment rules, labels and their rules, canned responses, mentions,
and the folded copy of messages for search (a trigram index on PostgreSQL where pg_trgm can be installed).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:16:46.425836
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox_labels',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('name_key', sa.String(length=60), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_labels')),
    sa.UniqueConstraint('name_key', name=op.f('uq_inbox_labels_name_key'))
    )
    op.create_table('inbox_teams',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_inbox_teams_name'))
    )
    op.create_table('inbox_assignment_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('conditions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('assign_agent', sa.Boolean(), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['inbox_teams.id'], name=op.f('fk_inbox_assignment_rules_team_id_inbox_teams'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_assignment_rules'))
    )
    with op.batch_alter_table('inbox_assignment_rules', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_assignment_rules_position', ['position', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_assignment_rules_team_id'), ['team_id'], unique=False)

    op.create_table('inbox_label_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('source', 'keyword', name='labelrulekind', native_enum=False, length=16), nullable=False),
    sa.Column('conditions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['label_id'], ['inbox_labels.id'], name=op.f('fk_inbox_label_rules_label_id_inbox_labels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_label_rules'))
    )
    with op.batch_alter_table('inbox_label_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_label_rules_label_id'), ['label_id'], unique=False)

    op.create_table('inbox_agent_status',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('availability', sa.Enum('online', 'busy', 'offline', name='availability', native_enum=False, length=16), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('changed_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_agent_status_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_inbox_agent_status'))
    )
    op.create_table('inbox_canned_responses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('shortcut', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('owner_key', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_inbox_canned_responses_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_inbox_canned_responses_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_canned_responses')),
    sa.UniqueConstraint('owner_key', 'shortcut', name=op.f('uq_inbox_canned_responses_owner_key_shortcut'))
    )
    op.create_table('inbox_team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_assigned_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('added_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['inbox_teams.id'], name=op.f('fk_inbox_team_members_team_id_inbox_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_inbox_team_members'))
    )
    with op.batch_alter_table('inbox_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('inbox_conversation_labels',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_inbox_conversation_labels_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_inbox_conversation_labels_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['label_id'], ['inbox_labels.id'], name=op.f('fk_inbox_conversation_labels_label_id_inbox_labels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'label_id', name=op.f('pk_inbox_conversation_labels'))
    )
    with op.batch_alter_table('inbox_conversation_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_conversation_labels_label_id'), ['label_id'], unique=False)

    op.create_table('inbox_conversation_routing',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('routed_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_inbox_conversation_routing_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['inbox_assignment_rules.id'], name=op.f('fk_inbox_conversation_routing_rule_id_inbox_assignment_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['inbox_teams.id'], name=op.f('fk_inbox_conversation_routing_team_id_inbox_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('conversation_id', name=op.f('pk_inbox_conversation_routing'))
    )
    with op.batch_alter_table('inbox_conversation_routing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_conversation_routing_team_id'), ['team_id'], unique=False)

    op.create_table('inbox_mentions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_inbox_mentions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_inbox_mentions_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_messages.id'], name=op.f('fk_inbox_mentions_message_id_inbox_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_mentions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_mentions')),
    sa.UniqueConstraint('message_id', 'user_id', name=op.f('uq_inbox_mentions_message_id_user_id'))
    )
    with op.batch_alter_table('inbox_mentions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_mentions_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_inbox_mentions_user', ['user_id', 'read_at'], unique=False)

    op.create_table('inbox_message_search',
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('folded', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['inbox_conversations.id'], name=op.f('fk_inbox_message_search_conversation_id_inbox_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_messages.id'], name=op.f('fk_inbox_message_search_message_id_inbox_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_inbox_message_search'))
    )
    with op.batch_alter_table('inbox_message_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_message_search_conversation_id'), ['conversation_id'], unique=False)
    _create_search_index()


def _create_search_index() -> None:
    """The index of the folded messages: on PostgreSQL a trigram index (it serves LIKE '%…%') when pg_trgm is
    available and can be installed, else none (searching scans; `xuyen routing reindex` makes the index once the
    extension is there); on SQLite a plain index."""
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        op.create_index('ix_inbox_message_search_folded', 'inbox_message_search', ['folded'], unique=False)
        return
    if bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first() is None:
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
            bind.execute(sa.text('CREATE INDEX ix_inbox_message_search_folded ON inbox_message_search '
                                 'USING gin (folded gin_trgm_ops)'))
    except sa.exc.DBAPIError:  # no privilege to install the extension: search scans instead
        return



def downgrade() -> None:
    op.execute('DROP INDEX IF EXISTS ix_inbox_message_search_folded')
    with op.batch_alter_table('inbox_message_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_message_search_conversation_id'))

    op.drop_table('inbox_message_search')
    with op.batch_alter_table('inbox_mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_mentions_user')
        batch_op.drop_index(batch_op.f('ix_inbox_mentions_conversation_id'))

    op.drop_table('inbox_mentions')
    with op.batch_alter_table('inbox_conversation_routing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_conversation_routing_team_id'))

    op.drop_table('inbox_conversation_routing')
    with op.batch_alter_table('inbox_conversation_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_conversation_labels_label_id'))

    op.drop_table('inbox_conversation_labels')
    with op.batch_alter_table('inbox_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_team_members_user_id'))

    op.drop_table('inbox_team_members')
    op.drop_table('inbox_canned_responses')
    op.drop_table('inbox_agent_status')
    with op.batch_alter_table('inbox_label_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_label_rules_label_id'))

    op.drop_table('inbox_label_rules')
    with op.batch_alter_table('inbox_assignment_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_assignment_rules_team_id'))
        batch_op.drop_index('ix_inbox_assignment_rules_position')

    op.drop_table('inbox_assignment_rules')
    op.drop_table('inbox_teams')
    op.drop_table('inbox_labels')
