"""The tables of events out (domain/events.py): the endpoints they are POSTed to, the
outbox that keeps each event with the change it tells, and each event's delivery to each
endpoint. On the schema's one `metadata`; adapters/sql/orm.py imports this module, so the
schema read from there includes them."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
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
)

from adapters.sql.database import UTCDateTime
from adapters.sql.schema_base import ID, metadata

# Where events are POSTed. `owner_tenant_id` NULL: the platform's (for every tenant, or the
# one in `for_tenant_id`); else a tenant's own, with `for_tenant_id` the same. Not
# tenant-owned as a whole (the platform's span tenants): a small table every relay reads.
# The secrets sign deliveries, so they are kept as they are (a hash could not sign).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", ID, primary_key=True),
    Column("owner_tenant_id", ID, ForeignKey("tenants.id"), nullable=True),
    Column("for_tenant_id", ID, ForeignKey("tenants.id"), nullable=True),
    Column("url", String(2048), nullable=False),
    Column("description", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("secret", String(255), nullable=False),
    Column("previous_secret", String(255), nullable=True),
    Column("previous_secret_until", UTCDateTime, nullable=True),
    Column("failing_since", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhook_endpoints_owner", "owner_tenant_id", "id"),
)

# The outbox: each event written in the transaction of the change it tells, with the exact
# body every endpoint receives; `dispatched` once the relay made its deliveries.
outbox_events = Table(
    "outbox_events",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("type", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("dispatched", Boolean, nullable=False, server_default=false()),
    PrimaryKeyConstraint("tenant_id", "id"),
    Index("ix_outbox_events_dispatched_created", "dispatched", "created_at"),
)

# One event to one endpoint. The relay claims the pending ones that are due (across
# tenants), an endpoint's log lists its own (a platform endpoint's span tenants), and a
# delivery the admin retries is found by its id alone. Deleting an endpoint deletes its
# deliveries (adapters/sql/webhook_endpoints.py).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("tenant_id", ID, nullable=False),
    Column("id", ID, nullable=False),
    Column("event_id", ID, nullable=False),
    Column("endpoint_id", ID, nullable=False),
    Column("type", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_response_status", Integer, nullable=True),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Claimed by a relay until then (in flight), unless its outcome was recorded first.
    Column("leased_until", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(
        ["tenant_id", "event_id"], ["outbox_events.tenant_id", "outbox_events.id"]
    ),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_finished", "status", "created_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),
    Index("ix_webhook_deliveries_id", "id"),
)
