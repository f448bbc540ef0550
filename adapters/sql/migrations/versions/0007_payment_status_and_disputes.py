"""Bookings' payment_status beside their seat status; disputes that open, close and are
recovered; whose balance a ledger entry moved.

`refunded` is no longer a booking status: a refund never changes the seats, so such
bookings become `confirmed` again, and their payment_status tells what was given back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Mirrors domain.booking.Booking.payment_status for the rows that exist at upgrade: a
# booking is paid once confirmed or cancelled; disputes recorded so far were only ever
# opened (charge.dispute.created), so any dispute makes it disputed; otherwise the refunds
# the gateway confirmed (not the pending reservations) tell how much went back.
_PAYMENT_STATUS = """
UPDATE bookings SET payment_status = CASE
    WHEN status NOT IN ('confirmed', 'cancelled') THEN 'unpaid'
    WHEN EXISTS (
        SELECT 1 FROM disputes d
        WHERE d.tenant_id = bookings.tenant_id AND d.booking_id = bookings.id
    ) THEN 'disputed'
    WHEN COALESCE((
        SELECT SUM(r.customer_refund) FROM booking_refunds r
        WHERE r.tenant_id = bookings.tenant_id AND r.booking_id = bookings.id
          AND r.pending = false
    ), 0) >= customer_total THEN 'refunded'
    WHEN COALESCE((
        SELECT SUM(r.customer_refund) FROM booking_refunds r
        WHERE r.tenant_id = bookings.tenant_id AND r.booking_id = bookings.id
          AND r.pending = false
    ), 0) > 0 THEN 'partially_refunded'
    ELSE 'paid'
END
"""


def upgrade() -> None:
    op.add_column(
        "bookings",
        sa.Column("payment_status", sa.String(length=32), server_default="unpaid", nullable=False),
    )
    op.create_index(
        "ix_bookings_tenant_payment_status",
        "bookings",
        ["tenant_id", "payment_status", "created_at"],
    )
    op.execute("UPDATE bookings SET status = 'confirmed' WHERE status = 'refunded'")
    op.execute(_PAYMENT_STATUS)

    op.add_column(
        "disputes",
        sa.Column("status", sa.String(length=32), server_default="needs_response", nullable=False),
    )
    op.add_column(
        "disputes",
        sa.Column("is_charge_refundable", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("disputes", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("disputes", sa.Column("as_of", sa.DateTime(timezone=True), nullable=True))
    op.add_column("disputes", sa.Column("recovery_reference", sa.String(length=255), nullable=True))
    op.add_column("disputes", sa.Column("recovery_amount", sa.BigInteger(), nullable=True))
    op.add_column(
        "disputes", sa.Column("recovery_reversal_id", sa.String(length=255), nullable=True)
    )

    op.add_column(
        "ledger_entries",
        sa.Column("borne_by", sa.String(length=20), server_default="tenant", nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("borne_by")
    with op.batch_alter_table("disputes") as batch:
        for column in (
            "recovery_reversal_id",
            "recovery_amount",
            "recovery_reference",
            "as_of",
            "closed_at",
            "is_charge_refundable",
            "status",
        ):
            batch.drop_column(column)
    op.execute(
        "UPDATE bookings SET status = 'refunded' "
        "WHERE status = 'confirmed' AND payment_status IN ('partially_refunded', 'refunded')"
    )
    op.drop_index("ix_bookings_tenant_payment_status", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("payment_status")
