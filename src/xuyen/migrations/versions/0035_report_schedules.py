"""Analytics: scheduled reports and their runs

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 01:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import xuyen.db

revision: str = '0035'
down_revision: str | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('analytics_report_schedules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('dashboard', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=24), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=True),
    sa.Column('month_day', sa.Integer(), nullable=True),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('user_ids', JSON, nullable=False),
    sa.Column('emails', JSON, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_report_schedules'))
    )
    op.create_index('ix_analytics_report_schedules_due', 'analytics_report_schedules', ['active', 'next_run_at'],
                    unique=False)
    op.create_table('analytics_report_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('run_key', sa.String(length=100), nullable=False),
    sa.Column('due_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('delivered', JSON, nullable=False),
    sa.Column('sent_at', xuyen.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', xuyen.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['analytics_report_schedules.id'],
                            name=op.f('fk_analytics_report_runs_schedule_id_analytics_report_schedules'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_report_runs')),
    sa.UniqueConstraint('run_key', name=op.f('uq_analytics_report_runs_run_key'))
    )
    op.create_index('ix_analytics_report_runs_schedule', 'analytics_report_runs', ['schedule_id', 'due_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_analytics_report_runs_schedule', table_name='analytics_report_runs')
    op.drop_table('analytics_report_runs')
    op.drop_index('ix_analytics_report_schedules_due', table_name='analytics_report_schedules')
    op.drop_table('analytics_report_schedules')
