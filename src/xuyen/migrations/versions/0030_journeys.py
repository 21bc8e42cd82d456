"""Journeys: flows, versions, enrolments, steps and sends

Revision ID: 0030
Revises: 0027
Create Date: 2026-12-06 20:12:39.175745
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0030'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('journeys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'live', 'paused', 'archived', name='journeystatus', native_enum=False, length=16), nullable=False),
    sa.Column('draft', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('live_version', sa.Integer(), nullable=True),
    sa.Column('trigger_kind', sa.String(length=32), nullable=False),
    sa.Column('trigger_key', sa.String(length=200), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journeys')),
    sa.UniqueConstraint('name', name=op.f('uq_journeys_name'))
    )
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.create_index('ix_journeys_trigger', ['status', 'trigger_kind', 'trigger_key'], unique=False)

    op.create_table('journey_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('published_by', sa.String(length=200), nullable=False),
    sa.Column('published_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_versions_journey_id_journeys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_versions')),
    sa.UniqueConstraint('journey_id', 'number', name=op.f('uq_journey_versions_journey_id_number'))
    )
    op.create_table('journey_enrolments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('active', 'completed', 'goal', 'exited', 'holdout', name='enrolmentstatus', native_enum=False, length=16), nullable=False),
    sa.Column('holdout', sa.Boolean(), nullable=False),
    sa.Column('node', sa.String(length=32), nullable=True),
    sa.Column('visit', sa.Integer(), nullable=False),
    sa.Column('waiting_for', sa.String(length=200), nullable=True),
    sa.Column('wake_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('context', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('exit_reason', sa.String(length=64), nullable=False),
    sa.Column('converted_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revenue', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entered_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['journey_id'], ['journeys.id'], name=op.f('fk_journey_enrolments_journey_id_journeys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_journey_enrolments_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['journey_versions.id'], name=op.f('fk_journey_enrolments_version_id_journey_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_enrolments')),
    sa.UniqueConstraint('entry_key', name=op.f('uq_journey_enrolments_entry_key'))
    )
    with op.batch_alter_table('journey_enrolments', schema=None) as batch_op:
        batch_op.create_index('ix_journey_enrolments_journey', ['journey_id', 'status', 'node'], unique=False)
        batch_op.create_index('ix_journey_enrolments_profile', ['profile_id', 'status'], unique=False)
        batch_op.create_index('ix_journey_enrolments_waiting', ['waiting_for', 'status'], unique=False)

    op.create_table('journey_sends',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('enrolment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('node', sa.String(length=32), nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('routes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('sent_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('clicked_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replied_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('converted_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revenue', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['journey_enrolments.id'], name=op.f('fk_journey_sends_enrolment_id_journey_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_journey_sends_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_sends')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_journey_sends_idempotency_key'))
    )
    with op.batch_alter_table('journey_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journey_sends_message_id'), ['message_id'], unique=False)
        batch_op.create_index('ix_journey_sends_node', ['journey_id', 'node'], unique=False)
        batch_op.create_index('ix_journey_sends_profile', ['profile_id', 'sent_at'], unique=False)

    op.create_table('journey_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('enrolment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('journey_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('node', sa.String(length=32), nullable=False),
    sa.Column('visit', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['journey_enrolments.id'], name=op.f('fk_journey_steps_enrolment_id_journey_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_steps')),
    sa.UniqueConstraint('enrolment_id', 'visit', name=op.f('uq_journey_steps_enrolment_id_visit'))
    )
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.create_index('ix_journey_steps_node', ['journey_id', 'node', 'outcome'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('journey_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_steps_node')

    op.drop_table('journey_steps')
    with op.batch_alter_table('journey_sends', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_sends_profile')
        batch_op.drop_index('ix_journey_sends_node')
        batch_op.drop_index(batch_op.f('ix_journey_sends_message_id'))

    op.drop_table('journey_sends')
    with op.batch_alter_table('journey_enrolments', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_enrolments_waiting')
        batch_op.drop_index('ix_journey_enrolments_profile')
        batch_op.drop_index('ix_journey_enrolments_journey')

    op.drop_table('journey_enrolments')
    op.drop_table('journey_versions')
    with op.batch_alter_table('journeys', schema=None) as batch_op:
        batch_op.drop_index('ix_journeys_trigger')

    op.drop_table('journeys')
