"""The event log: events (Segment spec) and quarantined events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:15:14.982950
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('type', sa.Enum('identify', 'track', 'page', 'screen', 'group', 'alias', name='eventtype', native_enum=False, length=16), nullable=False),
    sa.Column('event', sa.String(length=200), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=True),
    sa.Column('anonymous_id', sa.String(length=200), nullable=True),
    sa.Column('previous_id', sa.String(length=200), nullable=True),
    sa.Column('group_id', sa.String(length=200), nullable=True),
    sa.Column('properties', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('traits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('context', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('integrations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('timestamp', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('original_timestamp', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_events_source_id_sources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('source_id', 'message_id', name='uq_events_source_message')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_anonymous_id', ['anonymous_id'], unique=False)
        batch_op.create_index('ix_events_event_timestamp', ['event', 'timestamp'], unique=False)
        batch_op.create_index('ix_events_timestamp', ['timestamp'], unique=False)
        batch_op.create_index('ix_events_user_id', ['user_id'], unique=False)

    op.create_table('quarantined_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('received_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_quarantined_events_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantined_events'))
    )
    with op.batch_alter_table('quarantined_events', schema=None) as batch_op:
        batch_op.create_index('ix_quarantined_events_source_time', ['source_id', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('quarantined_events', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantined_events_source_time')

    op.drop_table('quarantined_events')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_user_id')
        batch_op.drop_index('ix_events_timestamp')
        batch_op.drop_index('ix_events_event_timestamp')
        batch_op.drop_index('ix_events_anonymous_id')

    op.drop_table('events')
