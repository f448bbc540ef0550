"""The platform owns the fee: offering-level fee policies become the platform's versioned
overrides; bookings name the policy that priced them; one slot per start per offering.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_offerings = sa.table(
    "offerings",
    sa.column("tenant_id", sa.String),
    sa.column("id", sa.String),
    sa.column("fee_policy", sa.JSON),
)
_overrides = sa.table(
    "offering_fee_policies",
    sa.column("tenant_id", sa.String),
    sa.column("offering_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("policy", sa.JSON),
)
_bookings = sa.table(
    "bookings",
    sa.column("tenant_id", sa.String),
    sa.column("offering_id", sa.String),
    sa.column("fee_policy_id", sa.String),
    sa.column("fee_policy_scope", sa.String),
)
_slots = sa.table(
    "slots",
    sa.column("tenant_id", sa.String),
    sa.column("offering_id", sa.String),
    sa.column("starts_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_slots_sharing_a_start(bind)
    op.create_table(
        "offering_fee_policies",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("offering_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "offering_id"],
            ["offerings.tenant_id", "offerings.id"],
            name=op.f("fk_offering_fee_policies_tenant_id_offering_id_offerings"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "offering_id", "version", name=op.f("pk_offering_fee_policies")
        ),
    )
    # A policy a tenant once set on its own offering becomes the platform's override,
    # version 1: it keeps pricing the offering until the platform changes or ends it.
    owned = bind.execute(
        sa.select(_offerings.c.tenant_id, _offerings.c.id, _offerings.c.fee_policy).where(
            _offerings.c.fee_policy.is_not(None)
        )
    ).all()
    rows = [
        {
            "tenant_id": tenant_id,
            "offering_id": offering_id,
            "version": 1,
            "policy": {**policy, "version": 1},
        }
        for tenant_id, offering_id, policy in owned
        if policy is not None
    ]
    if rows:
        op.bulk_insert(_overrides, rows)

    # Plain ALTER TABLE (SQLite 3.35+ too): rebuilding a table that others reference
    # would trip SQLite's foreign keys on a database with rows.
    op.add_column(
        "bookings",
        sa.Column("fee_policy_id", sa.String(length=64), nullable=False, server_default=""),
    )
    op.add_column(
        "bookings",
        sa.Column(
            "fee_policy_scope", sa.String(length=20), nullable=False, server_default="tenant"
        ),
    )
    # Bookings sold so far: under the offering's own policy where it had one, else the
    # tenant's (the closest the old rows can tell).
    bind.execute(sa.update(_bookings).values(fee_policy_id=_bookings.c.tenant_id))
    for row in rows:
        bind.execute(
            sa.update(_bookings)
            .where(
                _bookings.c.tenant_id == row["tenant_id"],
                _bookings.c.offering_id == row["offering_id"],
            )
            .values(fee_policy_id=row["offering_id"], fee_policy_scope="offering")
        )

    op.drop_column("offerings", "fee_policy")

    op.drop_index("ix_slots_tenant_offering_start", table_name="slots")
    op.create_index(
        "uq_slots_offering_start", "slots", ["tenant_id", "offering_id", "starts_at"], unique=True
    )


def _refuse_slots_sharing_a_start(bind: sa.Connection) -> None:
    """Two slots of one offering at one start cannot be merged here (bookings point at
    each): stop with the list, so that an operator cancels or moves one of each pair."""
    duplicates = bind.execute(
        sa.select(_slots.c.tenant_id, _slots.c.offering_id, _slots.c.starts_at)
        .group_by(_slots.c.tenant_id, _slots.c.offering_id, _slots.c.starts_at)
        .having(sa.func.count() > 1)
    ).all()
    if duplicates:
        listed = ", ".join(f"{t}/{o} at {s}" for t, o, s in duplicates)
        raise RuntimeError(
            "cannot add the one-slot-per-start rule: these offerings have several slots "
            f"at the same start; move or remove the extra ones first: {listed}"
        )


def downgrade() -> None:
    op.drop_index("uq_slots_offering_start", table_name="slots")
    op.create_index(
        "ix_slots_tenant_offering_start", "slots", ["tenant_id", "offering_id", "starts_at"]
    )
    op.add_column("offerings", sa.Column("fee_policy", sa.JSON(), nullable=True))
    bind = op.get_bind()
    newest = (
        sa.select(
            _overrides.c.tenant_id,
            _overrides.c.offering_id,
            sa.func.max(_overrides.c.version).label("version"),
        )
        .group_by(_overrides.c.tenant_id, _overrides.c.offering_id)
        .subquery()
    )
    current = bind.execute(
        sa.select(_overrides.c.tenant_id, _overrides.c.offering_id, _overrides.c.policy).join(
            newest,
            sa.and_(
                newest.c.tenant_id == _overrides.c.tenant_id,
                newest.c.offering_id == _overrides.c.offering_id,
                newest.c.version == _overrides.c.version,
            ),
        )
    ).all()
    for tenant_id, offering_id, policy in current:
        if policy is not None:
            bind.execute(
                sa.update(_offerings)
                .where(_offerings.c.tenant_id == tenant_id, _offerings.c.id == offering_id)
                .values(fee_policy=policy)
            )
    op.drop_column("bookings", "fee_policy_scope")
    op.drop_column("bookings", "fee_policy_id")
    op.drop_table("offering_fee_policies")
