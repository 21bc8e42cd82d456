"""Jobs: an index of the queued jobs in the order workers take them, so that a claim stops once it has enough
however many jobs wait

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0040'
down_revision: str | None = '0039'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = sa.text("status = 'queued'")


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_claim_order', ['priority', 'run_at', 'id'], unique=False,
                              postgresql_where=QUEUED, sqlite_where=QUEUED)


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_claim_order', postgresql_where=QUEUED, sqlite_where=QUEUED)
