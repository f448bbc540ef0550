"""Refunds reserved before the gateway is asked, and disputes recorded once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "booking_refunds",
        sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "disputes",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("dispute_id", sa.String(length=255), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_disputes_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "booking_id"],
            ["bookings.tenant_id", "bookings.id"],
            name=op.f("fk_disputes_tenant_id_booking_id_bookings"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "dispute_id", name=op.f("pk_disputes")),
    )
    op.create_index("ix_disputes_tenant_booking", "disputes", ["tenant_id", "booking_id"])


def downgrade() -> None:
    op.drop_index("ix_disputes_tenant_booking", table_name="disputes")
    op.drop_table("disputes")
    with op.batch_alter_table("booking_refunds") as batch:
        batch.drop_column("pending")
