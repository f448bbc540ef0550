"""A checkout's count of the customer's unpaid bookings reads an index, not every booking of
the tenant in that status: (tenant_id, status, lower(customer_email)).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_bookings_tenant_status_email",
        "bookings",
        ["tenant_id", "status", sa.text("lower(customer_email)")],
    )


def downgrade() -> None:
    op.drop_index("ix_bookings_tenant_status_email", table_name="bookings")
