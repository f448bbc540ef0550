"""Terms of sale frozen on each booking; where a customer leaving checkout returns to;
slots that can be cancelled; a per-offering limit of seats per booking.

Existing bookings get the terms in force now: their offering's cancellation policy. Their
fee refund mode and fee policy version were already stored at the sale, and migration
0008 named the fee policy (id and scope) that priced them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("cancellation_policy", sa.JSON(), nullable=True))
    op.add_column("bookings", sa.Column("cancel_url", sa.String(length=2048), nullable=True))
    op.add_column("offerings", sa.Column("max_seats_per_booking", sa.Integer(), nullable=True))
    op.add_column("slots", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("slots", sa.Column("cancellation_reason", sa.Text(), nullable=True))
    _freeze_the_terms_in_force_now()


def _freeze_the_terms_in_force_now() -> None:
    # Read in Python: a JSON column may hold SQL NULL or JSON null, which Python sees alike.
    offerings = sa.table(
        "offerings",
        sa.column("tenant_id", sa.String()),
        sa.column("id", sa.String()),
        sa.column("cancellation_policy", sa.JSON()),
    )
    bookings = sa.table(
        "bookings",
        sa.column("tenant_id", sa.String()),
        sa.column("offering_id", sa.String()),
        sa.column("cancellation_policy", sa.JSON(none_as_null=True)),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(offerings)):
        connection.execute(
            bookings.update()
            .where(bookings.c.tenant_id == row.tenant_id, bookings.c.offering_id == row.id)
            .values(cancellation_policy=row.cancellation_policy)
        )


def downgrade() -> None:
    # Plain ALTER TABLE, not batch rebuilds: rebuilding a table other tables point at fails
    # SQLite's foreign-key checks once it has rows (see 0008).
    op.drop_column("slots", "cancellation_reason")
    op.drop_column("slots", "cancelled_at")
    op.drop_column("offerings", "max_seats_per_booking")
    op.drop_column("bookings", "cancel_url")
    op.drop_column("bookings", "cancellation_policy")
