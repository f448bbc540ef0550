"""A checkout's count of the customer's unpaid bookings reads an index also as the
application's role. 0020 indexed lower(customer_email), but under PostgreSQL's row-level
security a condition calling a function that is not LEAKPROOF (lower() is not) runs only after
the tenant policy, so it cannot be an index condition: the count still read every unpaid
booking of the tenant. The address case-blind is now a generated column (stored on
PostgreSQL, virtual on SQLite, which cannot add a stored one) compared with plain equality,
which is leakproof, and the index covers it.

On PostgreSQL adding a stored generated column rewrites the bookings table once.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    stored = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_bookings_tenant_status_email", table_name="bookings")
    op.add_column(
        "bookings",
        sa.Column(
            "customer_email_lower",
            sa.String(320),
            sa.Computed("lower(customer_email)", persisted=True if stored else None),
        ),
    )
    op.create_index(
        "ix_bookings_tenant_status_email",
        "bookings",
        ["tenant_id", "status", "customer_email_lower"],
    )


def downgrade() -> None:
    op.drop_index("ix_bookings_tenant_status_email", table_name="bookings")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("customer_email_lower")
    op.create_index(
        "ix_bookings_tenant_status_email",
        "bookings",
        ["tenant_id", "status", sa.text("lower(customer_email)")],
    )
