"""The database schema as SQLAlchemy Core tables; the repositories translate rows ↔ domain.

Every tenant-owned table carries `tenant_id`, leads its primary key and its indexes with
it, and references other tenant-owned rows through (tenant_id, id), so the schema can be
distributed by tenant (e.g. Citus) as it stands. Money is a BIGINT of minor units next to
a currency column. The few indexes that do not lead with `tenant_id` serve the lookups by
globally unique outside identifiers (API-key hash, gateway session and payment ids) that
tell a request or a webhook which tenant it belongs to, and the booking id alone, which a
customer's link carries. `parked_events` has no tenant at all: it keeps events whose
payment no booking has yet, so their tenant is not known.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
    text,
)

# The tables of events out are defined in their own module; importing it here puts them
# in `metadata`, so whoever reads the schema from this module reads all of it.
from adapters.sql import events_out_tables  # noqa: F401
from adapters.sql.database import UTCDateTime
from adapters.sql.schema_base import CURRENCY, ID, metadata

tenants = Table(
    "tenants",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    Column("country", String(2), nullable=False),
    Column("default_currency", CURRENCY, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("charge_model", String(20), nullable=False),
    Column("account_id", String(255), nullable=True, unique=True),
    Column("charges_enabled", Boolean, nullable=False),
    Column("payouts_enabled", Boolean, nullable=False),
    Column("details_submitted", Boolean, nullable=False),
    Column("requirements_due", JSON, nullable=False),
    Column("connect_as_of", UTCDateTime, nullable=True),
)

tenant_api_keys = Table(
    "tenant_api_keys",
    metadata,
    Column("key_hash", String(128), primary_key=True),
    Column("tenant_id", ID, ForeignKey("tenants.id"), nullable=False),
    Column("label", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_tenant_api_keys_tenant", "tenant_id", "created_at"),
)

fee_policies = Table(
    "fee_policies",
    metadata,
    Column("tenant_id", ID, ForeignKey("tenants.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("policy", JSON, nullable=False),
    PrimaryKeyConstraint("tenant_id", "version"),
)

offerings = Table(
    "offerings",
    metadata,
    Column("tenant_id", ID, ForeignKey("tenants.id"), nullable=False),
    Column("id", ID, nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("price_amount", BigInteger, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("cancellation_policy", JSON, nullable=True),
    Column("archived", Boolean, nullable=False),
    Column("max_seats_per_booking", Integer, nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index("ix_offerings_tenant_name", "tenant_id", "name"),
)

# The platform's fee-policy overrides for single offerings, every version kept; the newest
# applies. A version whose policy is NULL ended the override (back to the tenant's policy).
offering_fee_policies = Table(
    "offering_fee_policies",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("offering_id", ID, nullable=False),
    Column("version", Integer, nullable=False),
    Column("policy", JSON, nullable=True),
    PrimaryKeyConstraint("tenant_id", "offering_id", "version"),
    ForeignKeyConstraint(["tenant_id", "offering_id"], ["offerings.tenant_id", "offerings.id"]),
)

slots = Table(
    "slots",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("offering_id", ID, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("held", Integer, nullable=False),
    Column("booked", Integer, nullable=False),
    # A cancelled slot sells nothing more; its bookings are ended (see application/cancel_slot.py).
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("cancellation_reason", Text, nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "offering_id"], ["offerings.tenant_id", "offerings.id"]),
    # The last line of defence: even a buggy statement cannot overbook a slot.
    CheckConstraint("held >= 0 AND booked >= 0", name="seats_not_negative"),
    CheckConstraint("held + booked <= capacity", name="within_capacity"),
    # One slot per start time per offering among those not cancelled (it also serves the
    # lookups by start); a cancelled slot frees its start for a new one.
    Index(
        "uq_slots_offering_start",
        "tenant_id",
        "offering_id",
        "starts_at",
        unique=True,
        postgresql_where=text("cancelled_at IS NULL"),
        sqlite_where=text("cancelled_at IS NULL"),
    ),
    # An offering's slots by start, cancelled ones included: what availability lists and
    # orders (migration 0022; the partial index above cannot serve it).
    Index("ix_slots_offering_starts", "tenant_id", "offering_id", "starts_at", "id"),
)

bookings = Table(
    "bookings",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("offering_id", ID, nullable=False),
    Column("slot_id", ID, nullable=False),
    Column("seats", Integer, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("customer_email", String(320), nullable=False),
    # The address case-blind, computed by the database: a checkout counts the customer's unpaid
    # bookings by it (ix_bookings_tenant_status_email). An index on lower(customer_email) cannot
    # serve that count under PostgreSQL's row-level security: lower() is not LEAKPROOF, so its
    # condition runs only after the tenant policy, on every row the policy lets through.
    Column("customer_email_lower", String(320), Computed("lower(customer_email)")),
    Column("customer_name", String(200), nullable=True),
    Column("currency", CURRENCY, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("quote_seats", Integer, nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("service_fee", BigInteger, nullable=False),
    Column("customer_fee", BigInteger, nullable=False),
    Column("customer_total", BigInteger, nullable=False),
    Column("application_fee", BigInteger, nullable=False),
    Column("tenant_receives", BigInteger, nullable=False),
    Column("fee_bearer", String(20), nullable=False),
    Column("fee_policy_version", Integer, nullable=False),
    # Which policy priced the booking: the tenant's (id = tenant id) or an offering's.
    Column("fee_policy_id", ID, nullable=False, server_default=""),
    Column("fee_policy_scope", String(20), nullable=False, server_default="tenant"),
    Column("refund_on_cancel", String(20), nullable=False),
    Column("status", String(32), nullable=False),
    # Derived by the domain (Booking.payment_status) and stored for the list filter.
    Column("payment_status", String(32), nullable=False, server_default="unpaid"),
    Column("hold_expires_at", UTCDateTime, nullable=False),
    # Until when a hold sweeper has claimed this booking (not part of the domain booking).
    Column("sweep_claimed_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("gateway_session_id", String(255), nullable=True),
    Column("payment_intent_id", String(255), nullable=True),
    Column("cancelled_by", String(20), nullable=True),
    Column("cancellation_reason", Text, nullable=True),
    Column("access_token_hash", String(128), nullable=True),
    # The terms of sale frozen at the sale (with refund_on_cancel and the fee policy's name).
    Column("cancellation_policy", JSON, nullable=True),
    Column("cancel_url", String(2048), nullable=True),
    # Optimistic concurrency: an update only applies to the version it was read at.
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "slot_id"], ["slots.tenant_id", "slots.id"]),
    ForeignKeyConstraint(["tenant_id", "offering_id"], ["offerings.tenant_id", "offerings.id"]),
    Index("ix_bookings_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_bookings_tenant_status_hold", "tenant_id", "status", "hold_expires_at"),
    Index("ix_bookings_tenant_starts", "tenant_id", "starts_at"),
    Index("ix_bookings_tenant_payment_status", "tenant_id", "payment_status", "created_at"),
    Index("ix_bookings_id", "id"),
    Index("ix_bookings_gateway_session", "gateway_session_id"),
    Index("ix_bookings_payment_intent", "payment_intent_id"),
)
# A checkout counts the customer's unpaid bookings by email, case-blind
# (SqlAlchemyBookingRepository.count_pending_for_customer): without this index it read
# every booking of the tenant's in that status (a seq scan under a rush of holds).
Index(
    "ix_bookings_tenant_status_email",
    bookings.c.tenant_id,
    bookings.c.status,
    bookings.c.customer_email_lower,
)

booking_refunds = Table(
    "booking_refunds",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("booking_id", ID, nullable=False),
    Column("refund_id", String(255), nullable=False),
    Column("position", Integer, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("customer_refund", BigInteger, nullable=False),
    Column("application_fee_refund", BigInteger, nullable=False),
    # Reserved before the gateway was asked, not yet settled under the gateway's refund id.
    Column("pending", Boolean, nullable=False, server_default=false()),
    # What the gateway was told, so a reservation can be re-sent unchanged.
    Column("reason", Text, nullable=True),
    # Who cancelled, when the refund was reserved for a cancellation.
    Column("cancels", String(20), nullable=True),
    # On a settled refund: the reservation id it was reserved under.
    Column("reference", String(255), nullable=True),
    PrimaryKeyConstraint("tenant_id", "booking_id", "refund_id"),
    ForeignKeyConstraint(["tenant_id", "booking_id"], ["bookings.tenant_id", "bookings.id"]),
)

# Disputes (chargebacks) of bookings' payments, one row per gateway dispute id.
disputes = Table(
    "disputes",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("dispute_id", String(255), nullable=False),
    Column("booking_id", ID, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("reason", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(32), nullable=False, server_default="needs_response"),
    Column("is_charge_refundable", Boolean, nullable=False, server_default=false()),
    Column("closed_at", UTCDateTime, nullable=True),
    # The time of the newest gateway snapshot applied (older ones change nothing).
    Column("as_of", UTCDateTime, nullable=True),
    # A lost dispute recovered from the tenant's transfer: Bookpay's reference (the
    # idempotency key), the amount, and the gateway's reversal id once it confirmed it.
    Column("recovery_reference", String(255), nullable=True),
    Column("recovery_amount", BigInteger, nullable=True),
    Column("recovery_reversal_id", String(255), nullable=True),
    PrimaryKeyConstraint("tenant_id", "dispute_id"),
    ForeignKeyConstraint(["tenant_id", "booking_id"], ["bookings.tenant_id", "bookings.id"]),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
    Index("ix_disputes_tenant_booking", "tenant_id", "booking_id"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("gateway_ref", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("booking_id", ID, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", CURRENCY, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Whose balance moved: "platform" only for a destination charge's dispute funds.
    Column("borne_by", String(20), nullable=False, server_default="tenant"),
    # One entry per (gateway_ref, kind): a replayed webhook cannot count money twice.
    PrimaryKeyConstraint("tenant_id", "gateway_ref", "kind"),
    ForeignKeyConstraint(["tenant_id", "booking_id"], ["bookings.tenant_id", "bookings.id"]),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
    Index("ix_ledger_entries_tenant_booking", "tenant_id", "booking_id"),
    Index("ix_ledger_entries_tenant_created", "tenant_id", "created_at"),
)

webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
)

# Verified webhooks acknowledged and waiting to be applied (the `queue` webhook mode,
# application/ports/unit_of_work.py ReceivedEvents). Not tenant-owned, like the inbox:
# which tenant an event concerns is known only once it is applied.
received_events = Table(
    "received_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("endpoint", String(16), nullable=False),  # platform | connect
    Column("payload", LargeBinary, nullable=False),  # the raw body, as verified
    Column("received_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("last_error", String(200), nullable=True),
    Index("ix_received_events_due", "next_attempt_at"),
)

# Refund and dispute events that named a payment no booking had yet (application/ports.py,
# ParkedEvents). Not tenant-owned: which tenant the payment belongs to is not known yet.
parked_events = Table(
    "parked_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("payment_intent_id", String(255), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("parked_at", UTCDateTime, nullable=False),
    Index("ix_parked_events_payment_intent", "payment_intent_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # A tenant id, or a platform scope such as "admin"; deliberately not a foreign key.
    Column("tenant_id", ID, nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
    Index("ix_idempotency_keys_tenant_created", "tenant_id", "created_at"),
    # Keys are purged by age across every scope (RETENTION in idempotent_requests).
    Index("ix_idempotency_keys_created_at", "created_at"),
)

__all__ = [
    "booking_refunds",
    "bookings",
    "disputes",
    "fee_policies",
    "idempotency_keys",
    "ledger_entries",
    "metadata",
    "offerings",
    "parked_events",
    "received_events",
    "slots",
    "tenant_api_keys",
    "tenants",
    "webhook_inbox",
]
