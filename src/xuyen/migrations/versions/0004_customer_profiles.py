"""Customers: the materialised customer row, consents, erasures; the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:50:08.197076
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_subject', ['subject_type', 'subject_id', 'at'], unique=False)

    op.create_table('customer_erasures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('counts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('erased_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_customer_erasures_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_erasures'))
    )
    with op.batch_alter_table('customer_erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_erasures_profile_id'), ['profile_id'], unique=False)

    op.create_table('customer_profiles',
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=False),
    sa.Column('name_folded', sa.String(length=300), nullable=False),
    sa.Column('family_name', sa.String(length=200), nullable=False),
    sa.Column('given_name', sa.String(length=200), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('gender', sa.String(length=32), nullable=False),
    sa.Column('phones', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('emails', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('user_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('province_code', sa.String(length=16), nullable=False),
    sa.Column('ward_code', sa.String(length=16), nullable=False),
    sa.Column('address_parsed', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('traits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('computed', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('first_seen_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_customer_profiles_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', name=op.f('pk_customer_profiles'))
    )
    with op.batch_alter_table('customer_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_customer_profiles_last_seen', ['last_seen_at'], unique=False)
        batch_op.create_index('ix_customer_profiles_name_folded', ['name_folded'], unique=False)

    op.create_table('customer_consents',
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('proof', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_customer_consents_profile_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_customer_consents_source_id_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('profile_id', 'channel', 'purpose', name=op.f('pk_customer_consents'))
    )
    op.create_table('erased_identities',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('erasure_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['erasure_id'], ['customer_erasures.id'], name=op.f('fk_erased_identities_erasure_id_customer_erasures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_erased_identities'))
    )
    with op.batch_alter_table('erased_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erased_identities_erasure_id'), ['erasure_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('erased_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erased_identities_erasure_id'))

    op.drop_table('erased_identities')
    op.drop_table('customer_consents')
    with op.batch_alter_table('customer_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_profiles_name_folded')
        batch_op.drop_index('ix_customer_profiles_last_seen')

    op.drop_table('customer_profiles')
    with op.batch_alter_table('customer_erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_erasures_profile_id'))

    op.drop_table('customer_erasures')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_subject')
        batch_op.drop_index('ix_audit_log_at')

    op.drop_table('audit_log')
