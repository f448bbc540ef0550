"""Migration 0009 freezes on every existing booking the terms in force when it runs: its
offering's cancellation policy (migration 0008 already named the fee policy that priced
it)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from adapters.sql import orm
from adapters.sql.codecs import _offering_values, _tenant_values, booking_row
from adapters.sql.database import create_engine
from adapters.sql.migrations import upgrade_async
from domain.cancellation import CancellationPolicy, CancellationWindow
from tests.integration.persistence.builders import a_booking, a_slot, a_tenant, an_offering

ENGINES = [
    pytest.param("fresh_sqlite_url", id="sqlite"),
    pytest.param("fresh_postgres_url", id="postgres", marks=pytest.mark.postgres),
]

NEW_BOOKING_COLUMNS = ("cancellation_policy", "cancel_url")
NEW_OFFERING_COLUMNS = ("max_seats_per_booking",)
NEW_SLOT_COLUMNS = ("cancelled_at", "cancellation_reason")


@pytest.fixture(params=ENGINES)
def empty_database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


def _without(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in names}


async def _run(url: str, work: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(work)
    finally:
        await engine.dispose()


async def test_existing_bookings_get_the_terms_in_force_when_it_runs(empty_database: str) -> None:
    await upgrade_async(empty_database, "0008")
    tenant = a_tenant()
    strict = CancellationPolicy((CancellationWindow(48, 100), CancellationWindow(24, 50)))
    own_fee = an_offering(tenant.id, cancellation_policy=strict, max_seats_per_booking=None)
    plain = an_offering(
        tenant.id, cancellation_policy=None, fee_policy=None, max_seats_per_booking=None
    )
    own_slot, plain_slot = a_slot(own_fee), a_slot(plain)
    sold_own, sold_plain = a_booking(own_slot), a_booking(plain_slot)

    def seed(connection: Connection) -> None:
        connection.execute(insert(orm.tenants).values(_tenant_values(tenant)))
        for offering in (own_fee, plain):
            values = _without(_offering_values(offering), NEW_OFFERING_COLUMNS)
            connection.execute(insert(orm.offerings).values(values))
        for slot in (own_slot, plain_slot):
            values = {
                "tenant_id": slot.tenant_id,
                "id": slot.id,
                "offering_id": slot.offering_id,
                "starts_at": slot.starts_at,
                "capacity": slot.capacity,
                "held": 0,
                "booked": 0,
            }
            connection.execute(insert(orm.slots).values(values))
        for booking in (sold_own, sold_plain):
            values = _without(booking_row(booking), NEW_BOOKING_COLUMNS) | {"version": 1}
            connection.execute(insert(orm.bookings).values(values))

    await _run(empty_database, seed)
    await upgrade_async(empty_database)

    def read(connection: Connection) -> dict[str, Any]:
        b = orm.bookings.c
        rows = connection.execute(select(b.id, b.cancellation_policy))
        return {row.id: row.cancellation_policy for row in rows}

    frozen = await _run(empty_database, read)
    assert frozen[sold_own.id] == {
        "windows": [
            {"hours_before": 48, "refund_percent": 100},
            {"hours_before": 24, "refund_percent": 50},
        ]
    }
    assert frozen[sold_plain.id] is None
