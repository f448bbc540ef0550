"""Tenants keep when Stripe took the Connect snapshot they hold, so an older
`account.updated` delivered late never overwrites a newer one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for the snapshots already kept: the next event of the account sets it.
    op.add_column("tenants", sa.Column("connect_as_of", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("connect_as_of")
