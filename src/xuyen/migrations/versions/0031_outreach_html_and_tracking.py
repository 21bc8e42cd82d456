"""Outreach: the HTML of an e-mail message, and its open and click tracking

Revision ID: 0031
Revises: 0027
Create Date: 2026-12-06 20:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0031'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html', sa.Text(), nullable=True))
    op.create_table('inbox_message_tracking',
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('links', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('opens', sa.Integer(), nullable=False),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.Column('first_opened_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_clicked_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_messages.id'],
                            name=op.f('fk_inbox_message_tracking_message_id_inbox_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_inbox_message_tracking'))
    )


def downgrade() -> None:
    op.drop_table('inbox_message_tracking')
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_column('html')
