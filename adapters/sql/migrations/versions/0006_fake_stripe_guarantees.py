"""The fake Stripe keeps Stripe's guarantees: a version on each of its objects (a write
based on a stale read is refused, so one session is charged once and refunds never lose an
update) and a due time on each of its events (delivery is retried from the database, so an
event not yet delivered survives a restart).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fake_objects") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("fake_events") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_fake_events_next_attempt_at", "fake_events", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_fake_events_next_attempt_at", table_name="fake_events")
    with op.batch_alter_table("fake_events") as batch:
        batch.drop_column("next_attempt_at")
    with op.batch_alter_table("fake_objects") as batch:
        batch.drop_column("version")
