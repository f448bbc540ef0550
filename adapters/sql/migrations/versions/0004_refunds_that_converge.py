"""A reserved refund keeps what it asked the gateway, so anyone can re-send it unchanged.

`reason` is the reason the gateway was told (an idempotent re-send must repeat the
request exactly); `cancels` names who cancelled when the refund was reserved for a
cancellation, so whoever settles it (a retry, another request, reconciliation) finishes
the cancellation too; `reference` keeps, on a settled refund, the reservation id it was
reserved under (also its idempotency key and `metadata.bookpay_refund` at Stripe), so a
retry of the request that reserved it finds it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("booking_refunds", sa.Column("reason", sa.Text(), nullable=True))
    op.add_column("booking_refunds", sa.Column("cancels", sa.String(length=20), nullable=True))
    op.add_column("booking_refunds", sa.Column("reference", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("booking_refunds") as batch:
        batch.drop_column("reference")
        batch.drop_column("cancels")
        batch.drop_column("reason")
