"""Message templates: per-channel variants (e-mail, SMS, ZNS, Messenger, Zalo OA) and their saved versions

Revision ID: 0029
Revises: 0026
Create Date: 2026-12-06 17:58:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0029'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('message_templates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_folded', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('variants', JSON, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('archived_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_templates')),
    sa.UniqueConstraint('name_folded', name='uq_message_templates_name_folded')
    )
    op.create_table('message_template_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('variants', JSON, nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['message_templates.id'],
                            name=op.f('fk_message_template_versions_template_id_message_templates'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_template_versions')),
    sa.UniqueConstraint('template_id', 'version', name='uq_message_template_versions_version')
    )
    with op.batch_alter_table('message_template_versions', schema=None) as batch_op:
        batch_op.create_index('ix_message_template_versions_template', ['template_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message_template_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_message_template_versions_template')
    op.drop_table('message_template_versions')
    op.drop_table('message_templates')
