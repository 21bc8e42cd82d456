"""Jobs: an index of the open jobs by ordering key, so that a claim's check for an earlier open job of the same
key stays one small probe however many jobs are done

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0038'
down_revision: str | None = '0037'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_ordering_open', ['ordering_key', 'sequence'], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_ordering_open', postgresql_where=OPEN, sqlite_where=OPEN)
