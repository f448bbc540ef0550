"""A checkout counts the customer's unpaid bookings (count_pending_for_customer). Under
PostgreSQL's row-level security, a condition with a function that is not LEAKPROOF, such as
lower(customer_email), runs only after the tenant policy: it can be no index condition, so
the count read every unpaid booking of the tenant — each checkout cost grew with the rush.
The count must reach the customer's rows through an index as the application's role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import orm
from adapters.sql.database import create_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from domain.booking import Booking
from tests.integration.persistence.builders import a_booking, a_slot, a_tenant, an_offering

pytestmark = pytest.mark.postgres

APP_ROLE = "bookpay_app"
RUSH = 3_000  # unpaid bookings of one tenant, each by another customer


@pytest.fixture
async def engines(migrated_postgres_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    owner = create_engine(migrated_postgres_url)
    app = create_engine(migrated_postgres_url, pool_size=1, row_security_role=APP_ROLE)
    try:
        yield owner, app
    finally:
        await app.dispose()
        await owner.dispose()


async def _a_rush_of_unpaid_bookings(owner: AsyncEngine) -> Booking:
    tenant = a_tenant()
    offering = an_offering(tenant.id)
    slot = a_slot(offering)
    booking = a_booking(slot)
    async with SqlAlchemyUnitOfWork(owner) as uow:
        await uow.tenants.add(tenant)
        await uow.offerings.add(offering)
        await uow.slots.add(slot)
        await uow.bookings.add(booking)
        await uow.commit()
    written = [column.name for column in orm.bookings.columns if column.computed is None]
    copied = {
        "id": "id || '_' || i",
        "customer_email": "'Customer' || i || '@Example.com'",
        "status": "'pending_payment'",
    }
    values = ", ".join(copied.get(name, name) for name in written)
    async with owner.begin() as connection:
        await connection.execute(
            text(
                f"INSERT INTO bookings ({', '.join(written)}) "  # noqa: S608 (names from orm)
                f"SELECT {values} FROM bookings, generate_series(1, {RUSH}) AS i "
                "WHERE tenant_id = :tenant_id AND id = :id"
            ),
            {"tenant_id": booking.tenant_id, "id": booking.id},
        )
    async with owner.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("ANALYZE bookings"))
    return booking


async def test_a_customers_unpaid_bookings_are_counted_through_an_index_as_the_app_role(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    owner, app = engines
    booking = await _a_rush_of_unpaid_bookings(owner)
    counted: list[tuple[str, Any]] = []

    def _capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "count(" in statement and "bookings" in statement:
            counted.append((statement, parameters))

    event.listen(app.sync_engine, "before_cursor_execute", _capture)
    async with SqlAlchemyUnitOfWork(app) as uow:
        await uow.act_for_tenant(booking.tenant_id)
        found = await uow.bookings.count_pending_for_customer(
            booking.tenant_id, "customer17@example.COM"
        )
        statement, parameters = counted[-1]
        connection = uow._active().connection
        plan = "\n".join(
            str(row[0])
            for row in await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        )
    assert found == 1
    assert "Seq Scan" not in plan, plan
    assert "Index Cond" in plan, plan
    assert "customer_email" in plan.split("Index Cond")[-1], plan
