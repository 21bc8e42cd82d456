"""Customers: duplicate suggestions (the review queue) and duplicate detection runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:57:26.162510
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('duplicate_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', name='runstatus', native_enum=False, length=16), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('min_score', sa.Float(), nullable=False),
    sa.Column('auto_merge_score', sa.Float(), nullable=True),
    sa.Column('profile_count', sa.Integer(), nullable=False),
    sa.Column('pair_count', sa.Integer(), nullable=False),
    sa.Column('new_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('stale_count', sa.Integer(), nullable=False),
    sa.Column('auto_merged_count', sa.Integer(), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_runs'))
    )
    with op.batch_alter_table('duplicate_runs', schema=None) as batch_op:
        batch_op.create_index('ix_duplicate_runs_created', ['created_at'], unique=False)

    op.create_table('duplicate_suggestions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('other_profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('match_weight', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('open', 'merged', 'not_same', 'stale', name='suggestionstatus', native_enum=False, length=16), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('profile_id < other_profile_id', name=op.f('ck_duplicate_suggestions_pair_in_order')),
    sa.ForeignKeyConstraint(['other_profile_id'], ['profiles.id'], name=op.f('fk_duplicate_suggestions_other_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_duplicate_suggestions_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['duplicate_runs.id'], name=op.f('fk_duplicate_suggestions_run_id_duplicate_runs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_suggestions')),
    sa.UniqueConstraint('profile_id', 'other_profile_id', name='uq_duplicate_suggestions_pair')
    )
    with op.batch_alter_table('duplicate_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duplicate_suggestions_other_profile_id'), ['other_profile_id'], unique=False)
        batch_op.create_index('ix_duplicate_suggestions_queue', ['status', 'score'], unique=False)
        batch_op.create_index(batch_op.f('ix_duplicate_suggestions_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('duplicate_suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicate_suggestions_run_id'))
        batch_op.drop_index('ix_duplicate_suggestions_queue')
        batch_op.drop_index(batch_op.f('ix_duplicate_suggestions_other_profile_id'))

    op.drop_table('duplicate_suggestions')
    with op.batch_alter_table('duplicate_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_duplicate_runs_created')

    op.drop_table('duplicate_runs')
