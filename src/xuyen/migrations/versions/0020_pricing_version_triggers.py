"""Pricing: the database moves the pricing version token whenever a row a quote caches changes

Every insert, delete and relevant update of price lists, prices, overrides, promotions, VAT rates, and of the
catalogue's variants and products (the columns pricing reads), sets ``pricing_version.token`` to a new random
value in the same transaction, whoever writes. Each process compares the token with its cache's before a quote.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 13:30:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Names only from these constants go into the DDL below. Each table, and the columns whose update changes a quote (None: every column).
WATCHED: dict[str, tuple[str, ...] | None] = {
    "pricing_price_lists": None,
    "pricing_prices": None,
    "pricing_overrides": None,
    "pricing_promotions": None,
    "pricing_vat_rates": None,
    "catalogue_variants": ("id", "product_id", "sku", "options", "is_active"),
    "catalogue_products": ("id", "name", "category_id", "tax_class", "status", "option_names"),
}
FUNCTION = "pricing_version_bump"


def _trigger(table: str, operation: str) -> str:
    return f"{table}_bumps_pricing_version_{operation}"


def _upgrade_sqlite() -> None:
    for table, columns in WATCHED.items():
        for operation in ("insert", "update", "delete"):
            event = operation.upper()
            if operation == "update" and columns is not None:
                event = "UPDATE OF " + ", ".join(columns)
            op.execute(f"CREATE TRIGGER {_trigger(table, operation)} AFTER {event} ON {table} BEGIN "  # noqa: S608
                       "UPDATE pricing_version SET token = lower(hex(randomblob(16))) WHERE id = 1; END")


def _upgrade_postgresql() -> None:
    op.execute(f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608
               "UPDATE pricing_version SET token = md5(random()::text || clock_timestamp()::text) WHERE id = 1; "
               "RETURN NULL; END $$")
    for table, columns in WATCHED.items():
        update = "UPDATE" if columns is None else "UPDATE OF " + ", ".join(columns)
        op.execute(f"CREATE TRIGGER {_trigger(table, 'change')} AFTER INSERT OR {update} OR DELETE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")
        op.execute(f"CREATE TRIGGER {_trigger(table, 'truncate')} AFTER TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()
    versions = sa.table("pricing_version", sa.column("id", sa.Integer), sa.column("token", sa.String))
    op.execute(versions.update().where(versions.c.id == 1).values(token=uuid.uuid4().hex))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        operations = ("change", "truncate") if postgresql else ("insert", "update", "delete")
        for operation in operations:
            op.execute(f"DROP TRIGGER IF EXISTS {_trigger(table, operation)}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
