"""The identity graph: profiles, identifiers, merges, conflicts; events.profile_id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:21:02.597138
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('profiles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merged_into_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_seen_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['profiles.id'], name=op.f('fk_profiles_merged_into_id_profiles'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profiles'))
    )
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profiles_merged_into_id'), ['merged_into_id'], unique=False)

    op.create_table('identity_conflicts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('other_profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('identifier', sa.String(length=600), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('event_message_id', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['other_profile_id'], ['profiles.id'], name=op.f('fk_identity_conflicts_other_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_identity_conflicts_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_conflicts'))
    )
    with op.batch_alter_table('identity_conflicts', schema=None) as batch_op:
        batch_op.create_index('ix_identity_conflicts_open', ['resolved_at', 'created_at'], unique=False)

    op.create_table('identity_merges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('survivor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('absorbed_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('linking_identifier', sa.String(length=600), nullable=False),
    sa.Column('event_message_id', sa.String(length=200), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('moved_identifier_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['absorbed_id'], ['profiles.id'], name=op.f('fk_identity_merges_absorbed_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survivor_id'], ['profiles.id'], name=op.f('fk_identity_merges_survivor_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_merges'))
    )
    with op.batch_alter_table('identity_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_merges_absorbed_id'), ['absorbed_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_identity_merges_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('profile_identifiers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('flags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('first_seen_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_profile_identifiers_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_profile_identifiers_source_id_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_profile_identifiers')),
    sa.UniqueConstraint('type', 'scope', 'value', name='uq_profile_identifiers_key')
    )
    with op.batch_alter_table('profile_identifiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profile_identifiers_profile_id'), ['profile_id'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index('ix_events_profile_timestamp', ['profile_id', 'timestamp'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_events_profile_id_profiles'), 'profiles', ['profile_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_events_profile_id_profiles'), type_='foreignkey')
        batch_op.drop_index('ix_events_profile_timestamp')
        batch_op.drop_column('profile_id')

    with op.batch_alter_table('profile_identifiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profile_identifiers_profile_id'))

    op.drop_table('profile_identifiers')
    with op.batch_alter_table('identity_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_merges_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_identity_merges_absorbed_id'))

    op.drop_table('identity_merges')
    with op.batch_alter_table('identity_conflicts', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_conflicts_open')

    op.drop_table('identity_conflicts')
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profiles_merged_into_id'))

    op.drop_table('profiles')
