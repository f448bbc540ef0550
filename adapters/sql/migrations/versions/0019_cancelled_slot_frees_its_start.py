"""A cancelled slot frees its start: one slot per start among the slots not cancelled.

Revision ID: 0019
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

NOT_CANCELLED = sa.text("cancelled_at IS NULL")


def upgrade() -> None:
    op.drop_index("uq_slots_offering_start", table_name="slots")
    op.create_index(
        "uq_slots_offering_start",
        "slots",
        ["tenant_id", "offering_id", "starts_at"],
        unique=True,
        postgresql_where=NOT_CANCELLED,
        sqlite_where=NOT_CANCELLED,
    )


def downgrade() -> None:
    # Fails when a cancelled slot and a new one share a start: an operator removes one.
    op.drop_index("uq_slots_offering_start", table_name="slots")
    op.create_index(
        "uq_slots_offering_start", "slots", ["tenant_id", "offering_id", "starts_at"], unique=True
    )
