"""One head again: 0016 (row-level security fails closed) and 0017 (fair events out) were
both made after 0014 on parallel branches; this revision joins them and changes nothing.

Revision ID: 0020
Revises: 0016, 0017
Create Date: 2026-11-30 15:00:00
"""

from collections.abc import Sequence

revision: str = "0020"
down_revision: str | Sequence[str] | None = ("0016", "0017")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
