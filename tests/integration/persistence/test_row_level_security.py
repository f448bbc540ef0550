"""Issue 14, What to build 9: PostgreSQL's row-level security is a second wall between
tenants. Connected as the application's role (not the tables' owner), a unit of work that
acts for a tenant sees and writes that tenant's rows only, even through a query that
forgets its tenant filter; without a tenant it is platform-wide, as the cross-tenant jobs
need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from adapters.sql.database import create_engine
from adapters.sql.migrations import upgrade_async
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
    ours: Booking
    theirs: Booking
    their_slot: Slot


@pytest.fixture
async def two_tenants(fresh_postgres_url: str) -> AsyncIterator[TwoTenants]:
    await upgrade_async(fresh_postgres_url, "head")
    owner = create_engine(fresh_postgres_url)
    # The application's role: what a deployment's login role is, or is granted.
    app = create_async_engine(
        fresh_postgres_url, connect_args={"server_settings": {"role": APP_ROLE}}, pool_size=1
    )
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
        yield TwoTenants(owner, app, bookings[0], bookings[1], slots[1])
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


async def test_a_single_write_unit_refuses_to_act_for_a_tenant(two_tenants: TwoTenants) -> None:
    async with SqlAlchemyUnitOfWork(two_tenants.app).single_write() as uow:
        with pytest.raises(RuntimeError, match="single_write"):
            await uow.act_for_tenant(two_tenants.ours.tenant_id)


def a_slot_like(slot: Slot) -> Slot:
    """Another slot of the same tenant and offering."""
    return Slot(
        id=slot.id + "_2",
        tenant_id=slot.tenant_id,
        offering_id=slot.offering_id,
        starts_at=slot.starts_at.replace(year=slot.starts_at.year + 1),
        capacity=slot.capacity,
    )
