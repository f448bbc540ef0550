"""Races: many truly concurrent transactions, each on a connection of its own.

Attempts to take the last 3 seats of a slot → exactly 3 succeed; claims of one idempotency
key → exactly one winner; inserts of one webhook event id → recorded once; hold sweepers
running at once share the lapsed holds instead of each taking all of them. The seat race
is also run from several OS processes at once, as several server workers would.

Each engine races with the pool production gives it: on PostgreSQL one engine holds a
connection per racer (50 racers), as a busy server process does; a SQLite process keeps
one connection, so there the racers are engines of their own, as server processes are,
and fewer of them (still twice as many as the seats), since SQLite lets one writer in at
a time and the others wait in its busy handler.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import orm
from adapters.sql.database import create_engine, is_sqlite
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from application.expire_lapsed_holds import ExpireLapsedHolds
from application.payment_events import ApplyPaymentEvent
from application.ports.gateway import CheckoutSession, PaymentStatus, SessionStatus
from application.ports.repositories import ConcurrentUpdate
from application.ports.unit_of_work import ClaimOutcome, StoredResponse
from domain.offering import Slot
from tests.fakes.clock import ManualClock
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    a_slot,
    a_tenant,
    an_offering,
    new_id,
)

RACERS = 50
SQLITE_RACERS = 6
PROCESSES = 5
ROOT = Path(__file__).resolve().parents[3]

T = TypeVar("T")

ENGINES = [
    pytest.param("sqlite_url", id="sqlite"),
    pytest.param("postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    return url


@pytest.fixture
async def engines(database_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """One engine per racer, as production pools them: the same engine RACERS times on
    PostgreSQL, SQLITE_RACERS engines of one connection each on SQLite."""
    if is_sqlite(database_url):
        distinct = [create_engine(database_url) for _ in range(SQLITE_RACERS)]
        racers = distinct
    else:
        distinct = [create_engine(database_url, pool_size=RACERS)]
        racers = distinct * RACERS
    try:
        yield racers
    finally:
        for engine in distinct:
            await engine.dispose()


@pytest.fixture
def engine(engines: list[AsyncEngine]) -> AsyncEngine:
    return engines[0]


async def race(
    engines: list[AsyncEngine], attempt: Callable[[SqlAlchemyUnitOfWork], Awaitable[T]]
) -> list[T]:
    """Run `attempt` once per racer at once, each in its own unit of work, then commit each."""
    start = asyncio.Barrier(len(engines))

    async def one(engine: AsyncEngine) -> T:
        async with SqlAlchemyUnitOfWork(engine) as uow:
            await start.wait()
            result = await attempt(uow)
            await uow.commit()
            return result

    return await asyncio.gather(*(one(engine) for engine in engines))


async def _slot_with_seats_left(engine: AsyncEngine, left: int) -> Slot:
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=10)
    slot = a_slot(offering, booked=10 - left - 2, held=2)
    async with SqlAlchemyUnitOfWork(engine) as uow:
        await uow.tenants.add(tenant)
        await uow.offerings.add(offering)
        await uow.slots.add(slot)
        await uow.commit()
    return slot


async def _stored_slot(engine: AsyncEngine, slot: Slot) -> Slot:
    async with SqlAlchemyUnitOfWork(engine) as uow:
        stored = await uow.slots.get(slot.tenant_id, slot.id)
    assert stored is not None
    return stored


@pytest.mark.slow
async def test_racers_for_the_last_three_seats_leave_three_winners(
    engine: AsyncEngine, engines: list[AsyncEngine]
) -> None:
    slot = await _slot_with_seats_left(engine, 3)

    async def hold_one(uow: SqlAlchemyUnitOfWork) -> bool:
        return await uow.slots.try_hold(slot.tenant_id, slot.id, 1)

    results = await race(engines, hold_one)

    assert results.count(True) == 3
    stored = await _stored_slot(engine, slot)
    assert (stored.held, stored.booked, stored.seats_available) == (5, 5, 0)


@pytest.mark.slow
async def test_late_bookings_racing_holds_never_overbook(
    engine: AsyncEngine, engines: list[AsyncEngine]
) -> None:
    slot = await _slot_with_seats_left(engine, 3)
    flip = iter(range(len(engines)))

    async def hold_or_book(uow: SqlAlchemyUnitOfWork) -> bool:
        if next(flip) % 2:
            return await uow.slots.try_book(slot.tenant_id, slot.id, 1)
        return await uow.slots.try_hold(slot.tenant_id, slot.id, 1)

    results = await race(engines, hold_or_book)

    assert results.count(True) == 3
    assert (await _stored_slot(engine, slot)).seats_available == 0


@pytest.mark.slow
async def test_racing_claims_of_one_idempotency_key_have_one_winner(
    engines: list[AsyncEngine],
) -> None:
    scope, key = new_id("tn"), new_id("key")

    async def claim(uow: SqlAlchemyUnitOfWork) -> ClaimOutcome:
        claimed = await uow.idempotency.claim(scope, key, "same-request")
        if claimed.outcome is ClaimOutcome.CLAIMED:
            await uow.idempotency.store_response(scope, key, StoredResponse(201, b"done"))
        return claimed.outcome

    outcomes = await race(engines, claim)

    assert outcomes.count(ClaimOutcome.CLAIMED) == 1
    assert set(outcomes) <= {ClaimOutcome.CLAIMED, ClaimOutcome.REPLAY, ClaimOutcome.IN_PROGRESS}


@pytest.mark.slow
async def test_racing_deliveries_of_one_webhook_event_record_it_once(
    engine: AsyncEngine, engines: list[AsyncEngine]
) -> None:
    event_id = new_id("evt")

    async def record(uow: SqlAlchemyUnitOfWork) -> bool:
        return await uow.webhook_inbox.record(event_id)

    results = await race(engines, record)

    assert results.count(True) == 1
    async with engine.connect() as connection:
        inbox = orm.webhook_inbox
        rows = await connection.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == event_id)
        )
    assert rows == 1


class _SessionsExpire:
    """A gateway whose every open session expires when asked; it counts the asks."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def expire_checkout_session(
        self, session_id: str, *, account_id: str | None = None
    ) -> CheckoutSession:
        self.asked.append(session_id)
        await asyncio.sleep(0.01)  # a network call: the other sweeper runs meanwhile
        return CheckoutSession(
            session_id, None, SessionStatus.EXPIRED, PaymentStatus.UNPAID, None, None, None
        )


# A sweeper sweeps every tenant's lapsed holds: on the worker's shared PostgreSQL database
# it also met those other tests left there. A database of its own.
@pytest.mark.slow
@pytest.mark.parametrize(
    "database_url",
    [
        pytest.param("sqlite_url", id="sqlite"),
        pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
    ],
    indirect=True,
)
async def test_sweepers_running_at_once_share_the_lapsed_holds(
    engine: AsyncEngine, engines: list[AsyncEngine]
) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=10)
    slot = a_slot(offering, held=10)
    lapsed = [
        a_booking(slot, seats=1, hold_expires_at=NOW - timedelta(minutes=m + 1)).attach_session(
            f"cs_{m}"
        )
        for m in range(10)
    ]
    async with SqlAlchemyUnitOfWork(engine) as uow:
        await uow.tenants.add(tenant)
        await uow.offerings.add(offering)
        await uow.slots.add(slot)
        for booking in lapsed:
            await uow.bookings.add(booking)
        await uow.commit()
    gateway, clock = _SessionsExpire(), ManualClock(NOW)

    def sweeper(engine: AsyncEngine) -> ExpireLapsedHolds:
        """The sweeper of one server process, on that process's engine."""

        def unit_of_work() -> SqlAlchemyUnitOfWork:
            return SqlAlchemyUnitOfWork(engine)

        apply_event = ApplyPaymentEvent(unit_of_work, gateway, clock)  # type: ignore[arg-type]
        return ExpireLapsedHolds(unit_of_work, gateway, apply_event, clock, batch=5)  # type: ignore[arg-type]

    sweepers = [sweeper(engines[0]), sweeper(engines[1])]

    first, second = await asyncio.gather(*(sweep() for sweep in sweepers))

    assert len(first.expired) == len(second.expired) == 5
    assert set(first.expired) | set(second.expired) == {b.id for b in lapsed}
    assert sorted(gateway.asked) == sorted(f"cs_{m}" for m in range(10))  # each asked once
    assert (await _stored_slot(engine, slot)).held == 0


@pytest.mark.postgres
async def test_a_booking_changed_meanwhile_is_a_concurrent_update(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        tenant = a_tenant()
        offering = an_offering(tenant.id)
        slot = a_slot(offering, held=2)
        booking = a_booking(slot, seats=2)
        async with SqlAlchemyUnitOfWork(engine) as uow:
            await uow.tenants.add(tenant)
            await uow.offerings.add(offering)
            await uow.slots.add(slot)
            await uow.bookings.add(booking)
            await uow.commit()

        # Two sweepers expire the same lapsed booking at once: only one may give seats back.
        async with SqlAlchemyUnitOfWork(engine) as first, SqlAlchemyUnitOfWork(engine) as second:
            seen_by_first = await first.bookings.get(tenant.id, booking.id)
            seen_by_second = await second.bookings.get(tenant.id, booking.id)
            assert seen_by_first is not None
            assert seen_by_second is not None
            assert await first.slots.release_hold(tenant.id, slot.id, 2)
            await first.bookings.update(seen_by_first.expire())
            await first.commit()
            assert not await second.slots.release_hold(tenant.id, slot.id, 2)
            with pytest.raises(ConcurrentUpdate):
                await second.bookings.update(seen_by_second.expire())

        async with SqlAlchemyUnitOfWork(engine) as uow:
            stored_slot = await uow.slots.get(tenant.id, slot.id)
            stored = await uow.bookings.get(tenant.id, booking.id)
        assert stored_slot is not None
        assert stored_slot.held == 0
        assert stored is not None
        assert stored.status.value == "expired"
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_processes_racing_for_the_last_three_seats_leave_three_winners(
    database_url: str,
) -> None:
    """Several server processes share one database: the database alone keeps the count.

    Each process races with its production pool: one connection on SQLite, several on
    PostgreSQL."""
    engine = create_engine(database_url)
    try:
        slot = await _slot_with_seats_left(engine, 3)
        grabbers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.persistence.seat_grabber",
                database_url,
                slot.tenant_id,
                slot.id,
                str(1 if is_sqlite(database_url) else RACERS // PROCESSES),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(PROCESSES)
        ]
        for grabber in grabbers:
            assert grabber.stdout is not None
            line = await asyncio.wait_for(grabber.stdout.readline(), timeout=60)
            assert line.strip() == b"ready", line
        for grabber in grabbers:  # every process has its connections open: go
            assert grabber.stdin is not None
            grabber.stdin.write(b"go\n")
            await grabber.stdin.drain()
        outputs = [await asyncio.wait_for(g.communicate(), timeout=60) for g in grabbers]

        assert [g.returncode for g in grabbers] == [0] * PROCESSES
        assert sum(int(stdout) for stdout, _ in outputs) == 3
        stored = await _stored_slot(engine, slot)
        assert (stored.held, stored.booked) == (5, 5)
    finally:
        await engine.dispose()
