"""Identifiers are keyed value first, so looking up a batch's values is an index search whatever the planner
knows of the table (a new shop's first big import runs before any statistics exist), and a search by value
alone (any identifier holding what was typed) uses the same index.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rekey(columns: list[str]) -> None:
    with op.batch_alter_table('profile_identifiers') as batch:
        batch.drop_constraint('uq_profile_identifiers_key', type_='unique')
        batch.create_unique_constraint('uq_profile_identifiers_key', columns)


def upgrade() -> None:
    _rekey(['value', 'type', 'scope'])


def downgrade() -> None:
    _rekey(['type', 'scope', 'value'])
