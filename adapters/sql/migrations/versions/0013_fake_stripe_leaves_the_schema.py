"""The fake Stripe's tables leave the product's schema: the fake makes its own tables
(adapters/fake_stripe/tables.py) where it runs, so a production database has none.

Dropped only when all three are empty: a development database that ran the fake keeps its
fake payments, which the fake goes on using (its tables have the same columns).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAKE_TABLES = ("fake_events", "fake_idempotency_keys", "fake_objects")


def _present() -> list[str]:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    return [name for name in FAKE_TABLES if name in existing]


def _empty(table: str) -> bool:
    # The names come from FAKE_TABLES above, never from input.
    row = op.get_bind().execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first()  # noqa: S608
    return row is None


def upgrade() -> None:
    present = _present()
    if not all(_empty(table) for table in present):
        return
    for table in present:
        op.drop_table(table)


def downgrade() -> None:
    # Revision 0012 has the three tables: make those missing as 0012 left them.
    present = set(_present())
    if "fake_events" not in present:
        op.create_table(
            "fake_events",
            sa.Column("id", sa.String(length=255), nullable=False),
            sa.Column("type", sa.String(length=100), nullable=False),
            sa.Column("endpoint", sa.String(length=20), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.Column("sequence", sa.BigInteger(), nullable=False),
            sa.Column("delivered", sa.Boolean(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_fake_events")),
            sa.UniqueConstraint("sequence", name=op.f("uq_fake_events_sequence")),
        )
        op.create_index(
            "ix_fake_events_delivered_sequence", "fake_events", ["delivered", "sequence"]
        )
        op.create_index("ix_fake_events_next_attempt_at", "fake_events", ["next_attempt_at"])
    if "fake_idempotency_keys" not in present:
        op.create_table(
            "fake_idempotency_keys",
            sa.Column("key", sa.String(length=255), nullable=False),
            sa.Column("object_id", sa.String(length=255), nullable=False),
            sa.PrimaryKeyConstraint("key", name=op.f("pk_fake_idempotency_keys")),
        )
    if "fake_objects" not in present:
        op.create_table(
            "fake_objects",
            sa.Column("id", sa.String(length=255), nullable=False),
            sa.Column("kind", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.String(length=255), nullable=True),
            sa.Column("body", sa.JSON(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_fake_objects")),
        )
