"""Migration 0008 turns the fee policies tenants set on their own offerings into the
platform's overrides, names the policy of bookings already sold, and refuses to add the
one-slot-per-start rule over slots that break it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from adapters.sql.database import create_engine
from adapters.sql.migrations import downgrade_async, upgrade_async
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from domain.fee_quote import FeePolicyRef, FeePolicyScope

ENGINES = [
    pytest.param("fresh_sqlite_url", id="sqlite"),
    pytest.param("fresh_postgres_url", id="postgres", marks=pytest.mark.postgres),
]
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
OWN_POLICY: dict[str, object] = {
    "version": 1,
    "percent_bps": 0,
    "fixed": None,
    "per_seat_fixed": None,
    "tiers": [],
    "tier_mode": "volume",
    "minimum": None,
    "maximum": None,
    "customer_share_bps": 10000,
    "refund_on_cancel": "proportional",
}


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


async def _execute(url: str, *statements: tuple[str, dict[str, object]]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement, values in statements:
                await connection.execute(text(statement), values)
    finally:
        await engine.dispose()


TENANT = (
    "INSERT INTO tenants (id, name, slug, country, default_currency, timezone, charge_model,"
    " charges_enabled, payouts_enabled, details_submitted, requirements_due) VALUES"
    " ('tn_1', 'Studio', 'studio', 'US', 'usd', 'UTC', 'destination', true, true, true, '[]')"
)
OFFERING = (
    "INSERT INTO offerings (tenant_id, id, name, description, price_amount, currency,"
    " duration_minutes, capacity, cancellation_policy, fee_policy, archived) VALUES"
    " ('tn_1', :id, 'Class', '', 2000, 'usd', 60, 5, NULL, :policy, false)"
)
SLOT = (
    "INSERT INTO slots (tenant_id, id, offering_id, starts_at, capacity, held, booked)"
    " VALUES ('tn_1', :id, :offering, :starts_at, 5, 0, 0)"
)


async def test_offering_policies_become_the_platforms_overrides(url: str) -> None:
    await upgrade_async(url, "0007")
    await _execute(
        url,
        (TENANT, {}),
        (OFFERING, {"id": "of_own", "policy": json.dumps(OWN_POLICY)}),
        (OFFERING, {"id": "of_plain", "policy": None}),
    )
    await upgrade_async(url)

    engine = create_engine(url)
    try:
        async with SqlAlchemyUnitOfWork(engine) as uow:
            own = await uow.offerings.get("tn_1", "of_own")
            plain = await uow.offerings.get("tn_1", "of_plain")
            assert own is not None
            assert own.fee_policy is not None
            assert own.fee_policy.percent_bps == 0
            assert own.fee_policy.ref == FeePolicyRef("of_own", 1, FeePolicyScope.OFFERING)
            assert await uow.offerings.last_fee_policy_override_version("tn_1", "of_own") == 1
            assert plain is not None
            assert plain.fee_policy is None
    finally:
        await engine.dispose()

    # And back: the override is the offering's own policy again.
    await downgrade_async(url, "0007")
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(text("SELECT id, fee_policy FROM offerings ORDER BY id"))
            ).all()
    finally:
        await engine.dispose()
    stored = {row[0]: row[1] for row in rows}
    assert stored["of_plain"] is None
    own_policy = stored["of_own"]
    assert (json.loads(own_policy) if isinstance(own_policy, str) else own_policy) == OWN_POLICY


async def test_slots_sharing_a_start_stop_the_migration_with_a_clear_message(url: str) -> None:
    await upgrade_async(url, "0007")
    await _execute(
        url,
        (TENANT, {}),
        (OFFERING, {"id": "of_1", "policy": None}),
        (SLOT, {"id": "sl_1", "offering": "of_1", "starts_at": NOW}),
        (SLOT, {"id": "sl_2", "offering": "of_1", "starts_at": NOW}),
    )
    with pytest.raises(RuntimeError, match="several slots at the same start"):
        await upgrade_async(url)
