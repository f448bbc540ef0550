"""Create the schema: tenants, offerings, slots, bookings, ledger, inbox, idempotency, fake.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:19:07.905904
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fake_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_fake_counters")),
    )
    op.create_table(
        "fake_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("endpoint", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fake_events")),
        sa.UniqueConstraint("sequence", name=op.f("uq_fake_events_sequence")),
    )
    op.create_index("ix_fake_events_delivered_sequence", "fake_events", ["delivered", "sequence"])
    op.create_table(
        "fake_idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fake_idempotency_keys")),
    )
    op.create_table(
        "fake_objects",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fake_objects")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        "ix_idempotency_keys_tenant_created", "idempotency_keys", ["tenant_id", "created_at"]
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("default_currency", sa.String(length=3), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("charge_model", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("charges_enabled", sa.Boolean(), nullable=False),
        sa.Column("payouts_enabled", sa.Boolean(), nullable=False),
        sa.Column("details_submitted", sa.Boolean(), nullable=False),
        sa.Column("requirements_due", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("account_id", name=op.f("uq_tenants_account_id")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "webhook_inbox",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_inbox")),
    )
    op.create_table(
        "fee_policies",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_fee_policies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "version", name=op.f("pk_fee_policies")),
    )
    op.create_table(
        "offerings",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("cancellation_policy", sa.JSON(), nullable=True),
        sa.Column("fee_policy", sa.JSON(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_offerings_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_offerings")),
    )
    op.create_index("ix_offerings_tenant_name", "offerings", ["tenant_id", "name"])
    op.create_table(
        "tenant_api_keys",
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenant_api_keys_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_tenant_api_keys")),
    )
    op.create_index("ix_tenant_api_keys_tenant", "tenant_api_keys", ["tenant_id", "created_at"])
    op.create_table(
        "slots",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("offering_id", sa.String(length=64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.CheckConstraint("held + booked <= capacity", name=op.f("ck_slots_within_capacity")),
        sa.CheckConstraint("held >= 0 AND booked >= 0", name=op.f("ck_slots_seats_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "offering_id"],
            ["offerings.tenant_id", "offerings.id"],
            name=op.f("fk_slots_tenant_id_offering_id_offerings"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_slots")),
    )
    op.create_index(
        "ix_slots_tenant_offering_start", "slots", ["tenant_id", "offering_id", "starts_at"]
    )
    op.create_table(
        "bookings",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("offering_id", sa.String(length=64), nullable=False),
        sa.Column("slot_id", sa.String(length=64), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_email", sa.String(length=320), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("quote_seats", sa.Integer(), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("service_fee", sa.BigInteger(), nullable=False),
        sa.Column("customer_fee", sa.BigInteger(), nullable=False),
        sa.Column("customer_total", sa.BigInteger(), nullable=False),
        sa.Column("application_fee", sa.BigInteger(), nullable=False),
        sa.Column("tenant_receives", sa.BigInteger(), nullable=False),
        sa.Column("fee_bearer", sa.String(length=20), nullable=False),
        sa.Column("fee_policy_version", sa.Integer(), nullable=False),
        sa.Column("refund_on_cancel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gateway_session_id", sa.String(length=255), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("cancelled_by", sa.String(length=20), nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("access_token_hash", sa.String(length=128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "offering_id"],
            ["offerings.tenant_id", "offerings.id"],
            name=op.f("fk_bookings_tenant_id_offering_id_offerings"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "slot_id"],
            ["slots.tenant_id", "slots.id"],
            name=op.f("fk_bookings_tenant_id_slot_id_slots"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_bookings")),
    )
    op.create_index("ix_bookings_id", "bookings", ["id"])
    op.create_index("ix_bookings_gateway_session", "bookings", ["gateway_session_id"])
    op.create_index("ix_bookings_payment_intent", "bookings", ["payment_intent_id"])
    op.create_index("ix_bookings_tenant_created", "bookings", ["tenant_id", "created_at", "id"])
    op.create_index("ix_bookings_tenant_starts", "bookings", ["tenant_id", "starts_at"])
    op.create_index(
        "ix_bookings_tenant_status_hold", "bookings", ["tenant_id", "status", "hold_expires_at"]
    )
    op.create_table(
        "booking_refunds",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("refund_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("customer_refund", sa.BigInteger(), nullable=False),
        sa.Column("application_fee_refund", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "booking_id"],
            ["bookings.tenant_id", "bookings.id"],
            name=op.f("fk_booking_refunds_tenant_id_booking_id_bookings"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "booking_id", "refund_id", name=op.f("pk_booking_refunds")
        ),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_ref", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_ledger_entries_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "booking_id"],
            ["bookings.tenant_id", "bookings.id"],
            name=op.f("fk_ledger_entries_tenant_id_booking_id_bookings"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "gateway_ref", "kind", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        "ix_ledger_entries_tenant_booking", "ledger_entries", ["tenant_id", "booking_id"]
    )
    op.create_index(
        "ix_ledger_entries_tenant_created", "ledger_entries", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_tenant_created", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_tenant_booking", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_table("booking_refunds")
    op.drop_index("ix_bookings_tenant_status_hold", table_name="bookings")
    op.drop_index("ix_bookings_tenant_starts", table_name="bookings")
    op.drop_index("ix_bookings_tenant_created", table_name="bookings")
    op.drop_index("ix_bookings_payment_intent", table_name="bookings")
    op.drop_index("ix_bookings_gateway_session", table_name="bookings")
    op.drop_index("ix_bookings_id", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_slots_tenant_offering_start", table_name="slots")
    op.drop_table("slots")
    op.drop_index("ix_tenant_api_keys_tenant", table_name="tenant_api_keys")
    op.drop_table("tenant_api_keys")
    op.drop_index("ix_offerings_tenant_name", table_name="offerings")
    op.drop_table("offerings")
    op.drop_table("fee_policies")
    op.drop_table("webhook_inbox")
    op.drop_table("tenants")
    op.drop_index("ix_idempotency_keys_tenant_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("fake_objects")
    op.drop_table("fake_idempotency_keys")
    op.drop_index("ix_fake_events_delivered_sequence", table_name="fake_events")
    op.drop_table("fake_events")
    op.drop_table("fake_counters")
