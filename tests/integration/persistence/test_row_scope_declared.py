"""Issue 14 leftover: each job declares the row scope it runs in, and a job that forgot
reads no rows (PostgreSQL, row-level security).

Until now every transaction of the application's engine that was not narrowed to a tenant
ran platform-wide, so a job, a command or a request path that forgot to say whom it acts
for saw every tenant. Now only `acting_for_platform()` (or a tenant's scope) opens the
rows: the server's jobs, the CLI commands and every HTTP request say which they need.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql.database import create_engine
from adapters.sql.row_scope import acting_for_platform, acting_for_tenant
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from application.expire_lapsed_holds import ExpireLapsedHolds
from application.payment_events import ApplyPaymentEvent
from domain.booking import Booking, BookingStatus
from tests.fakes.clock import ManualClock
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    a_slot,
    a_tenant,
    an_offering,
)
from tests.integration.persistence.test_concurrency import _SessionsExpire

pytestmark = pytest.mark.postgres


@dataclass
class Lapsed:
    owner: AsyncEngine
    app: AsyncEngine
    bookings: list[Booking]


@pytest.fixture
async def lapsed(migrated_postgres_url: str) -> AsyncIterator[Lapsed]:
    """Two tenants, each with one unpaid hold that lapsed a minute ago."""
    owner = create_engine(migrated_postgres_url)
    app = create_engine(migrated_postgres_url, pool_size=1, row_security_role="bookpay_app")
    bookings = []
    async with SqlAlchemyUnitOfWork(owner) as uow:
        for n in range(2):
            tenant = a_tenant()
            offering = an_offering(tenant.id)
            slot = a_slot(offering, held=2)
            booking = a_booking(slot, hold_expires_at=NOW - timedelta(minutes=1))
            booking = booking.attach_session(f"cs_lapsed_{n}")
            await uow.tenants.add(tenant)
            await uow.offerings.add(offering)
            await uow.slots.add(slot)
            await uow.bookings.add(booking)
            bookings.append(booking)
        await uow.commit()
    try:
        yield Lapsed(owner, app, bookings)
    finally:
        await app.dispose()
        await owner.dispose()


def _sweeper(engine: AsyncEngine, gateway: _SessionsExpire) -> ExpireLapsedHolds:
    def unit_of_work() -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(engine)

    clock = ManualClock(NOW)
    apply_event = ApplyPaymentEvent(unit_of_work, gateway, clock)  # type: ignore[arg-type]
    return ExpireLapsedHolds(unit_of_work, gateway, apply_event, clock)  # type: ignore[arg-type]


async def _statuses(lapsed: Lapsed) -> list[BookingStatus]:
    async with SqlAlchemyUnitOfWork(lapsed.owner) as uow:
        found = [await uow.bookings.get(b.tenant_id, b.id) for b in lapsed.bookings]
    return [b.status for b in found if b is not None]


async def test_a_job_that_forgot_to_declare_its_scope_reads_no_rows(lapsed: Lapsed) -> None:
    gateway = _SessionsExpire()

    report = await _sweeper(lapsed.app, gateway)()

    assert (report.expired, report.skipped, gateway.asked) == ([], [], [])
    assert await _statuses(lapsed) == [BookingStatus.PENDING_PAYMENT] * 2


async def test_the_same_job_declaring_the_platform_sweeps_every_tenant(lapsed: Lapsed) -> None:
    gateway = _SessionsExpire()

    with acting_for_platform():
        report = await _sweeper(lapsed.app, gateway)()

    assert sorted(report.expired) == sorted(b.id for b in lapsed.bookings)
    assert await _statuses(lapsed) == [BookingStatus.EXPIRED] * 2


async def test_a_connection_that_declares_nothing_sees_and_writes_nothing(
    lapsed: Lapsed,
) -> None:
    ours = lapsed.bookings[0]
    async with SqlAlchemyUnitOfWork(lapsed.app) as uow:
        connection = uow._active().connection
        bookings = (await connection.execute(text("SELECT count(*) FROM bookings"))).scalar()
        tenants = (await connection.execute(text("SELECT count(*) FROM tenants"))).scalar()
        written = await connection.execute(text("UPDATE slots SET capacity = capacity"))
        assert (bookings, tenants, written.rowcount) == (0, 0, 0)
    with acting_for_platform():
        async with SqlAlchemyUnitOfWork(lapsed.app) as uow:
            connection = uow._active().connection
            every = (await connection.execute(text("SELECT count(*) FROM bookings"))).scalar()
            with acting_for_tenant(ours.tenant_id):
                # A new transaction takes the narrower scope declared around it.
                await uow.commit()
                one = (await connection.execute(text("SELECT count(*) FROM bookings"))).scalar()
    assert (every, one) == (2, 1)
