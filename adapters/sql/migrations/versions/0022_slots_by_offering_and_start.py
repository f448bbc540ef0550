"""Availability reads an index again: a non-unique index on a slot's offering and start.

0019 made the only index on (tenant_id, offering_id, starts_at) partial (`cancelled_at IS
NULL`, so that a cancelled slot frees its start). Availability lists an offering's future
slots cancelled ones included (shown as cancelled), so its query cannot use a partial index:
PostgreSQL read every slot of the database (a sequential scan of 50,000 slots as the
application's role, at the benchmark's 1 million bookings; its cost is in bench/findings.md).
This index serves its filter and its order (starts_at, id).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_slots_offering_starts", "slots", ["tenant_id", "offering_id", "starts_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_slots_offering_starts", table_name="slots")
