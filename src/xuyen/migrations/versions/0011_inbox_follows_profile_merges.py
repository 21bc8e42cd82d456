"""The inbox follows profile merges: a conversation combined into another points to it, and what each merge moved
is kept so that undoing the merge gives it back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 07:38:40.081657
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox_profile_merges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('merge_id', sa.BigInteger(), nullable=False),
    sa.Column('survivor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('absorbed_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_point_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('conversation_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('combined', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['absorbed_id'], ['profiles.id'], name=op.f('fk_inbox_profile_merges_absorbed_id_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survivor_id'], ['profiles.id'], name=op.f('fk_inbox_profile_merges_survivor_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_profile_merges')),
    sa.UniqueConstraint('merge_id', name=op.f('uq_inbox_profile_merges_merge_id'))
    )
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbox_conversations', schema=None) as batch_op:
        batch_op.drop_column('merged_into_id')

    op.drop_table('inbox_profile_merges')
