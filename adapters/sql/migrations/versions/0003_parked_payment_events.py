"""Refund and dispute events parked until their payment is known; hold sweepers' claims on
bookings; the unused fake counter goes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_parked_events")),
    )
    op.create_index("ix_parked_events_payment_intent", "parked_events", ["payment_intent_id"])
    op.add_column(
        "bookings", sa.Column("sweep_claimed_until", sa.DateTime(timezone=True), nullable=True)
    )
    # The fake gateway no longer numbers its ids with a shared counter.
    op.drop_table("fake_counters")


def downgrade() -> None:
    op.create_table(
        "fake_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_fake_counters")),
    )
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("sweep_claimed_until")
    op.drop_index("ix_parked_events_payment_intent", table_name="parked_events")
    op.drop_table("parked_events")
