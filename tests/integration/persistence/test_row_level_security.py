"""Issue 14, What to build 9: PostgreSQL's row-level security is a second wall between
tenants. The application's engine runs every transaction as the application's role (not the
tables' owner, even when the login is the `postgres` superuser): a unit of work that acts
for a tenant sees and writes that tenant's rows only, even through a query that forgets its
tenant filter; work that declares the platform's scope sees every tenant, as the
cross-tenant jobs need; a connection that names no scope at all sees no tenant's rows
(0016, tests/integration/persistence/test_row_scope_declared.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.database import create_engine
from adapters.sql.row_scope import (
    RowSecurityMisconfigured,
    acting_for_platform,
    acting_for_tenant,
    check_the_login,
)
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from domain.booking import Booking
from domain.offering import Slot
from tests.integration.persistence.builders import a_booking, a_slot, a_tenant, an_offering

pytestmark = pytest.mark.postgres

APP_ROLE = "bookpay_app"


@dataclass
class TwoTenants:
    owner: AsyncEngine
    app: AsyncEngine
    url: str
    ours: Booking
    theirs: Booking
    their_slot: Slot


@pytest.fixture
async def two_tenants(migrated_postgres_url: str) -> AsyncIterator[TwoTenants]:
    owner = create_engine(migrated_postgres_url)
    # The application's engine: the login is the superuser `postgres`, as on a fresh machine.
    app = create_engine(migrated_postgres_url, pool_size=1, row_security_role=APP_ROLE)
    bookings: list[Booking] = []
    slots: list[Slot] = []
    async with SqlAlchemyUnitOfWork(owner) as uow:
        for _ in range(2):
            tenant = a_tenant()
            offering = an_offering(tenant.id)
            slot = a_slot(offering)
            booking = a_booking(slot)
            await uow.tenants.add(tenant)
            await uow.offerings.add(offering)
            await uow.slots.add(slot)
            await uow.bookings.add(booking)
            bookings.append(booking)
            slots.append(slot)
        await uow.commit()
    try:
        yield TwoTenants(owner, app, migrated_postgres_url, bookings[0], bookings[1], slots[1])
    finally:
        await app.dispose()
        await owner.dispose()


async def test_the_application_role_does_not_own_the_tables(two_tenants: TwoTenants) -> None:
    async with two_tenants.app.connect() as connection:
        who = (await connection.execute(text("SELECT current_user"))).scalar_one()
        owners = (
            await connection.execute(
                text("SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = 'bookings'")
            )
        ).scalars()
        secured = (
            await connection.execute(
                text("SELECT relrowsecurity FROM pg_class WHERE relname = 'bookings'")
            )
        ).scalar_one()
    assert who == APP_ROLE
    assert APP_ROLE not in list(owners)
    assert secured is True


async def test_a_query_without_its_tenant_filter_sees_only_the_tenant_it_acts_for(
    two_tenants: TwoTenants,
) -> None:
    ours, theirs = two_tenants.ours, two_tenants.theirs
    async with SqlAlchemyUnitOfWork(two_tenants.app) as uow:
        await uow.act_for_tenant(ours.tenant_id)
        connection = uow._active().connection
        seen = set((await connection.execute(text("SELECT tenant_id FROM bookings"))).scalars())
        tenants = set((await connection.execute(text("SELECT id FROM tenants"))).scalars())
        slots = set((await connection.execute(text("SELECT tenant_id FROM slots"))).scalars())
        assert await uow.bookings.get(theirs.tenant_id, theirs.id) is None
        assert await uow.bookings.get(ours.tenant_id, ours.id) is not None

    assert seen == tenants == slots == {ours.tenant_id}


async def test_a_tenant_cannot_write_another_tenants_rows(two_tenants: TwoTenants) -> None:
    ours, theirs = two_tenants.ours, two_tenants.theirs
    async with SqlAlchemyUnitOfWork(two_tenants.app) as uow:
        await uow.act_for_tenant(ours.tenant_id)
        connection = uow._active().connection
        # An update and a delete that forget their tenant filter touch only our rows.
        updated = await connection.execute(text("UPDATE bookings SET customer_name = 'Mallory'"))
        deleted = await connection.execute(
            text("DELETE FROM bookings WHERE id = :id"), {"id": theirs.id}
        )
        assert (updated.rowcount, deleted.rowcount) == (1, 0)
        # Moving our row to them is refused, and so is adding a row of theirs.
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
            async with connection.begin_nested():
                await connection.execute(
                    text("UPDATE slots SET tenant_id = :them"), {"them": theirs.tenant_id}
                )
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
            async with connection.begin_nested():
                await uow.slots.add(a_slot_like(two_tenants.their_slot))
        await uow.commit()

    async with SqlAlchemyUnitOfWork(two_tenants.owner) as uow:
        theirs_now = await uow.bookings.get(theirs.tenant_id, theirs.id)
        ours_now = await uow.bookings.get(ours.tenant_id, ours.id)
    assert theirs_now is not None
    assert theirs_now.customer.name == "Ada Lovelace"
    assert ours_now is not None
    assert ours_now.customer.name == "Mallory"


async def test_the_tenant_ends_with_the_transaction_and_platform_work_sees_every_tenant(
    two_tenants: TwoTenants,
) -> None:
    ours, theirs = two_tenants.ours, two_tenants.theirs
    with acting_for_platform():  # what the jobs that span tenants declare
        async with SqlAlchemyUnitOfWork(two_tenants.app) as uow:
            await uow.act_for_tenant(ours.tenant_id)
            assert await uow.bookings.get(theirs.tenant_id, theirs.id) is None
            await uow.commit()
            # The next transaction, on the same pooled connection, is platform-wide again.
            assert await uow.bookings.get(theirs.tenant_id, theirs.id) is not None
        async with SqlAlchemyUnitOfWork(two_tenants.app) as uow:
            connection = uow._active().connection
            seen = set((await connection.execute(text("SELECT tenant_id FROM bookings"))).scalars())
    assert seen == {ours.tenant_id, theirs.tenant_id}


async def test_a_read_only_unit_without_a_transaction_refuses_to_act_for_a_tenant(
    two_tenants: TwoTenants,
) -> None:
    async with SqlAlchemyUnitOfWork(two_tenants.owner).read_only() as uow:
        with pytest.raises(RuntimeError, match="read_only"):
            await uow.act_for_tenant(two_tenants.ours.tenant_id)


async def test_every_transaction_of_a_task_acting_for_a_tenant_is_walled(
    two_tenants: TwoTenants,
) -> None:
    ours, theirs = two_tenants.ours, two_tenants.theirs
    with acting_for_tenant(ours.tenant_id):
        async with SqlAlchemyUnitOfWork(two_tenants.app) as uow:
            connection = uow._active().connection
            seen = set((await connection.execute(text("SELECT tenant_id FROM bookings"))).scalars())
            await uow.commit()
            # Still walled in the next transaction, and in the next unit of work too.
            assert await uow.bookings.get(theirs.tenant_id, theirs.id) is None
        async with SqlAlchemyUnitOfWork(two_tenants.app) as uow:
            connection = uow._active().connection
            updated = await connection.execute(text("UPDATE bookings SET customer_name = 'M'"))
            assert updated.rowcount == 1
            await uow.commit()
    assert seen == {ours.tenant_id}
    async with SqlAlchemyUnitOfWork(two_tenants.owner) as uow:
        theirs_now = await uow.bookings.get(theirs.tenant_id, theirs.id)
    assert theirs_now is not None
    assert theirs_now.customer.name == "Ada Lovelace"


async def test_a_connection_that_names_no_scope_sees_no_tenant(two_tenants: TwoTenants) -> None:
    # The application's role without the engine's scope statement: fails closed (0016).
    bare = create_async_engine(
        two_tenants.url, connect_args={"server_settings": {"role": APP_ROLE}}, pool_size=1
    )
    try:
        async with bare.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM bookings"))).scalar()
            written = await connection.execute(text("UPDATE slots SET capacity = capacity"))
            tenants = (await connection.execute(text("SELECT count(*) FROM tenants"))).scalar()
        assert (count, written.rowcount, tenants) == (0, 0, 0)
    finally:
        await bare.dispose()


async def test_a_superuser_login_is_warned_about(
    two_tenants: TwoTenants, caplog: pytest.LogCaptureFixture
) -> None:
    problems = await check_the_login(two_tenants.app, APP_ROLE)
    assert any("superuser" in problem for problem in problems)
    assert "superuser" in caplog.text


def a_slot_like(slot: Slot) -> Slot:
    """Another slot of the same tenant and offering."""
    return Slot(
        id=slot.id + "_2",
        tenant_id=slot.tenant_id,
        offering_id=slot.offering_id,
        starts_at=slot.starts_at.replace(year=slot.starts_at.year + 1),
        capacity=slot.capacity,
    )


async def test_a_role_that_cannot_be_taken_stops_the_start(two_tenants: TwoTenants) -> None:
    engine = create_engine(two_tenants.url, pool_size=1, row_security_role="bookpay_nobody")
    try:
        with pytest.raises(RowSecurityMisconfigured, match="does not exist"):
            await check_the_login(engine, "bookpay_nobody")
        # The owner itself would not be bound by the policies.
        with pytest.raises(RowSecurityMisconfigured, match="owns tables"):
            await check_the_login(engine, "postgres")
    finally:
        await engine.dispose()
