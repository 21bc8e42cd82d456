"""PostgreSQL: every statement that adds domain events wakes the workers (NOTIFY from a trigger)

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-06 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel is xuyen.wakeup.NOTIFY_CHANNEL; NOTIFY is delivered when the transaction commits, and identical
# notifications of one transaction are delivered once.
NOTIFY_FUNCTION = """
CREATE FUNCTION xuyen_outbox_wakes_workers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('xuyen_jobs', '');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_FUNCTION)
    op.execute("CREATE TRIGGER outbox_events_wake_workers AFTER INSERT ON outbox_events "
               "FOR EACH STATEMENT EXECUTE FUNCTION xuyen_outbox_wakes_workers()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER outbox_events_wake_workers ON outbox_events")
    op.execute("DROP FUNCTION xuyen_outbox_wakes_workers()")
