"""The repository contract for bookings.

Every adapter of the persistence ports keeps these promises: each test runs on the
in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from application.errors import NotFound
from application.ports.repositories import AlreadyExists, ConcurrentUpdate, InvalidCursor
from domain.booking import Booking, BookingStatus, CancelledBy, Customer, PaymentStatus
from domain.cancellation import RefundSplit
from domain.money import Money
from tests.integration.persistence.builders import (
    NOW,
    a_booking,
    bookable,
    new_id,
    seed,
)
from tests.integration.persistence.conftest import Backend

# --- bookings -------------------------------------------------------------------------------


async def test_a_booking_round_trips_through_its_life(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend)
    booking = a_booking(slot, access_token_hash=new_id("tok"))
    await seed(backend, booking)
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, booking.id) == booking
        assert await uow.bookings.get(tenant.id, new_id("bk")) is None
        assert await uow.bookings.find_by_id(booking.id) == booking
        assert await uow.bookings.find_by_id(new_id("bk")) is None
        with pytest.raises(AlreadyExists):
            await uow.bookings.add(booking)

    session_id, payment_id = new_id("cs"), new_id("pi")
    async with backend.uow() as uow:
        stored = await uow.bookings.get(tenant.id, booking.id)
        assert stored is not None
        paid = stored.attach_session(session_id).confirm(payment_id)
        await uow.bookings.update(paid)
        await uow.commit()
    first_refund = RefundSplit(Money(1_000, "usd"), Money(50, "usd"))
    second_refund = RefundSplit(Money(500, "usd"), Money(0, "usd"))
    async with backend.uow() as uow:
        found = await uow.bookings.find_by_gateway_session(session_id)
        assert found == paid
        refunded = found.record_refund(new_id("re"), first_refund).record_refund(
            new_id("re"), second_refund
        )
        await uow.bookings.update(refunded)
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.bookings.find_by_payment_intent(payment_id)
        assert found == refunded
        cancelled = found.cancel(CancelledBy.TENANT, "storm warning")
        await uow.bookings.update(cancelled)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, booking.id) == cancelled
        assert await uow.bookings.find_by_gateway_session(new_id("cs")) is None
        assert await uow.bookings.find_by_payment_intent(new_id("pi")) is None


@pytest.mark.parametrize(
    "address", ["Carol@Example.com", "ΣΊΣΥΦΟΣ@x.gr", "İPEK@x.tr", "Élodie@Example.fr"]
)
async def test_a_customers_unpaid_bookings_are_counted_whatever_letters_the_address_uses(
    backend: Backend, address: str
) -> None:
    # The limit of unpaid bookings per customer: the same address, as typed again, counts
    # every time. The database folded the stored address and Python the asked one, and they
    # fold some letters differently (a final capital sigma, the dotted capital I; SQLite's
    # lower() only ASCII), so such an address never counted.
    tenant, _, slot = await bookable(backend)
    await seed(backend, a_booking(slot, customer=Customer(address)))
    async with backend.uow() as uow:
        assert await uow.bookings.count_pending_for_customer(tenant.id, address) == 1
        assert await uow.bookings.count_pending_for_customer(tenant.id, "x" + address) == 0


async def test_bookings_are_listed_by_their_payment_status(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend, capacity=20)
    unpaid = a_booking(slot)
    paid = a_booking(slot).confirm(new_id("pi"))
    split = RefundSplit(Money(1_000, "usd"), Money(0, "usd"))
    part_refunded = a_booking(slot).confirm(new_id("pi")).record_refund(new_id("re"), split)
    await seed(backend, unpaid, paid, part_refunded)

    async def listed(*statuses: PaymentStatus) -> set[str]:
        async with backend.uow() as uow:
            page = await uow.bookings.list(tenant.id, payment_statuses=statuses)
        return {b.id for b in page.items}

    assert await listed(PaymentStatus.UNPAID) == {unpaid.id}
    assert await listed(PaymentStatus.PARTIALLY_REFUNDED) == {part_refunded.id}
    assert await listed(PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED) == {
        paid.id,
        part_refunded.id,
    }
    async with backend.uow() as uow:
        page = await uow.bookings.list(
            tenant.id, statuses=[BookingStatus.CONFIRMED], payment_statuses=[PaymentStatus.PAID]
        )
    assert [b.id for b in page.items] == [paid.id]


async def test_a_booking_update_inside_one_unit_of_work_can_repeat(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend)
    booking = a_booking(slot)
    async with backend.uow() as uow:
        await uow.bookings.add(booking)
        attached = booking.attach_session(new_id("cs"))
        await uow.bookings.update(attached)
        await uow.bookings.update(attached.confirm(new_id("pi")))
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.bookings.get(tenant.id, booking.id)
    assert stored is not None
    assert stored.status is BookingStatus.CONFIRMED


async def test_a_booking_is_added_holding_its_seats_only_while_they_fit(
    backend: Backend,
) -> None:
    tenant, _, slot = await bookable(backend, capacity=5)
    first, too_many = a_booking(slot, seats=3), a_booking(slot, seats=3)
    async with backend.uow() as uow:
        assert await uow.bookings.add_holding_seats(first)
        assert not await uow.bookings.add_holding_seats(too_many)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, first.id) == first
        assert await uow.bookings.get(tenant.id, too_many.id) is None
        stored = await uow.slots.get(tenant.id, slot.id)
        assert stored is not None
        assert (stored.held, stored.booked) == (3, 0)
        # Its id taken: AlreadyExists, and the unit of work is left to roll back.
        with pytest.raises(AlreadyExists):
            await uow.bookings.add_holding_seats(replace(first, seats=1))
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
        assert stored is not None
        assert stored.held == 3
        # A booking added so can be updated at the version it was stored with.
        last = a_booking(slot, seats=2)
        assert await uow.bookings.add_holding_seats(last)
        added = await uow.bookings.get(tenant.id, last.id)
        assert added is not None
        await uow.bookings.update(added.expire())


async def test_an_add_refused_as_existing_holds_no_seats_even_when_the_caller_commits(
    backend: Backend,
) -> None:
    """AlreadyExists holds nothing: a caller that goes on and commits keeps no seats."""
    tenant, _, slot = await bookable(backend, capacity=5)
    first = a_booking(slot, seats=2)
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, first.id) is None  # a read first, as checkout
        assert await uow.bookings.add_holding_seats(first)
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(AlreadyExists):
            await uow.bookings.add_holding_seats(replace(first, seats=3))
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
        assert stored is not None
        assert (stored.held, stored.booked) == (2, 0)
        assert await uow.bookings.get(tenant.id, first.id) == first


async def test_a_session_is_attached_once_to_a_pending_booking(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend, capacity=20)
    booking = a_booking(slot)
    paid = a_booking(slot).confirm(new_id("pi"))
    await seed(backend, booking, paid)
    session_id = new_id("cs")
    async with backend.uow() as uow:
        assert await uow.bookings.attach_session(tenant.id, booking.id, session_id)
        # Attached now, to this session or any other: nothing more changes.
        assert not await uow.bookings.attach_session(tenant.id, booking.id, session_id)
        assert not await uow.bookings.attach_session(tenant.id, booking.id, new_id("cs"))
        assert not await uow.bookings.attach_session(tenant.id, paid.id, new_id("cs"))
        assert not await uow.bookings.attach_session(tenant.id, new_id("bk"), new_id("cs"))
        assert not await uow.bookings.attach_session(new_id("tn"), booking.id, new_id("cs"))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.bookings.get(tenant.id, booking.id) == booking.attach_session(session_id)
        assert await uow.bookings.get(tenant.id, paid.id) == paid
        assert await uow.bookings.find_by_gateway_session(session_id) == booking.attach_session(
            session_id
        )


async def test_attaching_a_session_makes_an_earlier_copy_stale(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend)
    booking = a_booking(slot)
    await seed(backend, booking)
    async with backend.uow() as uow:
        before = await uow.bookings.get(tenant.id, booking.id)
        assert before is not None
        assert await uow.bookings.attach_session(tenant.id, booking.id, new_id("cs"))
        with pytest.raises(ConcurrentUpdate):
            await uow.bookings.update(before.expire())


async def test_updating_an_unknown_booking_is_not_found(backend: Backend) -> None:
    _, _, slot = await bookable(backend)
    async with backend.uow() as uow:
        with pytest.raises(NotFound):
            await uow.bookings.update(a_booking(slot))


async def test_bookings_are_listed_newest_first_a_page_at_a_time(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend, capacity=50)
    bookings = [
        a_booking(slot, seats=1, created_at=NOW + timedelta(minutes=i % 4), id=f"bk_{i:02d}")
        for i in range(9)
    ]
    await seed(backend, *bookings)
    expected = sorted(bookings, key=lambda b: (b.created_at, b.id), reverse=True)
    seen: list[Booking] = []
    cursor = None
    async with backend.uow() as uow:
        for _ in range(5):
            page = await uow.bookings.list(tenant.id, limit=4, cursor=cursor)
            seen.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    assert seen == expected
    assert cursor is None


async def test_bookings_are_filtered_by_status_and_time(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend, capacity=50)
    early = a_booking(slot, seats=1, created_at=NOW)
    late = a_booking(slot, seats=1, created_at=NOW + timedelta(hours=2))
    confirmed = a_booking(slot, seats=1, created_at=NOW + timedelta(hours=1)).confirm("pi_x")
    await seed(backend, early, late, confirmed)
    async with backend.uow() as uow:
        pending = await uow.bookings.list(tenant.id, statuses=[BookingStatus.PENDING_PAYMENT])
        assert pending.items == (late, early)
        either = await uow.bookings.list(
            tenant.id, statuses=[BookingStatus.PENDING_PAYMENT, BookingStatus.CONFIRMED]
        )
        assert either.items == (late, confirmed, early)
        window = await uow.bookings.list(
            tenant.id,
            created_from=NOW + timedelta(hours=1),
            created_before=NOW + timedelta(hours=2),
        )
        assert window.items == (confirmed,)
        starts = await uow.bookings.list(tenant.id, starts_from=slot.starts_at)
        assert len(starts.items) == 3
        assert (await uow.bookings.list(tenant.id, starts_before=slot.starts_at)).items == ()


async def test_a_forged_cursor_is_refused(backend: Backend) -> None:
    tenant, _, _ = await bookable(backend)
    async with backend.uow() as uow:
        with pytest.raises(InvalidCursor):
            await uow.bookings.list(tenant.id, cursor="not-a-cursor")
