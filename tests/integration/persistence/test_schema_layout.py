"""The schema keeps its layout rules: tenant first, money in minor units, aware timestamps."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, DateTime, Float, Numeric, Table

from adapters.sql.database import UTCDateTime
from adapters.sql.orm import metadata

TENANT_OWNED = sorted(
    (table for table in metadata.tables.values() if "tenant_id" in table.columns),
    key=lambda table: table.name,
)

# Lookups by a globally unique outside identifier, made before the tenant is known.
GLOBAL_LOOKUPS = {
    "ix_bookings_id",
    "ix_bookings_gateway_session",
    "ix_bookings_payment_intent",
    "ix_idempotency_keys_created_at",  # the purge of keys older than a day, every tenant
    # Events out: the relay claims across tenants; a platform endpoint's log spans them.
    "ix_outbox_events_dispatched_created",
    "ix_webhook_deliveries_due",
    "ix_webhook_deliveries_endpoint",
    "ix_webhook_deliveries_id",
    "ix_webhook_deliveries_finished",  # the purge of finished deliveries, every tenant
}
KEYED_BY_A_GLOBAL_SECRET = {"tenant_api_keys"}  # found by the hash of an API key

MONEY_COLUMNS = {
    "price_amount",
    "unit_price",
    "subtotal",
    "service_fee",
    "customer_fee",
    "customer_total",
    "application_fee",
    "tenant_receives",
    "customer_refund",
    "application_fee_refund",
    "amount",
}


def test_the_tenant_owned_tables_are_the_expected_ones() -> None:
    assert [t.name for t in TENANT_OWNED] == [
        "booking_refunds",
        "bookings",
        "disputes",
        "fee_policies",
        "idempotency_keys",
        "ledger_entries",
        "offering_fee_policies",
        "offerings",
        "outbox_events",
        "slots",
        "tenant_api_keys",
        "webhook_deliveries",
    ]


@pytest.mark.parametrize("table", TENANT_OWNED, ids=lambda t: t.name)
def test_keys_and_indexes_lead_with_the_tenant(table: Table) -> None:
    if table.name not in KEYED_BY_A_GLOBAL_SECRET:
        assert next(iter(table.primary_key.columns)).name == "tenant_id"
    for index in table.indexes:
        if index.name not in GLOBAL_LOOKUPS:
            assert next(iter(index.columns)).name == "tenant_id", index.name
    for foreign_key in table.foreign_key_constraints:
        assert "tenant_id" in {column.name for column in foreign_key.columns}, foreign_key.name


@pytest.mark.parametrize("table", list(metadata.tables.values()), ids=lambda t: t.name)
def test_money_is_whole_minor_units_and_time_is_aware(table: Table) -> None:
    for column in table.columns:
        assert not isinstance(column.type, Float | Numeric), column
        if column.name in MONEY_COLUMNS:
            assert isinstance(column.type, BigInteger), column
            assert "currency" in table.columns, column
        if isinstance(column.type, DateTime):
            pytest.fail(f"{column} must be a UTCDateTime")
        if column.name.endswith("_at"):
            assert isinstance(column.type, UTCDateTime), column
