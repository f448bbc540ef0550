"""The repository contract for slots and their seats.

Every adapter of the persistence ports keeps these promises: each test runs on the
in-memory fakes, on SQLite and on PostgreSQL (see `backend`).
"""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from application.ports.repositories import AlreadyExists
from domain.errors import InvalidSeatCount
from domain.fees import FeePolicy
from tests.integration.persistence.builders import (
    NOW,
    a_fee_policy,
    a_slot,
    a_tenant,
    an_offering,
    bookable,
    new_id,
    seed,
)
from tests.integration.persistence.conftest import Backend

# --- slots and seats ------------------------------------------------------------------------


async def test_a_slot_round_trips_and_is_listed_by_start_time(backend: Backend) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id)
    later = a_slot(offering, starts_at=NOW + timedelta(days=2), capacity=4)
    earlier = a_slot(offering, starts_at=NOW + timedelta(days=1), held=1, booked=2)
    outside = a_slot(offering, starts_at=NOW + timedelta(days=3))
    other_offering = an_offering(tenant.id)
    elsewhere = a_slot(other_offering, starts_at=NOW + timedelta(days=1))
    await seed(backend, tenant, offering, other_offering, later, earlier, outside, elsewhere)
    async with backend.uow() as uow:
        assert await uow.slots.get(tenant.id, earlier.id) == earlier
        listed = await uow.slots.list_for_offering(
            tenant.id,
            offering.id,
            starts_from=NOW + timedelta(days=1),
            starts_before=NOW + timedelta(days=3),
        )
        assert listed == [earlier, later]
        assert [s.seats_available for s in listed] == [7, 4]
        assert len(await uow.slots.list_for_offering(tenant.id, offering.id)) == 3
        with pytest.raises(AlreadyExists):
            await uow.slots.add(earlier)


async def test_an_offering_has_one_slot_per_start_time(backend: Backend) -> None:
    tenant = a_tenant()
    offering, other = an_offering(tenant.id), an_offering(tenant.id)
    first = a_slot(offering, starts_at=NOW + timedelta(days=1))
    await seed(backend, tenant, offering, other, first)
    async with backend.uow() as uow:
        assert await uow.slots.offering_has_slots(tenant.id, offering.id)
        assert not await uow.slots.offering_has_slots(tenant.id, other.id)
        starts = [NOW + timedelta(days=1), NOW + timedelta(days=2)]
        assert await uow.slots.taken_starts(tenant.id, offering.id, starts) == {starts[0]}
        assert await uow.slots.taken_starts(tenant.id, other.id, starts) == set()
        # Another offering may start then; the same offering may not, whatever the id.
        await uow.slots.add(a_slot(other, starts_at=first.starts_at))
        with pytest.raises(AlreadyExists):
            await uow.slots.add(a_slot(offering, starts_at=first.starts_at))


async def test_slot_times_come_back_as_aware_utc(backend: Backend) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id)
    paris = timezone(timedelta(hours=1))
    slot = a_slot(offering, starts_at=NOW.astimezone(paris))
    await seed(backend, tenant, offering, slot)
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
    assert stored is not None
    assert stored.starts_at == NOW
    assert stored.starts_at.utcoffset() == timedelta(0)
    assert stored.starts_at.tzinfo is not None


async def test_a_slot_for_sale_comes_with_its_tenant_offering_and_active_policy(
    backend: Backend,
) -> None:
    tenant, offering, slot = await bookable(backend)
    other_tenant, other_offering, other_slot = await bookable(backend)
    async with backend.uow() as uow:
        found = await uow.slots.get_for_sale(tenant.slug, slot.id)
        assert found is not None
        assert (found.tenant, found.slot, found.offering) == (tenant, slot, offering)
        assert found.active_fee_policy is None
        await uow.tenants.add_fee_policy(tenant.id, FeePolicy(percent_bps=300))
        await uow.tenants.add_fee_policy(tenant.id, a_fee_policy(version=2))
        await uow.tenants.add_fee_policy(other_tenant.id, a_fee_policy(version=7))
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.slots.try_hold(tenant.id, slot.id, 2)
        found = await uow.slots.get_for_sale(tenant.slug, slot.id)
        assert found is not None
        assert found.tenant == tenant
        assert found.slot == await uow.slots.get(tenant.id, slot.id)
        assert found.slot is not None
        assert found.slot.held == 2
        assert found.offering == offering
        assert found.active_fee_policy == a_fee_policy(version=2)
        other = await uow.slots.get_for_sale(other_tenant.slug, other_slot.id)
        assert other is not None
        assert (other.tenant, other.offering) == (other_tenant, other_offering)
        assert other.active_fee_policy == a_fee_policy(7)
        # Another tenant's slot, or none at all: the tenant alone.
        for missing in (slot.id, new_id("sl")):
            alone = await uow.slots.get_for_sale(other_tenant.slug, missing)
            assert alone is not None
            assert (alone.tenant, alone.slot, alone.offering) == (other_tenant, None, None)
            assert alone.active_fee_policy == a_fee_policy(7)
        assert await uow.slots.get_for_sale("no-such-tenant", slot.id) is None


async def test_seats_are_held_only_while_they_fit(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend, capacity=5)
    async with backend.uow() as uow:
        assert await uow.slots.try_hold(tenant.id, slot.id, 3)
        assert await uow.slots.try_hold(tenant.id, slot.id, 2)
        assert not await uow.slots.try_hold(tenant.id, slot.id, 1)
        assert not await uow.slots.try_book(tenant.id, slot.id, 1)
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.slots.get(tenant.id, slot.id)
    assert stored is not None
    assert (stored.held, stored.booked, stored.seats_available) == (5, 0, 0)


async def test_seats_move_between_held_booked_and_free(backend: Backend) -> None:
    tenant, _, slot = await bookable(backend, capacity=6)
    t, s = tenant.id, slot.id
    async with backend.uow() as uow:
        assert await uow.slots.try_hold(t, s, 4)
        assert not await uow.slots.release_hold(t, s, 5)
        assert await uow.slots.release_hold(t, s, 1)  # held 3
        assert not await uow.slots.confirm_hold(t, s, 4)
        assert await uow.slots.confirm_hold(t, s, 2)  # held 1, booked 2
        assert await uow.slots.try_book(t, s, 3)  # held 1, booked 5
        assert not await uow.slots.try_book(t, s, 1)
        assert not await uow.slots.release_booked(t, s, 6)
        assert await uow.slots.release_booked(t, s, 1)  # held 1, booked 4
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.slots.get(t, s)
    assert stored is not None
    assert (stored.held, stored.booked) == (1, 4)


async def test_seat_changes_on_an_unknown_slot_change_nothing(backend: Backend) -> None:
    tenant, _, _ = await bookable(backend)
    unknown = new_id("sl")
    async with backend.uow() as uow:
        assert not await uow.slots.try_hold(tenant.id, unknown, 1)
        assert not await uow.slots.try_book(tenant.id, unknown, 1)
        assert not await uow.slots.release_hold(tenant.id, unknown, 1)
        assert not await uow.slots.confirm_hold(tenant.id, unknown, 1)
        assert not await uow.slots.release_booked(tenant.id, unknown, 1)
        assert await uow.slots.get(tenant.id, unknown) is None


@pytest.mark.parametrize("seats", [0, -1, True])
async def test_seat_counts_must_be_positive_whole_numbers(backend: Backend, seats: int) -> None:
    tenant, _, slot = await bookable(backend)
    async with backend.uow() as uow:
        with pytest.raises(InvalidSeatCount):
            await uow.slots.try_hold(tenant.id, slot.id, seats)
