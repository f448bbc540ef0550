"""The benchmark's correctness checks that read a database (bench/checks.py)
see the defects they exist for, on SQLite and PostgreSQL: seats sold beyond a slot's
capacity while its counters say otherwise, and a confirmation told to the tenant twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import orm
from adapters.sql.database import create_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWorkFactory
from bench.checks import Checks, audit_seats, check_webhooks_applied, seats_taken
from bench.seed import BenchTenant
from domain.booking import BookingStatus
from domain.events import Event, EventType
from domain.fees import FeePolicy
from domain.ledger import EntryKind, LedgerEntry
from domain.money import Money
from domain.offering import Slot
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    a_slot,
    a_tenant,
    an_offering,
    seed,
)
from tests.integration.persistence.conftest import Backend


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    # A database of the test's own: the seat audit reads every slot in it.
    fixture = "sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _store(
    engine: AsyncEngine,
    *objects: object,
    inbox: tuple[str, ...] = (),
    events: tuple[Event, ...] = (),
) -> None:
    """The domain objects (as the repository tests seed them), then webhook event ids in
    the inbox and events out in the outbox."""
    unit_of_work = SqlAlchemyUnitOfWorkFactory(engine)
    await seed(Backend("sql", unit_of_work), *objects)
    async with unit_of_work() as uow:
        for event_id in inbox:
            await uow.webhook_inbox.record(event_id)
        uow.outbox.add(*events)
        await uow.commit()


async def _count(engine: AsyncEngine, slot: Slot, *, held: int, booked: int) -> None:
    """Set the slot's counters to what a seat-taking statement would have left."""
    s = orm.slots.c
    async with engine.begin() as connection:
        await connection.execute(
            update(orm.slots)
            .where(s.tenant_id == slot.tenant_id, s.id == slot.id)
            .values(held=held, booked=booked)
        )


async def test_the_seat_audit_counts_bookings_not_the_counters(engine: AsyncEngine) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=3)
    other = an_offering(tenant.id, capacity=10)
    sound, drifted = a_slot(offering), a_slot(other)
    overbooked = a_slot(offering, starts_at=NOW + timedelta(days=8))
    await _store(
        engine,
        tenant,
        offering,
        other,
        sound,
        overbooked,
        drifted,
        a_booking(sound, 2),
        a_booking(sound, 5, status=BookingStatus.EXPIRED),  # released: takes no seat
        # Two holds of 2 seats and a confirmed seat on 3 seats, the counters saying 1 seat
        # (as when the hold statement stopped adding held seats): sold beyond capacity.
        a_booking(overbooked, 2),
        a_booking(overbooked, 2, status=BookingStatus.AWAITING_ASYNC_PAYMENT),
        a_booking(overbooked, 1, status=BookingStatus.CONFIRMED, payment_intent_id="pi_1"),
        a_booking(overbooked, 3, status=BookingStatus.CANCELLED),
        # Within capacity, but the booked counter says 3 where the bookings own 2.
        a_booking(drifted, 2, status=BookingStatus.CONFIRMED, payment_intent_id="pi_2"),
    )
    await _count(engine, sound, held=2, booked=0)
    await _count(engine, overbooked, held=0, booked=1)
    await _count(engine, drifted, held=0, booked=3)

    audit = await audit_seats(engine)

    assert (audit.slots, audit.over_capacity, audit.miscounted) == (3, 1, 2)
    assert set(audit.examples) == {overbooked.id, drifted.id}
    checks = Checks()
    assert not checks.seats_match_bookings(audit, "postgres, workers 1")
    assert checks.failures[0].startswith(
        "postgres, workers 1: seats counted match bookings, none over capacity (3 slots: "
        "1 over capacity by their bookings, 2 with counters unlike their bookings"
    )
    assert await seats_taken(engine, tenant.id, offering.id) == (2 + 5, 6)

    await _count(engine, drifted, held=0, booked=2)
    audit = await audit_seats(engine)
    assert (audit.over_capacity, audit.miscounted, audit.examples) == (1, 1, (overbooked.id,))


def _bench_tenant(slot: Slot) -> BenchTenant:
    policy = FeePolicy(percent_bps=500, fixed=Money(30, "usd"))
    return BenchTenant(
        slot.tenant_id, "studio", slot.offering_id, [slot.id], Money(2_500, "usd"), policy
    )


async def test_a_confirmation_told_twice_is_not_exactly_once(engine: AsyncEngine) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=10)
    slot = a_slot(offering)
    bookings = [
        a_booking(
            slot,
            1,
            id=f"bk_whbench_{n:07d}",
            status=BookingStatus.CONFIRMED,
            payment_intent_id=f"pi_{n}",
        )
        for n in range(2)
    ]
    charges = [
        LedgerEntry(
            tenant.id, booking.id, EntryKind.CHARGE, booking.quote.customer_total, booking.id, NOW
        )
        for booking in bookings
    ]
    inbox = tuple(f"evt_{booking.id}" for booking in bookings)
    told = tuple(Event(EventType.BOOKING_CONFIRMED, tenant.id, booking) for booking in bookings)
    await _store(engine, tenant, offering, slot, *bookings, *charges, inbox=inbox, events=told)
    await _count(engine, slot, held=0, booked=2)
    sent = [booking.id for booking in bookings]

    once = await check_webhooks_applied(engine, _bench_tenant(slot), sent, 2)
    assert (once.confirmation_events, once.bookings_with_a_confirmation_event) == (2, 2)
    assert once.exactly_once

    # A duplicate applied again in all but the events out: the tenant hears it twice.
    await _store(engine, events=told[:1])
    twice = await check_webhooks_applied(engine, _bench_tenant(slot), sent, 2)
    assert (twice.confirmation_events, twice.bookings_with_a_confirmation_event) == (3, 2)
    assert not twice.exactly_once


@pytest.mark.postgres
async def test_the_statements_plan_is_the_apps_under_row_level_security(
    migrated_postgres_url: str,
) -> None:
    # The bench logs in as the superuser, whom the tenant policies do not bind; the plan
    # shown must be the server's, as the application's role in the tenant's scope.
    from bench.growth import explain_statement

    engine = create_engine(migrated_postgres_url)
    try:
        plan = await explain_statement(engine, "tn_plan", NOW - timedelta(days=30), NOW)
    finally:
        await engine.dispose()
    assert "ledger_entries" in plan
    assert "current_setting('bookpay.tenant_id'::text, true)" in plan
