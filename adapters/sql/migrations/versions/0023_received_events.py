"""Received events: verified webhooks acknowledged before they are applied (`queue` mode).

`BOOKPAY_WEBHOOK_MODE=queue` answers Stripe once the verified body is kept here, and a
paced worker applies it (exactly once still decided by `webhook_inbox`, in the effect's
transaction). Like `webhook_inbox` and `parked_events`, no tenant's row: no row-level
security policy; the application's role gets its rows through 0012's default privileges.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("endpoint", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_received_events")),
    )
    op.create_index("ix_received_events_due", "received_events", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_received_events_due", table_name="received_events")
    op.drop_table("received_events")
