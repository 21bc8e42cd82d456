"""Customer list imports: the import and its progress, the uploaded file, the report rows, prepared batches.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:54:17.871751
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customer_imports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('encoding', sa.String(length=32), nullable=True),
    sa.Column('delimiter', sa.String(length=4), nullable=True),
    sa.Column('sheet', sa.String(length=200), nullable=True),
    sa.Column('header_row', sa.Integer(), nullable=False),
    sa.Column('headers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('mapping', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.Enum('draft', 'queued', 'running', 'done', 'failed', name='importstatus', native_enum=False, length=16), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_imported', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('rows_flagged', sa.Integer(), nullable=False),
    sa.Column('events_stored', sa.Integer(), nullable=False),
    sa.Column('batches_total', sa.Integer(), nullable=False),
    sa.Column('batches_done', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_customer_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_customer_imports_source_id_sources'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_imports'))
    )
    with op.batch_alter_table('customer_imports', schema=None) as batch_op:
        batch_op.create_index('ix_customer_imports_created_at', ['created_at'], unique=False)

    op.create_table('customer_import_batches',
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('calls', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['customer_imports.id'], name=op.f('fk_customer_import_batches_import_id_customer_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', 'number', name=op.f('pk_customer_import_batches'))
    )
    op.create_table('customer_import_files',
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['customer_imports.id'], name=op.f('fk_customer_import_files_import_id_customer_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('import_id', name=op.f('pk_customer_import_files'))
    )
    op.create_table('customer_import_issues',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('rejected', 'flagged', name='issuestatus', native_enum=False, length=16), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['customer_imports.id'], name=op.f('fk_customer_import_issues_import_id_customer_imports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_import_issues'))
    )
    with op.batch_alter_table('customer_import_issues', schema=None) as batch_op:
        batch_op.create_index('ix_customer_import_issues_import_row', ['import_id', 'row_number'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_import_issues', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_import_issues_import_row')

    op.drop_table('customer_import_issues')
    op.drop_table('customer_import_files')
    op.drop_table('customer_import_batches')
    with op.batch_alter_table('customer_imports', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_imports_created_at')

    op.drop_table('customer_imports')
